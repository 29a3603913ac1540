"""Training data assembly (splits, balance, compression parity), augmentations, simulation, `detect train`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from assay.cli import app
from assay.core.errors import UnknownNameError
from assay.core.imagesets import ImageSetWriter
from assay.core.workspace import Workspace
from assay.detect.augment import AUGMENTATIONS, compose
from assay.detect.data import (
    Item,
    assemble,
    assign_splits,
    balanced,
    group_key,
    parse_encode,
)
from tests.helpers.detect_toy import (
    FAMILIES,
    fake_images,
    make_real_set,
    make_toy_workspace,
    real_images,
)

torch.set_num_threads(2)
runner = CliRunner()


@pytest.fixture(scope="module")
def toyws(tmp_path_factory) -> tuple[Workspace, str, list[str]]:
    return make_toy_workspace(tmp_path_factory.mktemp("train") / "ws")


def test_splits_keep_each_identity_on_one_side() -> None:
    rows = [{"identity": f"p{i % 7}", "split": ["train", "val", "test"][i % 3], "file": f"{i}.png"} for i in range(60)]
    splits = assign_splits(rows)
    by_identity: dict[str, set[str]] = {}
    for row, split in zip(rows, splits):
        by_identity.setdefault(row["identity"], set()).add(split)
    assert all(len(s) == 1 for s in by_identity.values())
    clean = [{"identity": f"p{i}", "split": "val" if i % 2 else "train", "file": f"{i}.png"} for i in range(10)]
    assert assign_splits(clean) == [r["split"] for r in clean]  # a set's own clean split is kept
    assert group_key({"source": "a.jpg", "file": "x"}) == "source:a.jpg"


def _item(label: int, family: str) -> Item:
    return Item(np.zeros((2, 2, 3), np.uint8), label, family, "s", family, "png", "train")


def test_balanced_takes_every_family_in_turn() -> None:
    items = [_item(0, "real") for _ in range(9)] + [_item(1, f) for f in ("a", "b", "c") for _ in range(10)]
    chosen = balanced(items)
    fams = [i.family for i in chosen if i.label == 1]
    assert sum(i.label == 0 for i in chosen) == len(fams) == 9
    assert {f: fams.count(f) for f in "abc"} == {"a": 3, "b": 3, "c": 3}
    without = balanced(items, exclude_family="b")
    assert "b" not in {i.family for i in without} and sum(i.label for i in without) == 9


def test_compression_parity_reencodes_both_classes(ws) -> None:
    real = make_real_set(ws, n=20)
    w = ImageSetWriter(ws, "samples", "jpeg-fakes")
    for i, img in enumerate(fake_images(20, "nearest", 48)):
        w.add(img, {"label": "synthetic", "split": ["train", "val", "test"][i % 3], "family": "nearest"}, fmt="jpeg")
    fake = w.commit().id
    data = assemble(ws, [real], [fake])
    summary = data.summary()["encode_path"]
    assert summary["real"]["source_formats"] == {"png": 20}
    assert summary["synthetic"]["source_formats"] == {"jpeg": 20}
    assert summary["real"]["re_encoded_as"] == summary["synthetic"]["re_encoded_as"] == "jpeg:95"
    as_is = assemble(ws, [real], [fake], encode="none")
    reals = {i.group: i.image for i in as_is.splits["train"] if i.label == 0}
    again = {i.group: i.image for i in data.splits["train"] if i.label == 0}
    assert any(not np.array_equal(reals[k], again[k]) for k in reals)  # the PNG reals went through JPEG too
    assert parse_encode("jpeg:80") == ("jpeg", 80) and parse_encode("none") is None
    with pytest.raises(ValueError, match="unknown encode path"):
        parse_encode("gif")


def test_assemble_needs_fakes_or_simulation(ws) -> None:
    real = make_real_set(ws, n=10)
    with pytest.raises(ValueError, match="--simulate"):
        assemble(ws, [real], [])


def test_augmentations_do_what_they_say() -> None:
    img = real_images(1, 64)[0]
    always = np.random.default_rng(0)
    blurred = AUGMENTATIONS.get("blur")(img, _AlwaysRng(2.5))
    assert np.abs(np.diff(blurred.astype(float), axis=1)).mean() < np.abs(np.diff(img.astype(float), axis=1)).mean()
    assert np.array_equal(AUGMENTATIONS.get("flip")(img, _AlwaysRng(0)), img[:, ::-1])
    jpeg = AUGMENTATIONS.get("jpeg")(img, _AlwaysRng(30))
    assert jpeg.shape == img.shape and not np.array_equal(jpeg, img)
    assert AUGMENTATIONS.get("resize-crop")(img, always).shape == img.shape
    assert compose([]) is None
    with pytest.raises(UnknownNameError, match="unknown augmentation"):
        compose(["rotate"])


class _AlwaysRng:
    """A generator stand-in that always fires and returns a fixed draw."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return 0.0

    def uniform(self, low: float, high: float) -> float:
        return self.value

    def integers(self, low: int, high: int) -> int:
        return int(self.value)


def test_artifact_simulation_keeps_size_and_content() -> None:
    from assay.detect.simulate import SIMULATORS, simulate, train_simulators

    assert SIMULATORS.names() == ["bilinear", "modconv-skip", "nearest", "pixelshuffle", "transposed"]
    images = real_images(6, 48) + [real_images(1, 37)[0]]
    out = simulate(images, train_simulators(("transposed", "nearest"), images, steps=60))
    assert [f for _, f in out][:2] == ["simulated-transposed", "simulated-nearest"]
    for (fake, _), img in zip(out, images):
        assert fake.shape == img.shape and fake.dtype == np.uint8
        assert not np.array_equal(fake, img)
        assert np.abs(fake.astype(float) - img.astype(float)).mean() < 40  # a reconstruction, not noise


def test_train_command_registers_detector_with_lineage(toyws) -> None:
    ws, real, fakes = toyws
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "train", "--model", "spectral", "--real", real,
                              "--fake", ",".join(fakes), "--aug", "flip", "--name", "spec", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout[res.stdout.index("{"):])
    rec = ws.resolve("spec")
    assert report["detector"] == rec.id
    assert set(rec.parents) == {real, *fakes}
    assert rec.params["families"] == sorted(FAMILIES)
    assert set(report["per_family"]) == set(FAMILIES)
    assert report["overall"]["auc"] > 0.95
    folder = ws.path_of(rec)
    training = json.loads((folder / "training.json").read_text())
    assert training["config"]["aug"] == ["flip"]
    assert training["data"]["encode_path"]["real"]["re_encoded_as"] == "none"
    assert json.loads((folder / "calibration.json").read_text())["method"] == "temperature"
    assert json.loads((folder / "evaluation.json").read_text())["overall"]["auc"] == report["overall"]["auc"]


def test_train_with_simulation_only(toyws) -> None:
    ws, real, _ = toyws
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "train", "--model", "dct", "--real", real,
                              "--simulate", "--simulator", "nearest", "--sim-steps", "30", "--name", "sim"])
    assert res.exit_code == 0, res.output
    rec = ws.resolve("sim")
    assert rec.params["families"] == ["simulated-nearest"]
    assert rec.parents == [real]


def test_train_refuses_a_taken_name_before_training(toyws) -> None:
    ws, real, fakes = toyws
    base = ["-w", str(ws.root), "detect", "train", "--real", real, "--fake", fakes[0], "--name", "taken"]
    assert runner.invoke(app, base).exit_code == 0
    res = runner.invoke(app, base)
    assert res.exit_code == 2
    assert "a detector named 'taken' already exists" in res.output
    assert "reading" not in res.output  # refused before any image was read


def test_torch_detector_records_curves(toyws) -> None:
    ws, real, fakes = toyws
    res = runner.invoke(app, ["-w", str(ws.root), "detect", "train", "--model", "npr", "--real", real,
                              "--fake", fakes[0], "--set", "tile=32", "--set", "epochs=2", "--name", "npr"])
    assert res.exit_code == 0, res.output
    curves = json.loads((ws.path_of(ws.resolve("npr")) / "curves.json").read_text())
    assert [c["epoch"] for c in curves] == [1, 2]
    assert {"loss", "accuracy", "lr", "val_auc"} <= set(curves[0])


@pytest.mark.parametrize("args,message", [
    (["--model", "nope"], "unknown detector 'nope'"),
    (["--aug", "rotate"], "unknown augmentation 'rotate'"),
    (["--fake", "missing-set"], "no artefact with id or name 'missing-set'"),
    (["--set", "colour=1"], "takes no option colour"),
    (["--real", "toy-nearest"], "holds synthetic images"),
])
def test_train_command_errors(toyws, args, message) -> None:
    ws, real, fakes = toyws
    base = ["-w", str(ws.root), "detect", "train", "--real", real]
    res = runner.invoke(app, base + (args if "--fake" in args else args + ["--fake", fakes[0]]))
    assert res.exit_code == 2
    assert message in res.output


def test_demo_trains_spectral_and_reuses_it(toyws, capsys) -> None:
    from assay.demo.detect import run

    ws, real, fakes = toyws
    det_id = run(ws, real, fakes[0])
    rec = ws.resolve(det_id)
    assert rec.name == "demo-spectral" and rec.params["detector"] == "spectral"
    assert set(rec.parents) == {real, fakes[0]}
    assert "on the held-out test split" in capsys.readouterr().out
    assert run(ws, real, fakes[0]) == det_id


def test_fakes_with_pixel_labels_raise_a_warning(ws: Workspace) -> None:
    real = make_real_set(ws, n=20)
    w = ImageSetWriter(ws, "samples", "marked")
    for i, img in enumerate(fake_images(20, "nearest")):
        w.add(img, {"label": "synthetic", "family": "dcgan", "split": ("train", "val", "test")[i % 3],
                    "labels_applied": ["visible", "xmp", "c2pa"]})
    marked = w.commit().id
    with pytest.warns(UserWarning, match="20 of 20 images of marked carry a visible mark"):
        assemble(ws, [real], [marked], require_all_splits=False)
