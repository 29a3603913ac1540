"""Super-resolution with a trained SRGAN run: upscaling files (AI edits of their parents, stamped with the
parent as ingredient) and evaluation against bicubic upsampling (PSNR, SSIM, identity similarity)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from assay.core.devices import pick_device
from assay.core.errors import InputError
from assay.core.fileio import atomic_write_bytes
from assay.core.imageio import ImageError, decode
from assay.core.imagesets import open_set
from assay.core.workspace import Workspace
from assay.forge.data import FaceBatches, resize, to_float, to_uint8
from assay.forge.networks.srgan import SRResNet, bicubic_up, downsample
from assay.forge.sampling import DEFAULT_LABELS, Stamper, load_generator, stamper_for
from assay.provenance import FORMATS


def _load_sr(ws: Workspace, run: str, device: str) -> tuple[Any, SRResNet, Any, dict[str, Any]]:
    rec = ws.resolve(run, "runs")
    g, cfg, pointer = load_generator(Path(rec.path or ""), pick_device(device))
    if not isinstance(g, SRResNet):
        raise ValueError(f"run {rec.id} ({cfg.model}) does not upscale images; train an srgan run")
    return rec, g, cfg, pointer


def upscale(ws: Workspace, run: str, images: Sequence[str | Path], out_dir: str | Path, *,
            labels: str | Sequence[str] = DEFAULT_LABELS, stamper: Stamper | None = None, device: str = "cpu",
            subjects: Sequence[str] = ()) -> tuple[list[Path], list[tuple[str, str]]]:
    """Upscale each image (resized to the run's input size, size / g.factor px) into ``out_dir`` as
    ``<name>-x<factor>.png``, stamped as an AI edit with the file as its parent ingredient.

    ``subjects`` are the people the photos show: editing needs their editing consent (refused
    or warned, by the workspace's policy). Returns the written paths and (file, reason) for
    each file that could not be used."""
    rec, g, cfg, pointer = _load_sr(ws, run, device)
    out = Path(out_dir)
    low = cfg.size // g.factor
    dev = next(g.parameters()).device
    written, failed = [], []
    with stamper_for(ws, labels, stamper, subjects, "editing", f"upscaling with {rec.id}", "edited") as stamp:
        for path in map(Path, images):
            fmt = FORMATS.get(path.suffix.lower())
            try:
                if fmt is None:
                    raise ImageError(f"not png, jpg or webp ({path.suffix or 'no suffix'})")
                parent = path.read_bytes()
                x = to_float(torch.from_numpy(resize(decode(parent), low)).permute(2, 0, 1)[None].contiguous())
            except (OSError, ImageError) as exc:
                failed.append((str(path), str(exc).splitlines()[0]))
                continue
            with torch.no_grad():
                pixels = to_uint8(g(x.to(dev)))[0]
            key = int.from_bytes(hashlib.sha256(parent).digest()[:4], "big")
            meta = {"family": cfg.model, "run_id": rec.id, "checkpoint_sha256": pointer["weights_sha256"], "seed": key,
                    "latent_index": 0, "condition": None, "size": cfg.size, "parent": (parent, fmt)}
            data, _ = stamp(pixels, "png", meta)
            target = out / f"{path.stem}-x{g.factor}.png"
            atomic_write_bytes(target, data)
            written.append(target)
    return written, failed


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio (dB) of two uint8 images."""
    from skimage.metrics import peak_signal_noise_ratio

    return float(peak_signal_noise_ratio(a, b, data_range=255))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity of two uint8 RGB images."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, channel_axis=2, data_range=255))


def face_embedding(image: np.ndarray) -> np.ndarray:
    """dlib's 128-d embedding of an aligned face crop that fills the image (no detection: small crops)."""
    from assay.core.faces import embed, landmarks_in_box

    box = (0, 0, image.shape[1] - 1, image.shape[0] - 1)
    return embed(image, landmarks_in_box(image, box), box)


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between dlib face embeddings of two aligned face crops (same person: < 0.6)."""
    return float(np.linalg.norm(face_embedding(a) - face_embedding(b)))


def evaluate(ws: Workspace, run: str, dataset: str | None = None, *, n: int = 64, split: str = "test",
             identity: bool = True, device: str = "cpu") -> dict[str, dict[str, float]]:
    """Mean PSNR, SSIM and (with ``identity``) dlib identity distance to the ground truth over ``n`` images
    of a prepared set's ``split`` (default: the run's training set) at the run's size, for the run's output
    and for bicubic upsampling."""
    if n < 1:
        raise InputError(f"--n must be >= 1, got {n}")
    rec, g, cfg, _ = _load_sr(ws, run, device)
    ds = open_set(ws, dataset or str(rec.params.get("dataset") or ""))
    if not ds.select(split):
        splits = sorted({str(r.get("split")) for r in ds.rows})
        raise InputError(f"data set {ds.record.id} has no images in split {split!r}; it has {', '.join(splits)}")
    data = FaceBatches(ds, cfg.size, split=split)
    real, _ = data.batch(torch.arange(min(n, len(data))))
    hr = to_float(real)
    lr = downsample(hr, g.factor)
    with torch.no_grad():
        outputs = {cfg.model: to_uint8(g(lr.to(next(g.parameters()).device))),
                   "bicubic": to_uint8(bicubic_up(lr, g.factor))}
    truth = to_uint8(hr)
    report = {}
    for name, imgs in outputs.items():
        row = {"psnr": float(np.mean([psnr(t, o) for t, o in zip(truth, imgs)])),
               "ssim": float(np.mean([ssim(t, o) for t, o in zip(truth, imgs)]))}
        if identity:
            row["identity_distance"] = float(np.mean([identity_distance(t, o) for t, o in zip(truth, imgs)]))
        report[name] = {**row, "images": len(truth)}
    return report


def reading(report: dict[str, dict[str, float]]) -> str:
    """One line: on each measure, whether the run or bicubic upsampling is closer to the ground truth."""
    run = next(k for k in report if k != "bicubic")
    better = {"psnr": max, "ssim": max, "identity_distance": min}
    parts = []
    for key, pick in better.items():
        if key in report[run]:
            a, b = report[run][key], report["bicubic"][key]
            parts.append(f"{key} {run if pick(a, b) == a and a != b else 'bicubic' if a != b else 'tie'}")
    return f"closer to the ground truth ({report[run]['images']} images): " + ", ".join(parts)
