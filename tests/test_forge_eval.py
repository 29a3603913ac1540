"""forge eval: the metrics' math on known cases, the Inception refusal, leakage on real faces, reference rows."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from scipy import linalg
from typer.testing import CliRunner

from assay.cli import app
from assay.core.errors import InputError
from assay.core.fileio import read_jsonl
from assay.core.imageio import decode
from assay.forge.evaluation import check_metrics, evaluate
from assay.forge.features import FeatureOptions, InceptionWeightsError
from assay.forge.metrics import Pair, Subject, fd, kid, leakage, prdc
from assay.forge.swd import swd

torch.set_num_threads(1)


def test_fd_of_a_set_with_itself_is_zero_and_matches_the_closed_form() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (4000, 2))
    y = rng.normal(1, 2, (4000, 2))                       # N(1, 4 I)
    assert fd(x, x) == pytest.approx(0, abs=1e-6)
    # the closed form of the sample statistics ...
    mx, my, sx, sy = x.mean(0), y.mean(0), np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    closed = ((mx - my) ** 2).sum() + np.trace(sx + sy - 2 * linalg.sqrtm(sx @ sy).real)
    assert fd(x, y) == pytest.approx(closed, rel=1e-6)
    # ... and of the populations: |1|^2 * 2 + 2 * (1 + 4 - 2 * 2) = 4
    assert fd(x, y) == pytest.approx(4.0, abs=0.25)


def test_kid_is_unbiased_on_samples_of_one_distribution() -> None:
    rng = np.random.default_rng(1)
    draws = [kid(rng.normal(size=(20, 3)), rng.normal(size=(20, 3)), subsets=1, subset_size=20, seed=i)[0]
             for i in range(300)]
    mean, sem = float(np.mean(draws)), float(np.std(draws) / np.sqrt(len(draws)))
    assert abs(mean) < 3 * sem                          # the unbiased estimator centres on 0 ...
    x, y = rng.normal(size=(20, 3)), rng.normal(size=(20, 3))
    k = lambda a, b: (a @ b.T / 3 + 1) ** 3            # noqa: E731  (KID's cubic kernel)
    biased = k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()
    unbiased = ((k(x, x).sum() - np.trace(k(x, x))) + (k(y, y).sum() - np.trace(k(y, y)))) / (20 * 19) \
        - 2 * k(x, y).mean()
    assert kid(x, y, subsets=1, subset_size=20)[0] == pytest.approx(unbiased, rel=1e-9)
    assert biased - unbiased > 10 * abs(mean)           # ... where the biased one would sit clearly above it
    assert kid(x, y + 3, subsets=1, subset_size=20)[0] > 10 * sem


def test_precision_recall_density_coverage_on_toy_clouds() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, (200, 2)), rng.normal(50, 1, (200, 2))
    real = np.concatenate([a, b])
    same = prdc(real, real)
    assert same["precision"] == 1 and same["recall"] == 1 and same["coverage"] == 1
    assert same["density"] == pytest.approx(1.0, abs=0.2)
    half = prdc(rng.normal(0, 1, (400, 2)), real)          # a generator that only makes the first mode
    assert half["precision"] > 0.95 and half["recall"] == pytest.approx(0.5, abs=0.05)
    assert half["coverage"] == pytest.approx(0.5, abs=0.05)
    away = prdc(rng.normal(500, 1, (400, 2)), real)
    assert away == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def _textured(n: int = 24, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(3)
    base = np.kron(rng.integers(0, 255, (n, size // 4, size // 4, 3)), np.ones((1, 4, 4, 1)))
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


def test_swd_is_zero_for_identical_sets_and_grows_with_blur() -> None:
    images = _textured()
    assert swd(images, images)["swd"] == 0
    blurred = [swd(np.stack([cv2.GaussianBlur(im, (0, 0), s) for im in images]), images) for s in (0.6, 1.2, 2.4)]
    assert set(blurred[0]) == {"swd_64", "swd_32", "swd_16", "swd"}
    assert 0 < blurred[0]["swd"] < blurred[1]["swd"] < blurred[2]["swd"]
    assert blurred[0]["swd_64"] < blurred[2]["swd_64"]


def test_inception_metrics_need_the_standard_weights(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--inception-weights"):
        check_metrics(["fd_dlib", "fid"], None)
    fake = tmp_path / "inception-random.pth"
    torch.save({"fc.weight": torch.randn(1008, 2048), "fc.bias": torch.randn(1008)}, fake)
    with pytest.raises(InceptionWeightsError, match="not the standard Inception weights"):
        check_metrics(["fid"], str(fake))
    assert check_metrics(["fd_dlib", "swd"], None) == ["fd_dlib", "swd"]       # FD-dlib needs no Inception
    with pytest.raises(InputError, match="unknown metric"):
        check_metrics(["fd_inception_lookalike"], None)


def test_identity_leakage_flags_a_copied_training_face_not_another_person(shared_data: Path) -> None:
    from assay.core.faces import resize

    utk = sorted((shared_data / "utkface").glob("*.jpg"))[:6]
    train = np.stack([resize(decode(p), 64) for p in utk])
    other = resize(decode(sorted((shared_data / "lfw").glob("*.jpg"))[0]), 64)
    opts = FeatureOptions()
    train_subject = Subject("train", train, [p.name for p in utk])
    fake = Subject("generator", np.stack([train[2], other]), ["copy of 2", "lfw person"])
    res = leakage(Pair(fake, train_subject, train_subject.feat("dlib", opts), train_subject.names, opts))
    assert res["leakage"] == 0.5
    worst = res["leakage_worst"]
    assert worst[0] == {"sample": "copy of 2", "training": utk[2].name, "distance": 0.0}
    assert worst[1]["sample"] == "lfw person" and worst[1]["distance"] >= 0.6


def test_cli_refuses_fid_with_random_weights(ws, tmp_path: Path) -> None:
    fake = tmp_path / "random.pth"
    torch.save({"w": torch.randn(8)}, fake)
    res = CliRunner().invoke(app, ["--workspace", str(ws.root), "forge", "eval", "anything", "--metrics", "fid",
                                   "--inception-weights", str(fake)])
    assert res.exit_code == 1 and "not the standard Inception weights" in res.output


def test_reference_rows_bracket_a_trained_toy_generator(ws) -> None:
    from assay.forge.config import make_config
    from assay.forge.training import train
    from tests.helpers.faces import tiny_faces

    ds = tiny_faces(ws, n=160)
    cfg = make_config("dcgan", 32, steps=150, batch=16, g_ch=8, d_ch=8, z_dim=16, checkpoint_every=150,
                      sample_every=150)
    run = train(ws, ds, cfg, progress=False)
    rows = evaluate(ws, run, n=16, metrics=["fd_dlib", "prdc_dlib"], progress=False)
    gen, floor, ceiling = (r["metrics"] for r in rows)
    assert [r["subject"] for r in rows] == ["generator", "real-vs-real", "degenerate"]
    assert floor["fd_dlib"] < gen["fd_dlib"] < ceiling["fd_dlib"]
    assert floor["recall_dlib"] > gen["recall_dlib"] > ceiling["recall_dlib"]
    assert rows[0]["n"] == 16 and rows[0]["against"] == f"{ds}:train" and "torch-fidelity" in rows[0]["versions"]
    assert ws.resolve(run).params["eval"]["fd_dlib"] == gen["fd_dlib"]
    assert (Path(ws.resolve(run).path) / "eval.jsonl").read_text().count("\n") == 3


def test_eval_every_keeps_the_best_checkpoint_and_sample_uses_it(ws) -> None:
    from assay.forge.config import make_config
    from assay.forge.sampling import sample
    from assay.forge.training import train
    from tests.helpers.faces import tiny_faces

    ds = tiny_faces(ws, n=40)
    cfg = make_config("dcgan", 32, steps=4, batch=8, g_ch=4, d_ch=4, z_dim=16, checkpoint_every=2, sample_every=2,
                      eval_every=2, eval_n=8)
    run = train(ws, ds, cfg, progress=False)
    folder = Path(ws.resolve(run).path)
    evals = [r for r in read_jsonl(folder / "metrics.jsonl")
             if r.get("event") == "eval"]
    assert [r["step"] for r in evals] == [2, 4] and all(0 <= r["face_rate"] <= 1 for r in evals)
    best = min(evals, key=lambda r: r["fd_dlib"])
    s = ws.resolve(sample(ws, run, 2, name="best", which_checkpoint="best", labels="xmp", progress=False))
    assert s.params["checkpoint"] == "best" and s.params["checkpoint_step"] == best["step"]
    assert (folder / "metrics.png").stat().st_size > 0


def test_eval_reads_and_embeds_only_n_reference_images(ws) -> None:
    from assay.forge.evaluation import reference
    from tests.helpers.faces import tiny_faces

    ds = tiny_faces(ws, n=40)                                   # 36 train images, 4 held out
    refs = reference(ws, ds, "train", 32, 4, 0, FeatureOptions(progress=False))
    assert len(refs.real) == 4 and refs.train_embeddings.shape == (4, 128)
    assert refs.train_names == refs.real.names and len(refs.train_paths) == 4


def test_eval_reading_places_fd_between_floor_and_ceiling() -> None:
    from assay.forge.evaluation import reading

    rows = [{"subject": "generator", "n": 200, "metrics": {"fd_dlib": 0.4, "face_rate": 0.25, "leakage": 0.01}},
            {"subject": "real-vs-real", "n": 200, "metrics": {"fd_dlib": 0.1, "face_rate": 0.98, "leakage": 0.9}},
            {"subject": "degenerate", "n": 200, "metrics": {"fd_dlib": 0.7, "face_rate": 1.0, "leakage": 1.0}}]
    line = reading(rows)
    assert line.startswith("Reading: FD-dlib 0.4 lies 50% of the way from the real-vs-real floor (0.1)")
    assert "a face is detected in 25% of the samples (real photos: 98%)" in line
    assert "1% of the samples are within the same-person distance of one of the 200 reference faces" in line
    assert "\n" not in line and "move a lot" not in line
    rows[0]["metrics"]["fd_dlib"] = 0.05
    assert "below the real-vs-real floor" in reading(rows)
    rows[0]["metrics"]["fd_dlib"] = 0.9
    assert "above the degenerate ceiling" in reading(rows)
    assert "at n = 16 these numbers move a lot" in reading([{**r, "n": 16} for r in rows])
