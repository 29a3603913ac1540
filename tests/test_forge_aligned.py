"""Content-aligned fakes: autoencoders with a GAN family's decoder, re-synthesis at the source's size, the
realign set (PNG folder, manifest lineage, catalog row), resuming, and the CLI command."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from assay.core.fileio import read_jsonl
from assay.core.imageio import decode, save
from assay.core.imagesets import open_set
from assay.forge.aligned import MANIFEST, WEIGHTS, realign
from assay.forge.autoencoder import (
    Autoencoder,
    AutoencoderConfig,
    resynthesise,
    train_autoencoder,
)
from assay.forge.networks.stylegan import ModulatedConv
from assay.forge.upscale import psnr
from tests.helpers.cli import invoke
from tests.helpers.images import smooth_image

#: small enough for a few steps on a busy CPU
TINY = {"enc_ch": 8, "latent": 16, "ch": 8, "patch": 32, "batch": 2}


def _ups(module: nn.Module, family: str) -> int:
    """How many of the family's own up-sampling layers a module holds."""
    if family == "dcgan":
        return sum(isinstance(m, nn.ConvTranspose2d) and m.stride == (2, 2) for m in module.modules())
    if family == "srgan":
        return sum(isinstance(m, nn.PixelShuffle) and m.upscale_factor == 2 for m in module.modules())
    return sum(isinstance(m, ModulatedConv) and m.up for m in module.modules())


@pytest.mark.parametrize("family", ["dcgan", "srgan", "stylegan2"])
def test_each_decoder_up_samples_by_its_familys_own_block(family: str) -> None:
    model = Autoencoder(AutoencoderConfig(family=family, ups=3, **TINY))
    assert _ups(model.decoder, family) == 3
    assert _ups(model.encoder, family) == 0
    other = "srgan" if family != "srgan" else "dcgan"
    assert _ups(model.decoder, other) == 0


@pytest.mark.parametrize("family", ["dcgan", "srgan", "stylegan2"])
@pytest.mark.parametrize("shape", [(64, 64), (53, 70)])
def test_output_has_the_sources_size(family: str, shape: tuple[int, int]) -> None:
    model = Autoencoder(AutoencoderConfig(family=family, **TINY)).eval()
    image = smooth_image(max(shape), 0)[: shape[0], : shape[1]]
    assert resynthesise(model, image).shape == image.shape


def test_tiles_keep_the_size_and_agree_with_the_whole_photo() -> None:
    model = Autoencoder(AutoencoderConfig(family="dcgan", **TINY)).eval()
    image = smooth_image(100, 1)[:, :90]
    whole, tiled = resynthesise(model, image), resynthesise(model, image, tile=32, margin=24)
    assert tiled.shape == whole.shape == image.shape
    assert np.abs(tiled.astype(int) - whole).mean() < 0.5


def test_brief_training_gives_a_close_but_different_copy() -> None:
    images = [smooth_image(64, i) for i in range(3)]
    cfg = AutoencoderConfig(family="stylegan2", steps=20, lr=3e-3, **TINY)
    before = psnr(images[0], resynthesise(Autoencoder(cfg).eval(), images[0]))
    model, summary = train_autoencoder(cfg, images, torch.device("cpu"))
    out = resynthesise(model, images[0])
    after = psnr(images[0], out)
    assert summary["steps"] == 20 and summary["final_loss"] < summary["first_loss"]
    assert after > before + 2
    assert 16 < after < 45 and not np.array_equal(out, images[0])


def test_the_patch_is_never_larger_than_the_smallest_photo() -> None:
    cfg = AutoencoderConfig(family="dcgan", steps=1, **{**TINY, "patch": 256})
    _, summary = train_autoencoder(cfg, [smooth_image(64, 0), smooth_image(50, 1)], torch.device("cpu"))
    assert summary["patch"] == 48


def _photos(folder: Path, n: int = 3) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"photo{i}.jpg"
        save(smooth_image(64 + 8 * i, i)[:, : 60 + 4 * i], path)
        paths.append(path)
    return paths


def test_realign_writes_a_labelled_png_set_with_its_lineage(ws, tmp_path: Path) -> None:
    from assay.provenance.verify.report import verify_file

    photos = _photos(tmp_path / "real")
    (tmp_path / "real" / "broken.jpg").write_bytes(b"not a jpeg")
    cfg = AutoencoderConfig(family="dcgan", steps=2, **TINY)
    made = realign(ws, [tmp_path / "real"], tmp_path / "out", cfg, labels="c2pa", progress=False)
    assert made.folder == tmp_path / "out" / "dcgan" and made.written == 3
    assert [f for f, _ in made.failed] == [str(tmp_path / "real" / "broken.jpg")]
    rows = {r["source"]: r for r in open_set(ws, made.set_id).rows}
    assert set(rows) == {str(p) for p in photos}
    for photo in photos:
        row = rows[str(photo)]
        out = decode(made.folder / row["file"])
        assert row["file"] == f"{photo.stem}.png" and out.shape == decode(photo).shape
        assert row["label"] == "synthetic" and row["family"] == "aligned-dcgan"
        assert row["source_sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()
        assert 0 < row["psnr"] < 60
    rec = ws.resolve(made.set_id)
    assert rec.kind == "samples" and Path(rec.path) == made.folder
    assert rec.params["autoencoder"] == asdict(cfg)
    assert rec.params["checkpoint_sha256"] == hashlib.sha256((made.folder / WEIGHTS).read_bytes()).hexdigest()
    assert rec.params["training"]["steps"] == 2
    report = verify_file(made.folder / rows[str(photos[0])]["file"], ws)
    assert report["c2pa"]["actions"] == ["c2pa.opened", "c2pa.edited"]


class _Interrupt(Exception):
    pass


def test_an_interrupted_run_resumes_with_its_autoencoder_and_keeps_what_was_written(ws, tmp_path: Path) -> None:
    from assay.core.imageio import encode

    photos = _photos(tmp_path / "real")
    cfg = AutoencoderConfig(family="srgan", steps=2, **TINY)
    calls = []

    def stamp_then_stop(pixels: np.ndarray, fmt: str, meta: dict) -> tuple[bytes, dict]:
        calls.append(meta)
        if len(calls) == 2:
            raise _Interrupt
        return encode(pixels, fmt), {}

    with pytest.raises(_Interrupt):
        realign(ws, photos, tmp_path / "out", cfg, stamper=stamp_then_stop, progress=False)
    folder = tmp_path / "out" / "srgan"
    first = (folder / "photo0.png").read_bytes()
    weights = (folder / WEIGHTS).read_bytes()
    assert [r["file"] for r in read_jsonl(folder / MANIFEST)] == ["photo0.png"]
    assert not ws.catalog.list("samples")
    made = realign(ws, photos, tmp_path / "out", cfg, labels="xmp", progress=False)
    assert made.written == 2 and ws.resolve(made.set_id).params["training"] == {"resumed": True}
    assert (folder / "photo0.png").read_bytes() == first and (folder / WEIGHTS).read_bytes() == weights
    assert len(open_set(ws, made.set_id).rows) == 3
    with pytest.raises(ValueError, match="another autoencoder"):
        realign(ws, photos, tmp_path / "out", AutoencoderConfig(family="srgan", steps=3, **TINY), name="other",
                progress=False)


def test_the_command_writes_the_set_and_refuses_bad_options_in_one_line(tmp_path: Path) -> None:
    _photos(tmp_path / "real", 2)
    base = ["--workspace", str(tmp_path / "ws"), "forge", "realign", "--real-dir", str(tmp_path / "real"),
            "--out", str(tmp_path / "out")]
    code, output, crash = invoke(*base, "--family", "biggan")
    assert (code, crash) == (1, None) and "unknown decoder 'biggan'; known: dcgan, srgan, stylegan2" in output
    code, output, _ = invoke(*base, "--family", "dcgan", "--size", "huge")
    assert code == 1 and "--size must be native" in output
    code, output, _ = invoke(*base, "--family", "dcgan", "--set", "depth=3")
    assert code == 1 and "unknown setting 'depth'" in output
    sets = [f"--set={k}={v}" for k, v in TINY.items() if k != "patch"]
    code, output, crash = invoke(*base, "--family", "stylegan2", "--steps", "1", "--patch", "32", *sets)
    assert (code, crash) == (0, None), output
    assert output.strip().splitlines()[-1].startswith("smp-")
    assert sorted(p.name for p in (tmp_path / "out" / "stylegan2").glob("*.png")) == ["photo0.png", "photo1.png"]
