"""Sampling a trained generator into a labelled synthetic image set (catalog kind ``samples``).

Same run checkpoint + same seed -> same pixels: latent ``i`` is drawn from a generator seeded by
(seed, i) and every batch has the same shape. Each image is stamped at birth by a
:class:`Stamper` (default: provenance's birth stamper with the chosen labels), so a synthetic
set never exists unlabelled.
"""

from __future__ import annotations

import base64
import hashlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Protocol, Sequence

import numpy as np
import torch

from assay.core.catalog import Record
from assay.core.devices import pick_device
from assay.core.engines import Engine
from assay.core.fileio import read_json
from assay.core.imageio import pixel_sha256
from assay.core.imagesets import ImageSetWriter
from assay.core.workspace import Workspace
from assay.forge import checkpoint
from assay.forge.conditions import describe, fill_condition, keys_of, parse_condition
from assay.forge.config import GanConfig, load_config
from assay.forge.data import to_uint8
from assay.forge.networks import GENERATORS, LatentGenerator, construct
from assay.forge.schedule import lod_at, set_lod
from assay.provenance import LABELS, dataset_subjects, require_consent, stamping

FORMATS = ("png", "jpg")
SAMPLE_BATCH = 32
#: every label by default; ("c2pa", "xmp") leaves the generated pixels untouched, which is what a
#: detector's training set needs (a visible mark or a watermark would be learnt as the "fake" cue)
DEFAULT_LABELS = LABELS


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


def load_generator(run_dir: Path, device: torch.device,
                   which: str = "latest") -> tuple[torch.nn.Module, GanConfig, dict[str, Any]]:
    """The sampling generator of a run's ``latest`` checkpoint or its ``best`` one by the training-time eval
    (EMA weights when the run kept them), in eval mode, at the level of detail its resolution schedule had
    reached."""
    saved = read_json(run_dir / checkpoint.CONFIG)
    cfg = load_config(saved)
    pointer = checkpoint.pointer_of(run_dir, which)
    if pointer is None:
        hint = " (train with --set eval_every=K to keep the best one)" if which == "best" else ""
        raise FileNotFoundError(f"run folder {run_dir} has no {which} checkpoint to sample from{hint}")
    models, _ = checkpoint.load(run_dir, pointer, map_location=device, with_optimizer=False)
    g = construct(GENERATORS, cfg.g.name, cfg.g_options([k.n for k in keys_of(cfg.cond_keys)]))
    g.load_state_dict(models.get("EMA", models["G"]))
    if cfg.grow:
        set_lod([g], lod_at(pointer["step"], cfg.size, cfg.grow, cfg.grow_from))
    return g.to(device).eval(), cfg, {**pointer, "dataset": saved.get("dataset")}


def load_latent_generator(run_dir: Path, device: torch.device,
                          which: str = "latest") -> tuple[LatentGenerator, GanConfig, dict[str, Any]]:
    """:func:`load_generator` for commands that draw latents; a ValueError for an image-to-image run."""
    g, cfg, pointer = load_generator(run_dir, device, which)
    if not isinstance(g, LatentGenerator):
        raise ValueError(f"a {cfg.model} run turns images into images, not latents into images; "
                         f"use `assay forge upscale`")
    return g, cfg, pointer


def run_subjects(ws: Workspace, pointer: dict[str, Any]) -> list[str]:
    """The subjects whose faces trained the checkpoint ``pointer`` names (from its data set)."""
    return dataset_subjects(ws, pointer["dataset"]) if pointer.get("dataset") else []


def run_waiver(rec: Record) -> dict[str, Any] | None:
    """The consent waiver a run trained under: why it used real people's faces without consent records."""
    return rec.params.get("consent_waiver")


@contextmanager
def stamper_for(ws: Workspace, labels: str | Sequence[str], stamper: Stamper | None, subjects: Sequence[str],
                scope: str, what: str, source_type: str = "created", waiver: dict[str, Any] | None = None
                ) -> Iterator[Stamper]:
    """Require the ``subjects``' consent for ``scope`` (refused or warned, by the workspace's
    policy; subjects with no record pass under the run's ``waiver``), then give ``stamper`` or,
    when None, provenance's stamper with ``labels`` (at least one) for output that is
    ``source_type`` (created, or edited: an AI edit of a real input), whose manifests reference
    that consent (and the waiver) and whose records are published when the block ends without
    an error."""
    consent = require_consent(ws, subjects, scope, what=what, waiver=waiver)
    if stamper is not None:
        yield stamper
        return
    with stamping(ws, labels, source_type, consent=consent) as default:
        yield default


def generate_batch(g: LatentGenerator, cfg: GanConfig, start: int, stop: int, seed: int = 0,
                   truncation: float = 1.0, given: dict[str, int] | None = None
                   ) -> tuple[np.ndarray, list[list[int]] | None]:
    """The images (N x H x W x 3 uint8) and condition indices (or None) of latents ``start`` to
    ``stop - 1``: always a full batch of :data:`SAMPLE_BATCH` latents from ``start``, cut at ``stop``,
    so the same latent gets the same pixels however the batches are shared out."""
    keys = keys_of(cfg.cond_keys)
    dev = next(g.parameters()).device
    idx = list(range(start, start + SAMPLE_BATCH))
    z = torch.stack([latent(seed, i, cfg.z_dim) for i in idx])
    conds = [fill_condition(given or {}, keys, seed, i) for i in idx] if keys else None
    with torch.no_grad():
        out = g.truncated(z.to(dev), torch.tensor(conds, device=dev) if conds else None, truncation)
    return to_uint8(out)[: stop - start], conds[: stop - start] if conds else None


def generate(g: LatentGenerator, cfg: GanConfig, n: int, seed: int = 0, truncation: float = 1.0,
             given: dict[str, int] | None = None) -> Iterator[tuple[int, np.ndarray, list[int] | None]]:
    """(latent index, H x W x 3 uint8 image, condition indices or None) for latents 0..n-1 of ``seed``."""
    for start in range(0, n, SAMPLE_BATCH):
        images, conds = generate_batch(g, cfg, start, min(start + SAMPLE_BATCH, n), seed, truncation, given)
        for j, image in enumerate(images):
            yield start + j, image, conds[j] if conds else None


@dataclass
class SampleTask:
    """Generating as a batch job (:class:`assay.core.engines.Task`): item = {start, stop}, the latent
    indices of one batch (:func:`generate_batch`); result = its images (uint8, base64) and conditions."""

    run_dir: str
    which: str
    seed: int
    truncation: float
    given: dict[str, int]
    device: str
    wants_gpu = True

    def setup(self) -> None:
        self.g, self.cfg, _ = load_latent_generator(Path(self.run_dir), pick_device(self.device), self.which)

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        images, conds = generate_batch(self.g, self.cfg, item["start"], item["stop"], self.seed, self.truncation,
                                       self.given)
        return {"start": item["start"], "stop": item["stop"], "shape": list(images.shape), "conds": conds,
                "pixels": base64.b64encode(np.ascontiguousarray(images).tobytes()).decode("ascii")}


def sample(ws: Workspace, run: str, n: int, *, seed: int = 0, truncation: float = 1.0,
           condition: Sequence[str] | dict[str, Any] | None = None, fmt: str = "png", name: str | None = None,
           labels: str | Sequence[str] = DEFAULT_LABELS, stamper: Stamper | None = None, device: str = "cpu",
           which_checkpoint: str = "latest", progress: bool = True, engine: Engine | None = None) -> str:
    """Generate ``n`` images from a run into a new sample set; returns its id.

    Every image is stamped at birth: by ``stamper`` when given, else by provenance's birth
    stamper with ``labels`` (some of visible, watermark, xmp, c2pa; at least one). ``which_checkpoint`` is
    ``latest`` or ``best`` (the best by the training-time eval, ``eval_every``).
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
    _, cfg, pointer = load_latent_generator(Path(rec.path or ""), pick_device(device), which_checkpoint)
    with stamper_for(ws, labels, stamper, run_subjects(ws, pointer), "generation", f"sampling {rec.id}",
                     waiver=run_waiver(rec)) as stamper:
        keys = keys_of(cfg.cond_keys)
        given = parse_condition(condition, keys)
        sha = pointer["weights_sha256"]
        name = name or f"{rec.name}-s{seed}-n{n}-{sha[:8]}" + (f"-t{truncation:g}" if truncation != 1 else "") + \
            ("-" + "-".join(f"{k}{v}" for k, v in sorted(given.items())) if given else "")
        if any(r.name == name for r in ws.catalog.list("samples")):
            raise ValueError(f"a sample set named {name!r} already exists; pass another name")
        writer = ImageSetWriter(ws, "samples", name)
        task = SampleTask(str(rec.path), which_checkpoint, seed, truncation, given, device)
        batches = [{"start": start, "stop": min(start + SAMPLE_BATCH, n)} for start in range(0, n, SAMPLE_BATCH)]
        with tqdm(total=n, desc=f"sampling {rec.id}", unit="img", disable=not progress) as bar:
            for batch in (engine or Engine(workers=1)).map(task, batches):
                images = np.frombuffer(base64.b64decode(batch["pixels"]), np.uint8).reshape(batch["shape"])
                for j, image in enumerate(images):
                    i = batch["start"] + j
                    cond = describe(batch["conds"][j], keys) if batch["conds"] else None
                    meta = {"family": cfg.model, "run_id": rec.id, "checkpoint_sha256": sha, "seed": seed,
                            "latent_index": i, "condition": cond, "size": cfg.size}
                    row = {**meta, "label": "synthetic", "split": split_of(i), "sha256": pixel_sha256(image),
                           "truncation": truncation, "format": fmt}
                    data, extra = stamper(image, fmt, dict(meta))
                    writer.add_bytes(data, {**row, **extra}, f"{i:06d}.{fmt}")
                    bar.update(1)
        params = {"run_id": rec.id, "family": cfg.model, "checkpoint_sha256": sha, "checkpoint_step": pointer["step"],
                  "checkpoint": which_checkpoint,
                  "seed": seed, "n": n, "truncation": truncation, "condition": describe_given(given, keys),
                  "format": fmt, "size": cfg.size}
        parents = [rec.id] + ([pointer["dataset"]] if pointer.get("dataset") else [])
        set_id = writer.commit(params, parents).id  # the images exist now: their records become ready
    return set_id


def describe_given(given: dict[str, int], keys: Sequence[Any]) -> dict[str, Any] | None:
    """The user-fixed part of the condition as canonical values (None when nothing was fixed)."""
    if not given:
        return None
    return {k.name: k.classes[given[k.name]] for k in keys if k.name in given}
