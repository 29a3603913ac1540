"""Looking inside a trained generator: style-mixing grids and latent interpolation strips, each one
image written atomically and stamped at birth like any sample."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

import torch

from assay.core.devices import pick_device
from assay.core.fileio import atomic_write_bytes
from assay.core.workspace import Workspace
from assay.forge.conditions import fill_condition, keys_of
from assay.forge.grids import tile
from assay.forge.networks import LatentGenerator, mix_styles
from assay.forge.sampling import (
    DEFAULT_LABELS,
    Stamper,
    latent,
    load_latent_generator,
    run_subjects,
    run_waiver,
    stamper_for,
)


def _stamp(ws: Workspace, rec: Any, cfg: Any, pointer: dict[str, Any], images: torch.Tensor, nrow: int, what: str,
           out: Path, labels: str | Sequence[str], stamper: Stamper | None) -> Path:
    """Tile ``images``, stamp the grid (content id from the run's checkpoint and ``what``) and write it."""
    key = int.from_bytes(hashlib.sha256(what.encode()).digest()[:4], "big")
    meta = {"family": cfg.model, "run_id": rec.id, "checkpoint_sha256": pointer["weights_sha256"], "seed": key,
            "latent_index": 0, "condition": None, "size": cfg.size}
    with stamper_for(ws, labels, stamper, run_subjects(ws, pointer), "generation", f"{what} from {rec.id}",
                     waiver=run_waiver(rec)) as stamp:
        data, _ = stamp(tile(images, nrow), out.suffix.lstrip(".").lower() or "png", meta)
        atomic_write_bytes(out, data)
    return out


def mix_grid(g: LatentGenerator, cfg: Any, rows: Sequence[int], cols: Sequence[int], layer: int = 4,
             truncation: float = 1.0) -> torch.Tensor:
    """The style-mixing grid's images (len(rows) + 1 rows of len(cols) + 1, row-major, in [-1, 1]): the top row
    shows the column seeds, the left column the row seeds; cell (i, j) takes the coarse styles (layers below
    ``layer``) from row seed i and the fine ones from column seed j."""
    if not g.num_ws:
        raise ValueError(f"a {cfg.model} run has no style layers to mix; train a stylegan or stylegan2")
    if not rows or not cols:
        raise ValueError("give at least one row seed and one column seed")
    if not 1 <= layer < g.num_ws:
        raise ValueError(f"layer must be in 1..{g.num_ws - 1} for this generator, got {layer}")
    dev = next(g.parameters()).device
    with torch.no_grad():
        w_rows = g.styles(torch.stack([latent(s, 0, cfg.z_dim) for s in rows]).to(dev), truncation)
        w_cols = g.styles(torch.stack([latent(s, 0, cfg.z_dim) for s in cols]).to(dev), truncation)
        top = g.synthesis(w_cols)
        cells = [torch.full_like(top[:1], -1.0), top]
        for i in range(len(rows)):
            a = w_rows[i:i + 1].expand(len(cols), -1, -1)
            cells += [g.synthesis(w_rows[i:i + 1]), g.synthesis(mix_styles(a, w_cols, layer))]
    return torch.cat(cells)


def mix(ws: Workspace, run: str, rows: Sequence[int], cols: Sequence[int], out: str | Path, *, layer: int = 4,
        truncation: float = 1.0, labels: str | Sequence[str] = DEFAULT_LABELS, stamper: Stamper | None = None,
        device: str = "cpu") -> Path:
    """Write the :func:`mix_grid` of a StyleGAN run as one stamped image."""
    rec = ws.resolve(run, "runs")
    g, cfg, pointer = load_latent_generator(Path(rec.path or ""), pick_device(device))
    images = mix_grid(g, cfg, rows, cols, layer, truncation)
    what = f"mix rows={list(rows)} cols={list(cols)} layer={layer} psi={truncation}"
    return _stamp(ws, rec, cfg, pointer, images, len(cols) + 1, what, Path(out), labels, stamper)


def interpolation(g: LatentGenerator, cfg: Any, seeds: Sequence[int], steps: int, truncation: float = 1.0,
                  given: dict[str, int] | None = None) -> torch.Tensor:
    """``steps`` images (in [-1, 1]) from seed A's latent 0 to seed B's, by the generator's own interpolation
    and truncation (in W for StyleGAN, in z otherwise); a conditional run keeps seed A's condition, with the
    keys in ``given`` fixed."""
    if len(seeds) != 2 or steps < 2:
        raise ValueError("give two seeds (--seeds A B) and at least 2 steps")
    dev = next(g.parameters()).device
    z_a, z_b = (latent(s, 0, cfg.z_dim)[None].to(dev) for s in seeds)
    keys = keys_of(cfg.cond_keys)
    cond = torch.tensor([fill_condition(given or {}, keys, seeds[0], 0)] * steps, device=dev) if keys else None
    with torch.no_grad():
        return g.interpolate(z_a, z_b, torch.linspace(0, 1, steps, device=dev), truncation, cond)


def interpolate(ws: Workspace, run: str, seeds: Sequence[int], steps: int, out: str | Path, *, truncation: float = 1.0,
                labels: str | Sequence[str] = DEFAULT_LABELS, stamper: Stamper | None = None,
                device: str = "cpu") -> Path:
    """Write the :func:`interpolation` strip of a run as one stamped image."""
    rec = ws.resolve(run, "runs")
    g, cfg, pointer = load_latent_generator(Path(rec.path or ""), pick_device(device))
    images = interpolation(g, cfg, seeds, steps, truncation)
    what = f"interpolate seeds={list(seeds)} steps={steps} psi={truncation}"
    return _stamp(ws, rec, cfg, pointer, images, steps, what, Path(out), labels, stamper)
