"""Probability calibration: map a detector's raw logit to a probability that means what it says.

Calibrators are fitted on a held-out split (never the training split) and registered by
name: ``temperature`` (one scale and one bias on the logit, Platt-style) and ``isotonic``
(monotone step function). ``none`` is the plain sigmoid.

A validation split that the detector separates perfectly carries no information about how
sure it may be: an unregularised fit sends the temperature to zero and every probability to
exactly 0 or 1. Both fitted calibrators therefore use Platt's (1999) smoothed targets,
(n+ + 1) / (n+ + 2) for a positive and 1 / (n- + 2) for a negative, which keep the fit
finite, and keep their output inside [1 / (n + 2), 1 - 1 / (n + 2)] (n: the validation images
of the smaller class): n examples cannot support more confidence than that. The temperature
calibrator squeezes the sigmoid into that range (p = f + (1 - 2f) sigmoid) rather than
clipping it, so scores beyond the bound still rank and no two different logits share one
probability.

A validation split of the families the detector was trained on says how sure it may be on
those families only; ``DetectTrainConfig.calibrate_on`` names fake families kept out of
training and used for calibration alone, so the probabilities also account for a generator
the detector never saw (see docs/detect.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.core.registry import Registry

CALIBRATORS: Registry[type["Calibrator"]] = Registry("calibrator")


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


def platt_targets(y: np.ndarray) -> np.ndarray:
    """Platt's smoothed labels: (n+ + 1) / (n+ + 2) for positives, 1 / (n- + 2) for negatives."""
    y = np.asarray(y, dtype=np.float64)
    n_pos, n_neg = float(y.sum()), float(len(y) - y.sum())
    return np.where(y > 0.5, (n_pos + 1) / (n_pos + 2), 1.0 / (n_neg + 2))


def evidence_floor(y: np.ndarray) -> float:
    """1 / (n + 2), n the smaller class's count: the least P(wrong class) the split can support."""
    y = np.asarray(y)
    return 1.0 / (min(int((y == 1).sum()), int((y == 0).sum())) + 2)


class Calibrator:
    """Maps logits to P(synthetic). ``state`` is a JSON-serialisable dict."""

    name = "none"

    def fit(self, logits: np.ndarray, y: np.ndarray) -> "Calibrator":
        return self

    def __call__(self, logits: np.ndarray) -> np.ndarray:
        return sigmoid(np.asarray(logits, dtype=np.float64))

    def state(self) -> dict[str, Any]:
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        pass

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.name, **self.state()}


CALIBRATORS.register("none")(Calibrator)


@CALIBRATORS.register("temperature")
class TemperatureCalibrator(Calibrator):
    """p = floor + (1 - 2 floor) sigmoid(logit / T + b); T and b by minimum log loss against
    Platt's smoothed targets on the held-out split."""

    name = "temperature"

    def __init__(self) -> None:
        self.temperature, self.bias, self.floor = 1.0, 0.0, 0.0

    def fit(self, logits: np.ndarray, y: np.ndarray) -> "TemperatureCalibrator":
        from scipy.optimize import minimize

        z, t = np.asarray(logits, dtype=np.float64), platt_targets(y)
        scale = float(np.std(z)) or 1.0  # optimise on standardised logits: same problem, better conditioned

        def loss(params: np.ndarray) -> float:
            p = np.clip(sigmoid(z / scale * params[0] + params[1]), 1e-12, 1 - 1e-12)
            return float(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)))

        res = minimize(loss, np.array([1.0, 0.0]), method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9})
        inv_t = max(float(res.x[0]), 1e-6) / scale  # keep the mapping increasing
        self.temperature, self.bias, self.floor = 1.0 / inv_t, float(res.x[1]), evidence_floor(y)
        return self

    def __call__(self, logits: np.ndarray) -> np.ndarray:
        p = sigmoid(np.asarray(logits, dtype=np.float64) / self.temperature + self.bias)
        return self.floor + (1.0 - 2.0 * self.floor) * p

    def state(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "bias": self.bias, "floor": self.floor}

    def set_state(self, state: dict[str, Any]) -> None:
        self.temperature, self.bias = float(state["temperature"]), float(state["bias"])
        self.floor = float(state.get("floor", 0.0))


@CALIBRATORS.register("isotonic")
class IsotonicCalibrator(Calibrator):
    """Monotone step function fitted by isotonic regression, applied by linear interpolation."""

    name = "isotonic"

    def __init__(self) -> None:
        self.x: list[float] = []
        self.y: list[float] = []

    def fit(self, logits: np.ndarray, y: np.ndarray) -> "IsotonicCalibrator":
        from sklearn.isotonic import IsotonicRegression

        floor = evidence_floor(y)
        iso = IsotonicRegression(y_min=floor, y_max=1.0 - floor, out_of_bounds="clip")
        iso.fit(np.asarray(logits, float), platt_targets(y))
        self.x, self.y = iso.X_thresholds_.tolist(), iso.y_thresholds_.tolist()
        return self

    def __call__(self, logits: np.ndarray) -> np.ndarray:
        if not self.x:
            return super().__call__(logits)
        return np.interp(np.asarray(logits, dtype=np.float64), self.x, self.y)

    def state(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y}

    def set_state(self, state: dict[str, Any]) -> None:
        self.x, self.y = list(state["x"]), list(state["y"])


def make_calibrator(state: dict[str, Any] | None) -> Calibrator:
    """Rebuild a calibrator from :meth:`Calibrator.to_dict` output (``None``: plain sigmoid)."""
    state = dict(state or {"method": "none"})
    cal = CALIBRATORS.create(state.pop("method"))
    if state:
        cal.set_state(state)
    return cal
