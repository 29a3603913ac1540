"""Checkpoints in a run folder: ``checkpoints/step-NNNNNNN/`` holds ``weights.safetensors`` (G, D and EMA
tensors) and ``optimizer.pt``; ``checkpoints/latest.json``, written last and atomically, names the
complete one. A crash mid-save leaves the previous checkpoint in force."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import torch

from assay.core.fileio import (
    atomic_path,
    atomic_write_bytes,
    atomic_write_json,
    read_json,
    sha256_file,
)

#: a run folder: its resolved config and its metrics log, beside ``checkpoints/``
CONFIG = "config.json"
METRICS = "metrics.jsonl"
WEIGHTS = "weights.safetensors"
OPTIMIZER = "optimizer.pt"
LATEST = "latest.json"
BEST = "best.json"
CHECKPOINTS = ("latest", "best")


def _flat(models: dict[str, dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v.detach().cpu().contiguous() for prefix, sd in models.items() for k, v in sd.items()}


def split(tensors: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    """{"G.x": t, "D.y": u} -> {"G": {"x": t}, "D": {"y": u}}."""
    out: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        prefix, name = key.split(".", 1)
        out.setdefault(prefix, {})[name] = value
    return out


def save(run_dir: Path, step: int, models: dict[str, dict[str, torch.Tensor]], optim: dict[str, Any],
         meta: dict[str, str], keep: int = 2) -> dict[str, Any]:
    """Write one checkpoint and point ``latest.json`` at it; keep the newest ``keep``. Returns the pointer."""
    root = run_dir / "checkpoints"
    folder = root / f"step-{step:07d}"
    sha = _write_weights(folder, models, meta)
    buf = io.BytesIO()
    torch.save(optim, buf)
    atomic_write_bytes(folder / OPTIMIZER, buf.getvalue())
    pointer = {"step": step, "dir": folder.name, "weights_sha256": sha}
    atomic_write_json(root / LATEST, pointer)
    for old in sorted(p for p in root.glob("step-*") if p.is_dir())[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return pointer


def save_best(run_dir: Path, step: int, models: dict[str, dict[str, torch.Tensor]], meta: dict[str, str],
              score: dict[str, float]) -> dict[str, Any]:
    """Keep the weights of the best checkpoint so far (by an eval ``score``) in ``checkpoints/best/``,
    outside the rotation; ``best.json`` (written last) points at them. Returns the pointer."""
    root = run_dir / "checkpoints"
    sha = _write_weights(root / "best", models, meta)
    pointer = {"step": step, "dir": "best", "weights_sha256": sha, **score}
    atomic_write_json(root / BEST, pointer)
    return pointer


def _write_weights(folder: Path, models: dict[str, dict[str, torch.Tensor]], meta: dict[str, str]) -> str:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder / WEIGHTS) as tmp:
        save_file(_flat(models), str(tmp), metadata={k: str(v) for k, v in meta.items()})
    return sha256_file(folder / WEIGHTS)


def latest(run_dir: Path) -> dict[str, Any] | None:
    """The pointer to the newest complete checkpoint, or None."""
    return pointer_of(run_dir, "latest")


def pointer_of(run_dir: Path, which: str = "latest") -> dict[str, Any] | None:
    """The pointer to the ``latest`` checkpoint or the ``best`` one by the training-time eval, or None."""
    if which not in CHECKPOINTS:
        raise ValueError(f"checkpoint must be one of {CHECKPOINTS}, got {which!r}")
    path = run_dir / "checkpoints" / (LATEST if which == "latest" else BEST)
    return read_json(path) if path.exists() else None


def load(run_dir: Path, pointer: dict[str, Any] | None = None, map_location: str | torch.device = "cpu",
         with_optimizer: bool = True) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, Any] | None]:
    """Model state dicts by prefix (G, D, EMA) and the optimizer state of a checkpoint (default: latest)."""
    from safetensors.torch import load_file

    pointer = pointer or latest(run_dir)
    if pointer is None:
        raise FileNotFoundError(f"run folder {run_dir} has no checkpoint yet")
    folder = run_dir / "checkpoints" / pointer["dir"]
    models = split(load_file(str(folder / WEIGHTS), device=str(map_location)))
    optim = torch.load(folder / OPTIMIZER, map_location=map_location, weights_only=True) if with_optimizer else None
    return models, optim
