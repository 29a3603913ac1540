"""Metrics against scikit-learn, calibration, robustness perturbations, leave-one-out bookkeeping, `detect eval`/`loo`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.core.workspace import Workspace
from assay.detect.calibration import make_calibrator, sigmoid
from assay.detect.evaluate import (
    METRICS,
    compute_metrics,
    eer,
    expected_calibration_error,
    per_family,
)
from assay.detect.loo import ALL_HELD_OUT, leave_one_out
from assay.detect.robustness import PERTURBATIONS
from assay.detect.training import DetectTrainConfig
from tests.helpers.detect_toy import (
    FAMILIES,
    make_real_set,
    make_toy_workspace,
    real_images,
)

runner = CliRunner()


@pytest.fixture(scope="module")
def toyws(tmp_path_factory) -> tuple[Workspace, str, list[str]]:
    return make_toy_workspace(tmp_path_factory.mktemp("eval") / "ws")


@pytest.fixture
def scores() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    p = np.clip(0.5 + (y - 0.5) * 0.4 + rng.normal(0, 0.25, 400), 0, 1)
    return y, p


def test_metrics_agree_with_scikit_learn(scores) -> None:
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        confusion_matrix,
        roc_auc_score,
    )

    y, p = scores
    m = compute_metrics(y, p)
    assert m["auc"] == pytest.approx(roc_auc_score(y, p))
    assert m["ap"] == pytest.approx(average_precision_score(y, p))
    assert m["accuracy"] == pytest.approx(accuracy_score(y, p >= 0.5))
    tn, fp, fn, tp = confusion_matrix(y, p >= 0.5).ravel()
    assert m["acc_real"] == pytest.approx(tn / (tn + fp))
    assert m["acc_synthetic"] == pytest.approx(tp / (tp + fn))
    assert (m["n_real"], m["n_synthetic"]) == (int((y == 0).sum()), int((y == 1).sum()))
    assert set(METRICS.names()) == {"auc", "ap", "eer", "accuracy", "acc_real", "acc_synthetic", "ece"}


def test_eer_matches_a_threshold_sweep(scores) -> None:
    y, p = scores
    best = min(((np.mean(p[y == 0] >= t), np.mean(p[y == 1] < t)) for t in np.unique(p)),
               key=lambda r: abs(r[0] - r[1]))
    assert eer(y, p) == pytest.approx(np.mean(best), abs=0.01)
    assert eer(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])) == 0.0


def test_ece_by_hand() -> None:
    y = np.array([0, 1, 1, 1])
    p = np.array([0.1, 0.9, 0.9, 0.5])
    # bins: 0.1 -> y 0 (|0-0.1|), 0.9 x2 -> y 1 (|1-0.9|), 0.5 -> y 1 (|1-0.5|)
    assert expected_calibration_error(y, p) == pytest.approx(0.25 * 0.1 + 0.5 * 0.1 + 0.25 * 0.5)


def test_per_family_compares_each_family_with_all_reals() -> None:
    from sklearn.metrics import roc_auc_score

    y = np.array([0, 0, 0, 1, 1, 1, 1])
    p = np.array([0.1, 0.4, 0.7, 0.9, 0.3, 0.8, 0.95])
    fams = ["real", "real", "real", "a", "a", "b", "b"]
    out = per_family(y, p, fams)
    assert set(out) == {"a", "b"}
    assert out["a"]["auc"] == pytest.approx(roc_auc_score([0, 0, 0, 1, 1], [0.1, 0.4, 0.7, 0.9, 0.3]))
    assert out["b"]["n_real"] == 3 and out["b"]["n_synthetic"] == 2


@pytest.mark.parametrize("method", ["temperature", "isotonic"])
def test_calibration_lowers_ece_of_an_overconfident_model(method: str) -> None:
    rng = np.random.default_rng(0)
    true_logit = rng.normal(0, 1.5, 4000)
    y = (rng.random(4000) < sigmoid(true_logit)).astype(int)
    logits = 6.0 * true_logit  # overconfident
    before = expected_calibration_error(y[2000:], sigmoid(logits[2000:]))
    cal = make_calibrator({"method": method}).fit(logits[:2000], y[:2000])
    after = expected_calibration_error(y[2000:], cal(logits[2000:]))
    assert before > 0.1
    assert after < before / 2
    again = make_calibrator(cal.to_dict())
    np.testing.assert_allclose(again(logits[:50]), cal(logits[:50]))


def test_robustness_perturbations() -> None:
    img = real_images(1, 64)[0]
    assert PERTURBATIONS.names() == sorted(["jpeg95", "jpeg75", "jpeg50", "downscale0.5", "blur1", "crop90",
                                            "strip-metadata"])
    assert PERTURBATIONS.get("downscale0.5")(img).shape == (32, 32, 3)
    assert PERTURBATIONS.get("crop90")(img).shape == (58, 58, 3)
    assert np.array_equal(PERTURBATIONS.get("strip-metadata")(img), img)
    err50 = np.abs(PERTURBATIONS.get("jpeg50")(img).astype(float) - img).mean()
    err95 = np.abs(PERTURBATIONS.get("jpeg95")(img).astype(float) - img).mean()
    assert err50 > err95 > 0


def test_leave_one_out_never_tests_on_a_trained_family(toyws) -> None:
    ws, real, fakes = toyws
    result = leave_one_out(ws, DetectTrainConfig(model="dct", simulate=("nearest",), sim_steps=30), [real], fakes)
    assert set(result["matrix"]) == set(FAMILIES) | {ALL_HELD_OUT}
    for held, row in result["matrix"].items():
        assert held not in result["trained_on"][held]
        assert set(row) == set(FAMILIES)
        for fam, cell in row.items():
            assert cell["seen"] == (fam in result["trained_on"][held])
            assert cell["seen"] == (fam != held and held != ALL_HELD_OUT)
    assert not set(FAMILIES) & set(result["trained_on"][ALL_HELD_OUT])
    assert result["unseen_auc"] == {f: result["matrix"][f][f]["auc"] for f in FAMILIES}
    assert result["min_unseen_auc"] == min(result["unseen_auc"].values())


def test_loo_needs_two_families(toyws) -> None:
    ws, real, fakes = toyws
    with pytest.raises(ValueError, match="two or more fake families"):
        leave_one_out(ws, DetectTrainConfig(model="spectral"), [real], fakes[:1])


def test_eval_command_reports_and_stores(toyws, tmp_path) -> None:
    ws, real, fakes = toyws
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "train", "--real", real, "--fake", ",".join(fakes),
                              "--name", "spec-eval"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "report.json"
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "eval", "spec-eval", "--real", real,
                              "--fake", fakes[0], "--fake", fakes[1], "--out", str(out)])
    assert res.exit_code == 0, res.output
    report = json.loads(out.read_text())
    assert f"{report['detector']} on test" in res.stdout
    assert set(report["per_family"]) == {"nearest", "zeroinsert"}
    assert set(report["robustness"]) == set(PERTURBATIONS.names())
    assert report["data"]["encode_path"]["synthetic"]["re_encoded_as"] == "none"
    rec = ws.resolve("spec-eval")
    entry = rec.params["evaluations"][-1]
    assert entry["auc"] == report["overall"]["auc"] and entry["split"] == "test"
    assert (ws.path_of(rec) / entry["file"]).exists()


def test_eval_without_detector_says_how_to_train(tmp_path) -> None:
    ws = Workspace(tmp_path / "empty")
    real = make_real_set(ws, n=10)
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "eval", "nothing", "--real", real])
    assert res.exit_code == 2
    assert "no detectors artefact with id or name 'nothing'" in res.output


def test_loo_command_prints_matrix(toyws) -> None:
    ws, real, fakes = toyws
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "loo", "--model", "spectral", "--real", real,
                              "--fake", ",".join(fakes), "--json", "--save-folds"])
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout[res.stdout.index("{"):])
    assert set(result["unseen_auc"]) == set(FAMILIES)
    folds = [r for r in ws.catalog.list("detectors") if r.params.get("loo_study") == result["study"]]
    assert {r.params["held_out_family"] for r in folds} == set(FAMILIES)
    assert all(r.params["loo_unseen_auc"] == result["unseen_auc"] for r in folds)
    stored = json.loads((ws.path_of(folds[0]) / "loo.json").read_text())
    assert stored["matrix"] == result["matrix"]


def test_ranking_metrics_use_raw_scores_when_probabilities_saturate() -> None:
    y = np.array([0, 0, 1, 1])
    logits = np.array([-900.0, -800.0, -700.0, 950.0])
    p = sigmoid(logits)  # the first three are all 0.0 in float64
    assert compute_metrics(y, p)["auc"] == 0.75
    assert compute_metrics(y, p, score=logits)["auc"] == 1.0
    assert compute_metrics(y, p, score=logits)["accuracy"] == 0.75  # thresholds still use probabilities


def test_eval_on_real_faces_only_reports_false_positives(toyws) -> None:
    ws, real, fakes = toyws
    other = make_real_set(ws, "other-real", n=20, seed=9)
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "eval", "spec-eval", "--real", other, "--split", "all",
                              "--no-robustness", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout[res.stdout.index("{"):])
    assert report["overall"]["auc"] is None and report["per_family"] == {}
    assert report["overall"]["n_real"] == 20 and 0.0 <= report["overall"]["acc_real"] <= 1.0
