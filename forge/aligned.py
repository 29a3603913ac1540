"""Content-aligned fake sets: real photos re-synthesised at their own resolution by an autoencoder whose
decoder is a GAN family's up-sampling (:mod:`assay.forge.autoencoder`), written as a labelled folder of
lossless PNGs (one folder per family) that is also a catalog sample set.

The folder ``OUT/<family>/`` holds one ``<source stem>.png`` per photo (same size as its source, stamped
at birth as an AI edit with the photo as its parent), ``manifest.jsonl`` (per image: the source's path
and file hash, PSNR against it, seconds) and ``autoencoder.safetensors`` (weights and config). Every file
is written atomically; a run that stops is resumed by running it again: the saved autoencoder is
reused and the photos already done are skipped. The catalog row appears when every photo is done.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from assay.core.config import override
from assay.core.devices import pick_device
from assay.core.fileio import atomic_write_bytes, atomic_write_jsonl, read_jsonl
from assay.core.imageio import ImageError, decode, pixel_sha256
from assay.core.media import IMAGE_EXTS, iter_media
from assay.core.workspace import Workspace
from assay.forge.autoencoder import (
    Autoencoder,
    AutoencoderConfig,
    config_of,
    load_autoencoder,
    resynthesise,
    save_autoencoder,
    train_autoencoder,
)
from assay.forge.sampling import Stamper, split_of, stamper_for
from assay.forge.upscale import psnr
from assay.provenance import FORMATS

MANIFEST = "manifest.jsonl"
WEIGHTS = "autoencoder.safetensors"
#: pixels untouched (a detector's training set must not learn a visible mark or a watermark)
ALIGNED_LABELS = ("c2pa", "xmp")


@dataclass
class Source:
    """A real photo to re-synthesise: its path, file hash and decoded pixels (at the chosen size)."""

    path: Path
    sha256: str
    pixels: np.ndarray = field(repr=False)


@dataclass
class Realigned:
    """What :func:`realign` made: the set's id, its folder, and (file, reason) for each photo it could not use."""

    set_id: str
    folder: Path
    written: int
    failed: list[tuple[str, str]]


def downsized(image: np.ndarray, size: int | None) -> np.ndarray:
    """The image with its longer side cut to ``size`` px (area filter); never up-sampled; None: native."""
    longer = max(image.shape[:2])
    if size is None or longer <= size:
        return image
    import cv2

    h, w = image.shape[:2]
    return cv2.resize(image, (round(w * size / longer), round(h * size / longer)), interpolation=cv2.INTER_AREA)


def read_sources(paths: Sequence[str | Path], limit: int | None = None) -> tuple[list[tuple[Path, str]], list[tuple[str, str]]]:
    """The image files in ``paths`` (folders: their images, sorted) as (path, file sha256), up to ``limit``,
    and (path, one-line reason) for each one that cannot be read."""
    found, failed = [], []
    for path, problem in iter_media(paths, exts=IMAGE_EXTS):
        if problem:
            failed.append((str(path), problem))
        elif limit is None or len(found) < limit:
            found.append((path, hashlib.sha256(path.read_bytes()).hexdigest()))
    return found, failed


def load_source(path: Path, sha: str, size: int | None) -> Source:
    """A photo decoded to RGB (ImageError with a one-line reason when it cannot be)."""
    return Source(path, sha, downsized(decode(path.read_bytes()), size))


def realign_config(family: str, size: str | int, sets: Sequence[str] = (), **given: Any
                   ) -> tuple[AutoencoderConfig, int | None]:
    """The autoencoder config of a family with ``key=value`` overrides (and keyword ones) and the photo size
    (``native``: None), each checked; a ValueError names what is wrong."""

    cfg = override(AutoencoderConfig(family=family, **given), sets)
    cfg.validate()
    if str(size) == "native":
        return cfg, None
    if not str(size).isdigit() or int(size) < 2 ** cfg.ups:
        raise ValueError(f"--size must be native or a whole number of px >= {2 ** cfg.ups}, got {size!r}")
    return cfg, int(size)


def _autoencoder(folder: Path, cfg: AutoencoderConfig, train_paths: Sequence[tuple[Path, str]], size: int | None,
                 device: torch.device, progress: bool, time_budget: float | None) -> tuple[Autoencoder, bytes, dict[str, Any]]:
    """The folder's saved autoencoder when it has one of ``cfg`` (an error for another config), else one
    trained now on ``train_paths`` and saved."""
    weights = folder / WEIGHTS
    if weights.exists():
        data = weights.read_bytes()
        if config_of(data) != cfg:
            raise ValueError(f"{folder} holds a set made with another autoencoder ({config_of(data)}); "
                             f"give another --out or the same settings")
        return load_autoencoder(data, device), data, {"resumed": True}
    from tqdm import tqdm

    images = []
    for path, sha in train_paths:
        try:
            images.append(load_source(path, sha, size).pixels)
        except (OSError, ImageError):
            continue  # reported when its turn to be re-synthesised comes
    with tqdm(total=cfg.steps, desc=f"training {cfg.family} autoencoder", unit="step", disable=not progress) as bar:
        def step(_: int, loss: float) -> None:
            bar.set_postfix(l1=f"{loss:.4f}", refresh=False)
            bar.update(1)

        model, summary = train_autoencoder(cfg, images, device, step, time_budget)
    data = save_autoencoder(model)
    atomic_write_bytes(weights, data)
    return model, data, summary


def _filename(stem: str, sha: str, taken: set[str]) -> str:
    name = f"{stem}.png"
    return name if name not in taken else f"{stem}-{sha[:12]}.png"


def realign(ws: Workspace, sources: Sequence[str | Path], out: str | Path, cfg: AutoencoderConfig, *,
            size: int | None = None, limit: int | None = None, train_images: int = 64, time_budget: float | None = None,
            tile: int = 0,
            name: str | None = None, labels: str | Sequence[str] = ALIGNED_LABELS, stamper: Stamper | None = None,
            subjects: Sequence[str] = (), device: str = "cpu", progress: bool = True) -> Realigned:
    """Re-synthesise every photo of ``sources`` (files or folders) through a ``cfg.family`` autoencoder into
    ``out/<family>/`` and register that folder as a sample set (label ``synthetic``, lineage: each source's
    path and file hash, the autoencoder's config, weights hash and training); returns what was made.

    The autoencoder trains on crops of the first ``train_images`` photos, for ``cfg.steps`` steps or
    ``time_budget`` seconds, whichever ends first. ``size`` cuts each photo's longer
    side first (None: native, never up-sampled); ``tile`` > 0 runs large photos in tiles of that many px.
    ``subjects``: the people the photos show (editing consent, by the workspace's policy)."""
    from tqdm import tqdm

    cfg.validate()
    paths, failed = read_sources(sources, limit)
    if not paths:
        raise ValueError(f"no readable photos in {', '.join(map(str, sources))}")
    folder = Path(out) / cfg.family
    folder.mkdir(parents=True, exist_ok=True)
    name = name or f"aligned-{cfg.family}-{hashlib.sha256(''.join(s for _, s in paths).encode()).hexdigest()[:8]}"
    if any(r.name == name for r in ws.catalog.list("samples")):
        raise ValueError(f"a sample set named {name!r} already exists; pass another name")
    dev = pick_device(device)
    model, weights, training = _autoencoder(folder, cfg, paths[:train_images], size, dev, progress, time_budget)
    sha = hashlib.sha256(weights).hexdigest()
    rows = [r for r in (read_jsonl(folder / MANIFEST) if (folder / MANIFEST).exists() else [])
            if (folder / r["file"]).exists()]
    done = {r["source_sha256"] for r in rows}
    written = 0
    with stamper_for(ws, labels, stamper, subjects, "editing", f"re-synthesis with a {cfg.family} autoencoder",
                     "edited") as stamp, tqdm(total=len(paths), initial=len(done & {s for _, s in paths}),
                                              desc=f"re-synthesising ({cfg.family})", unit="img",
                                              disable=not progress) as bar:
        for path, source_sha in paths:
            if source_sha in done:
                continue
            try:
                src = load_source(path, source_sha, size)
            except (OSError, ImageError) as exc:
                failed.append((str(path), str(exc).splitlines()[0]))
                bar.update(1)
                continue
            rows.append(_one(model, src, stamp, folder, cfg, sha, tile, {r["file"] for r in rows}))
            done.add(source_sha)
            atomic_write_jsonl(folder / MANIFEST, rows)
            written += 1
            bar.update(1)
        params = {"family": f"aligned-{cfg.family}", "decoder": cfg.family, "autoencoder": asdict(cfg),
                  "checkpoint_sha256": sha, "training": training, "sources": [str(s) for s in sources],
                  "size": size or "native", "tile": tile, "psnr_mean": float(np.mean([r["psnr"] for r in rows])),
                  "count": len(rows)}
        set_id = ws.catalog.add("samples", name, params, path=folder).id
    return Realigned(set_id, folder, written, failed)


def _one(model: Autoencoder, src: Source, stamp: Stamper, folder: Path, cfg: AutoencoderConfig, sha: str,
         tile: int, taken: set[str]) -> dict[str, Any]:
    """Re-synthesise one photo, stamp it as an edit of its source, write it; its manifest row."""
    key = int.from_bytes(bytes.fromhex(src.sha256[:8]), "big")
    start = time.perf_counter()
    pixels = resynthesise(model, src.pixels, seed=key, tile=tile)
    seconds = time.perf_counter() - start
    meta = {"family": f"aligned-{cfg.family}", "run_id": None, "checkpoint_sha256": sha, "seed": key,
            "latent_index": 0, "condition": None, "size": int(max(pixels.shape[:2])),
            "parent": (src.path.read_bytes(), FORMATS.get(src.path.suffix.lower(), "png"))}
    data, extra = stamp(pixels, "png", meta)
    filename = _filename(src.path.stem, src.sha256, taken)
    atomic_write_bytes(folder / filename, data)
    return {"file": filename, "label": "synthetic", "split": split_of(key),
            "sha256": pixel_sha256(pixels), "family": f"aligned-{cfg.family}", "decoder": cfg.family,
            "checkpoint_sha256": sha, "source": str(src.path), "source_sha256": src.sha256,
            "width": int(pixels.shape[1]), "height": int(pixels.shape[0]), "psnr": round(psnr(src.pixels, pixels), 3),
            "seconds": round(seconds, 3), "format": "png", **extra}
