"""Sampling a trained generator into a labelled synthetic image set (catalog kind ``samples``).

Same run checkpoint + same seed -> same pixels: latent ``i`` is drawn from a generator seeded by
(seed, i) and every batch has the same shape. Each image is stamped at birth by a
:class:`Stamper` (default: provenance's birth stamper with the chosen labels), so a synthetic
set never exists unlabelled.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
import torch

from assay.core.config import from_dict
from assay.core.devices import pick_device
from assay.core.engines import Engine
from assay.core.fileio import read_json
from assay.core.imageio import pixel_sha256
from assay.core.imagesets import ImageSetWriter
from assay.core.workspace import Workspace
from forge import checkpoint
from forge.conditions import describe, fill_condition, keys_of, parse_condition
from forge.config import GanConfig
from forge.data import to_uint8
from forge.models import GENERATORS, LatentGenerator, construct
from forge.schedule import lod_at, set_lod
from forge.train import CONFIG
from provenance.birth import make_birth_stamper
from provenance.policy import dataset_subjects, require_consent
from provenance.stamping import StampOptions, parse_labels

FORMATS = ("png", "jpg")
SAMPLE_BATCH = 32
#: every label by default; ("c2pa", "xmp") leaves the generated pixels untouched, which is what a
#: detector's training set needs (a visible mark or a watermark would be learnt as the "fake" cue)
DEFAULT_LABELS = ("visible", "watermark", "xmp", "c2pa")


class Stamper(Protocol):
    """The provenance hook: stamps each generated image at birth.

    Called once per image with ``pixels`` (H x W x 3 uint8 RGB, the generator's output), ``fmt``
    ("png" or "jpg") and ``meta`` (family, run_id, checkpoint_sha256, seed, latent_index,
    condition, size). Returns the encoded file bytes (e.g. with a C2PA manifest and watermark)
    and extra manifest fields merged into the image's row. The row's ``sha256`` is always that
    of the generated pixels, before stamping.
    """

    def __call__(self, pixels: np.ndarray, fmt: str, meta: dict[str, Any]) -> tuple[bytes, dict[str, Any]]: ...


def split_of(latent_index: int) -> str:
    """train/val/test (80/10/10) from a hash of the latent index: stable across sets and runs."""
    bucket = int.from_bytes(hashlib.sha256(str(latent_index).encode()).digest()[:4], "big") % 10
    return "train" if bucket < 8 else ("val" if bucket == 8 else "test")


def latent(seed: int, index: int, z_dim: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed * 1_000_003 + index)
    return torch.randn(z_dim, generator=g)


def load_generator(run_dir: Path, device: torch.device) -> tuple[torch.nn.Module, GanConfig, dict[str, Any]]:
    """The sampling generator of a run's latest checkpoint (EMA weights when the run kept them), in eval mode,
    at the level of detail its resolution schedule had reached."""
    saved = read_json(run_dir / CONFIG)
    cfg = from_dict(GanConfig, saved)
    pointer = checkpoint.latest(run_dir)
    if pointer is None:
        raise FileNotFoundError(f"run folder {run_dir} has no checkpoint to sample from")
    models, _ = checkpoint.load(run_dir, pointer, map_location=device, with_optimizer=False)
    g = construct(GENERATORS, cfg.generator, cfg.g_options([k.n for k in keys_of(cfg.cond_keys)]))
    g.load_state_dict(models.get("EMA", models["G"]))
    if cfg.grow:
        set_lod([g], lod_at(pointer["step"], cfg.size, cfg.grow, cfg.grow_from))
    return g.to(device).eval(), cfg, {**pointer, "dataset": saved.get("dataset")}


def load_latent_generator(run_dir: Path, device: torch.device) -> tuple[LatentGenerator, GanConfig, dict[str, Any]]:
    """:func:`load_generator` for commands that draw latents; a ValueError for an image-to-image run."""
    g, cfg, pointer = load_generator(run_dir, device)
    if not isinstance(g, LatentGenerator):
        raise ValueError(f"a {cfg.model} run turns images into images, not latents into images; "
                         f"use `assay forge upscale`")
    return g, cfg, pointer


@dataclass
class SampleTask:
    """Generating as a batch job (:class:`assay.core.engines.Task`): item = {start, stop}, the latent
    indices of one batch; result = its images (uint8, base64) and conditions. Every batch has
    SAMPLE_BATCH latents whatever ``stop`` is, so any sharding of the batches gives the same pixels."""

    run_dir: str
    seed: int
    truncation: float
    given: dict[str, int]
    device: str
    wants_gpu = True

    def setup(self) -> None:
        self.dev = pick_device(self.device)
        self.g, self.cfg, _ = load_latent_generator(Path(self.run_dir), self.dev)
        self.keys = keys_of(self.cfg.cond_keys)

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        idx = list(range(item["start"], item["start"] + SAMPLE_BATCH))
        z = torch.stack([latent(self.seed, i, self.cfg.z_dim) for i in idx])
        conds = [fill_condition(self.given, self.keys, self.seed, i) for i in idx] if self.keys else None
        with torch.no_grad():
            out = self.g.truncated(z.to(self.dev), torch.tensor(conds, device=self.dev) if conds else None,
                                   self.truncation)
        images = np.ascontiguousarray(to_uint8(out)[: item["stop"] - item["start"]])
        return {"start": item["start"], "stop": item["stop"], "shape": list(images.shape),
                "pixels": base64.b64encode(images.tobytes()).decode("ascii"),
                "conds": conds[: len(images)] if conds else None}


def run_subjects(ws: Workspace, pointer: dict[str, Any]) -> list[str]:
    """The subjects whose faces trained the checkpoint ``pointer`` names (from its data set)."""
    return dataset_subjects(ws, pointer["dataset"]) if pointer.get("dataset") else []


def stamper_for(ws: Workspace, labels: str | Sequence[str], stamper: Stamper | None, subjects: Sequence[str],
                scope: str, what: str) -> Stamper:
    """Require the ``subjects``' consent for ``scope`` (refused or warned, by the workspace's
    policy), then return ``stamper`` or, when None, provenance's birth stamper with ``labels``
    (at least one), whose manifests reference that consent."""
    consent = require_consent(ws, subjects, scope, what=what)
    if stamper is not None:
        return stamper
    chosen = parse_labels(labels)
    if not chosen:
        raise ValueError(f"output is always labelled: give at least one of {', '.join(DEFAULT_LABELS)}")
    options = StampOptions(extra_assertions=[consent.assertion()], catalog_params=consent.catalog_params()) \
        if consent.records else None
    return make_birth_stamper(ws, chosen, options=options)


def sample(ws: Workspace, run: str, n: int, *, seed: int = 0, truncation: float = 1.0,
           condition: Sequence[str] | dict[str, Any] | None = None, fmt: str = "png", name: str | None = None,
           labels: str | Sequence[str] = DEFAULT_LABELS, stamper: Stamper | None = None, device: str = "cpu",
           progress: bool = True, engine: Engine | None = None) -> str:
    """Generate ``n`` images from a run into a new sample set; returns its id.

    Every image is stamped at birth: by ``stamper`` when given, else by provenance's birth
    stamper with ``labels`` (some of visible, watermark, xmp, c2pa; at least one).
    ``truncation`` (psi in [0, 1]) pulls latents toward the average one, as the generator defines it
    (z toward 0; w toward the tracked average w for StyleGAN). ``condition`` fixes
    some or all condition keys of a conditional run (e.g. ``["gender=female", "age=30"]``); the
    others are drawn per image from (seed, latent index). ``engine`` generates the batches
    (default: this process; ``Engine("ray", ...)`` shards them by latent index range over a Ray
    cluster, with the same pixels on the same device); stamping and writing stay here.
    """
    from tqdm import tqdm

    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not 0 <= truncation <= 1:
        raise ValueError(f"truncation must be in [0, 1], got {truncation}")
    rec = ws.resolve(run, "runs")
    if rec.status != "ready":
        raise ValueError(f"run {rec.id} is {rec.status}, not ready")
    _, cfg, pointer = load_latent_generator(Path(rec.path or ""), pick_device(device))  # refuses what cannot sample
    stamper = stamper_for(ws, labels, stamper, run_subjects(ws, pointer), "generation", f"sampling {rec.id}")
    keys = keys_of(cfg.cond_keys)
    given = parse_condition(condition, keys)
    sha = pointer["weights_sha256"]
    name = name or f"{rec.name}-s{seed}-n{n}-{sha[:8]}" + (f"-t{truncation:g}" if truncation != 1 else "") + \
        ("-" + "-".join(f"{k}{v}" for k, v in sorted(given.items())) if given else "")
    if any(r.name == name for r in ws.catalog.list("samples")):
        raise ValueError(f"a sample set named {name!r} already exists; pass another name")
    writer = ImageSetWriter(ws, "samples", name)
    task = SampleTask(str(rec.path), seed, truncation, given, device)
    batches = [{"start": start, "stop": min(start + SAMPLE_BATCH, n)} for start in range(0, n, SAMPLE_BATCH)]
    with tqdm(total=n, desc=f"sampling {rec.id}", unit="img", disable=not progress) as bar:
        for batch in (engine or Engine(workers=1)).map(task, batches):
            images = np.frombuffer(base64.b64decode(batch["pixels"]), np.uint8).reshape(batch["shape"])
            for j, i in enumerate(range(batch["start"], batch["stop"])):
                cond = describe(batch["conds"][j], keys) if batch["conds"] else None
                meta = {"family": cfg.model, "run_id": rec.id, "checkpoint_sha256": sha, "seed": seed,
                        "latent_index": i, "condition": cond, "size": cfg.size}
                row = {**meta, "label": "synthetic", "split": split_of(i), "sha256": pixel_sha256(images[j]),
                       "truncation": truncation, "format": fmt}
                data, extra = stamper(images[j], fmt, dict(meta))
                writer.add_bytes(data, {**row, **extra}, f"{i:06d}.{fmt}")
                bar.update(1)
    params = {"run_id": rec.id, "family": cfg.model, "checkpoint_sha256": sha, "checkpoint_step": pointer["step"],
              "seed": seed, "n": n, "truncation": truncation, "condition": describe_given(given, keys),
              "format": fmt, "size": cfg.size}
    parents = [rec.id] + ([pointer["dataset"]] if pointer.get("dataset") else [])
    return writer.commit(params, parents).id


def describe_given(given: dict[str, int], keys: Sequence[Any]) -> dict[str, Any] | None:
    """The user-fixed part of the condition as canonical values (None when nothing was fixed)."""
    if not given:
        return None
    return {k.name: k.classes[given[k.name]] for k in keys if k.name in given}
