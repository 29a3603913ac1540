"""Sampling runs into labelled synthetic sets: determinism, manifest rows, the stamper hook, conditions, CLI."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, PngImagePlugin
from typer.testing import CliRunner

from assay.cli import app
from assay.core.imageio import decode, pixel_sha256
from assay.core.imagesets import open_set
from assay.core.workspace import Workspace
from assay.forge.config import make_config
from assay.forge.sampling import sample, split_of
from assay.forge.training import train
from tests.helpers.faces import tiny_faces

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Workspace, str, str]:
    ws = Workspace(tmp_path_factory.mktemp("forge-sample") / "ws")
    ds = tiny_faces(ws)
    cfg = make_config("dcgan", 32, steps=2, batch=8, g_ch=4, d_ch=4, z_dim=16, checkpoint_every=2, sample_every=2)
    return ws, ds, train(ws, ds, cfg, progress=False)


def test_same_seed_same_checkpoint_same_pixels(trained) -> None:
    ws, ds, run = trained
    a = open_set(ws, sample(ws, run, 5, seed=7, name="a", progress=False))
    b = open_set(ws, sample(ws, run, 5, seed=7, name="b", progress=False))
    c = open_set(ws, sample(ws, run, 5, seed=8, name="c", progress=False))
    assert [r["sha256"] for r in a.rows] == [r["sha256"] for r in b.rows]
    assert np.array_equal(a.load(), b.load())
    assert not {r["sha256"] for r in a.rows} & {r["sha256"] for r in c.rows}
    # a longer set from the same seed starts with the same images
    d = open_set(ws, sample(ws, run, 40, seed=7, name="d", progress=False))
    assert [r["sha256"] for r in d.rows[:5]] == [r["sha256"] for r in a.rows]


def test_manifest_rows_and_lineage(trained) -> None:
    ws, ds, run = trained
    s = open_set(ws, sample(ws, run, 4, seed=1, truncation=0.5, fmt="jpg", name="rows", progress=False))
    assert s.record.parents == [run, ds]
    assert s.record.params["count"] == 4 and s.record.params["family"] == "dcgan"
    sha = ws.resolve(run).params["checkpoint_sha256"]
    for i, row in enumerate(s.rows):
        assert row["label"] == "synthetic" and row["family"] == "dcgan" and row["run_id"] == run
        assert row["checkpoint_sha256"] == sha and row["seed"] == 1 and row["latent_index"] == i
        assert row["condition"] is None and row["split"] == split_of(i) and row["file"] == f"images/{i:06d}.jpg"
        assert decode(s.path(row)).shape == (32, 32, 3)
    assert {split_of(i) for i in range(200)} == {"train", "val", "test"}
    assert sum(split_of(i) == "train" for i in range(1000)) == pytest.approx(800, abs=40)


def test_stamper_hook_gets_pixels_and_meta_and_its_bytes_are_stored(trained) -> None:
    ws, _, run = trained
    seen: list[dict] = []

    def stamp(pixels: np.ndarray, fmt: str, meta: dict) -> tuple[bytes, dict]:
        seen.append({"shape": pixels.shape, "dtype": pixels.dtype, "fmt": fmt, **meta})
        info = PngImagePlugin.PngInfo()
        info.add_text("ai_generated", meta["run_id"])
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, "PNG", pnginfo=info)
        return buf.getvalue(), {"stamped_by": "test"}

    plain = open_set(ws, sample(ws, run, 3, seed=2, name="plain", progress=False))
    stamped = open_set(ws, sample(ws, run, 3, seed=2, name="stamped", stamper=stamp, progress=False))
    assert [m["latent_index"] for m in seen] == [0, 1, 2]
    assert seen[0]["shape"] == (32, 32, 3) and seen[0]["dtype"] == np.uint8 and seen[0]["fmt"] == "png"
    assert {"family", "run_id", "checkpoint_sha256", "seed", "latent_index", "condition", "size"} <= set(seen[0])
    for p, s in zip(plain.rows, stamped.rows):
        assert s["stamped_by"] == "test" and s["sha256"] == p["sha256"]       # hash of pixels before stamping
        assert Image.open(stamped.path(s)).text["ai_generated"] == run
        assert pixel_sha256(decode(stamped.path(s))) == s["sha256"]


def test_sets_are_stamped_at_birth_by_default_and_never_unlabelled(trained) -> None:
    ws, _, run = trained
    s = open_set(ws, sample(ws, run, 2, seed=3, name="born", progress=False))
    for row in s.rows:
        assert row["labels_applied"] == ["visible", "watermark", "xmp", "c2pa"]  # 32 px: ssgrid-small
        assert not row.get("labels_skipped")
        assert ws.resolve(row["provenance_id"], "provenance").parents == [run]
        assert pixel_sha256(decode(s.path(row))) != row["sha256"]          # the visible mark is in the pixels
    meta_only = open_set(ws, sample(ws, run, 2, seed=3, name="meta", labels="c2pa,xmp", progress=False))
    for a, b in zip(s.rows, meta_only.rows):
        assert pixel_sha256(decode(meta_only.path(b))) == b["sha256"] == a["sha256"]
    with pytest.raises(ValueError, match="always labelled"):
        sample(ws, run, 2, labels="", progress=False)


def test_bad_requests_are_refused_with_reasons(trained) -> None:
    ws, _, run = trained
    with pytest.raises(ValueError, match="format must be one of"):
        sample(ws, run, 2, fmt="gif", progress=False)
    with pytest.raises(ValueError, match="unconditional run takes none"):
        sample(ws, run, 2, condition=["gender=female"], progress=False)
    with pytest.raises(ValueError, match="truncation must be in"):
        sample(ws, run, 2, truncation=1.5, progress=False)


def test_cli_train_sample_and_errors(trained, tmp_path: Path) -> None:
    ws, ds, run = trained
    runner = CliRunner()
    res = runner.invoke(app, ["--workspace", str(ws.root), "forge", "sample", run, "--n", "2", "--name", "cli"])
    assert res.exit_code == 0, res.output
    assert open_set(ws, "cli").record.params["count"] == 2
    res = runner.invoke(app, ["--workspace", str(ws.root), "forge", "sample", run, "--condition", "age=30"])
    assert res.exit_code == 1 and "condition 'age' is not one this run was trained on" in res.output
    res = runner.invoke(app, ["--workspace", str(ws.root), "forge", "train", "--model", "dcgan", "--data", ds,
                              "--size", "48"])
    assert res.exit_code == 1 and "size must be one of" in res.output
    res = runner.invoke(app, ["--workspace", str(ws.root), "forge", "presets", "--json"])
    assert res.exit_code == 0 and '"wgan-gp"' in res.output and '"minibatch-discrimination"' in res.output


def _brightness_classifier(ws: Workspace, ds: str):
    """A tiny classifier of the fixed synthetic data: gender from mean brightness."""
    from sklearn.linear_model import LogisticRegression

    s = open_set(ws, ds)
    x = s.load().reshape(len(s), -1).mean(1, keepdims=True) / 255.0
    y = [r["labels"]["gender"] for r in s.rows]
    clf = LogisticRegression().fit(x, y)
    assert clf.score(x, y) == 1.0
    return lambda images: clf.predict(images.reshape(len(images), -1).mean(1, keepdims=True) / 255.0)


def test_conditional_sampling_honours_the_condition(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    ds = tiny_faces(ws, n=32)
    classify = _brightness_classifier(ws, ds)
    cfg = make_config("cgan", 32, ["cond_keys=gender"], steps=80, batch=16, g_ch=8, d_ch=8, z_dim=16,
                      lr_g=1e-3, lr_d=1e-3, log_every=80, sample_every=80, checkpoint_every=80)
    run = train(ws, ds, cfg, progress=False)
    for value, expected in (("male", "male"), ("1", "female")):
        s = open_set(ws, sample(ws, run, 16, seed=1, condition=[f"gender={value}"], labels="c2pa,xmp",
                                progress=False))    # metadata labels only: the classifier reads the raw pixels
        assert all(r["condition"] == {"gender": expected} for r in s.rows)
        assert (classify(s.load()) == expected).mean() >= 0.8
    mixed = open_set(ws, sample(ws, run, 16, seed=1, labels="c2pa,xmp", progress=False))
    assert {r["condition"]["gender"] for r in mixed.rows} == {"male", "female"}   # unfixed keys drawn per image


def test_demo_trains_briefly_and_returns_a_labelled_sample_set(ws) -> None:
    from assay.demo import forge as demo

    ds = tiny_faces(ws)
    set_id = demo.run(ws, ds, steps=2)
    s = open_set(ws, set_id)
    assert len(s) == 64 and {r["family"] for r in s.rows} == {"dcgan"}
    run = ws.resolve(s.record.parents[0])
    assert run.kind == "runs" and run.params["size"] == 32 and run.params["final_step"] == 2


def test_interpolation_of_a_conditional_generator_keeps_seed_a_condition() -> None:
    import torch

    from assay.forge.conditions import fill_condition, keys_of
    from assay.forge.config import make_config
    from assay.forge.explore import interpolation
    from assay.forge.networks.classic import ConvGenerator
    from assay.forge.sampling import latent

    cfg = make_config("cgan", 32, z_dim=16, g_ch=4)
    keys = keys_of(cfg.cond_keys)
    g = ConvGenerator(32, 16, 4, classes=[len(k.classes) for k in keys]).eval()
    strip = interpolation(g, cfg, (1, 2), 4, 0.8, {"gender": 1})
    cond = fill_condition({"gender": 1}, keys, 1, 0)
    assert cond[0] == 1
    with torch.no_grad():
        first = g.truncated(latent(1, 0, 16)[None], torch.tensor([cond]), 0.8)
    assert strip.shape == (4, 3, 32, 32) and torch.allclose(strip[:1], first, atol=1e-5)
