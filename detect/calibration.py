"""Probability calibration: map a detector's raw logit to a probability that means what it says.

Calibrators are fitted on a held-out split (never the training split) and registered by
name: ``temperature`` (one scale and one bias on the logit, Platt-style) and ``isotonic``
(monotone step function). ``none`` is the plain sigmoid.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.core.registry import Registry

CALIBRATORS: Registry[type["Calibrator"]] = Registry("calibrator")


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


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
    """p = sigmoid(logit / T + b), T and b by minimum log loss on the held-out split."""

    name = "temperature"

    def __init__(self) -> None:
        self.temperature, self.bias = 1.0, 0.0

    def fit(self, logits: np.ndarray, y: np.ndarray) -> "TemperatureCalibrator":
        from scipy.optimize import minimize

        z, t = np.asarray(logits, dtype=np.float64), np.asarray(y, dtype=np.float64)

        def loss(params: np.ndarray) -> float:
            p = np.clip(sigmoid(z * params[0] + params[1]), 1e-12, 1 - 1e-12)
            return float(-np.mean(t * np.log(p) + (1 - t) * np.log(1 - p)))

        res = minimize(loss, np.array([1.0, 0.0]), method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-9})
        inv_t = max(float(res.x[0]), 1e-6)  # keep the mapping increasing
        self.temperature, self.bias = 1.0 / inv_t, float(res.x[1])
        return self

    def __call__(self, logits: np.ndarray) -> np.ndarray:
        return sigmoid(np.asarray(logits, dtype=np.float64) / self.temperature + self.bias)

    def state(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "bias": self.bias}

    def set_state(self, state: dict[str, Any]) -> None:
        self.temperature, self.bias = float(state["temperature"]), float(state["bias"])


@CALIBRATORS.register("isotonic")
class IsotonicCalibrator(Calibrator):
    """Monotone step function fitted by isotonic regression, applied by linear interpolation."""

    name = "isotonic"

    def __init__(self) -> None:
        self.x: list[float] = []
        self.y: list[float] = []

    def fit(self, logits: np.ndarray, y: np.ndarray) -> "IsotonicCalibrator":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(np.asarray(logits, float), y)
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
