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
from forge.sample import DEFAULT_LABELS, Stamper, latent, load_latent_generator, run_subjects, stamper_for
from forge.stylegan import StyleGenerator, mix_styles
from forge.grids import tile
from provenance.birth import publish


def _stamp(ws: Workspace, rec: Any, cfg: Any, pointer: dict[str, Any], images: torch.Tensor, nrow: int, what: str,
           out: Path, labels: str | Sequence[str], stamper: Stamper | None) -> Path:
    """Tile ``images``, stamp the grid (content id from the run's checkpoint and ``what``) and write it."""
    stamp = stamper_for(ws, labels, stamper, run_subjects(ws, pointer), "generation", f"{what} from {rec.id}")
    key = int.from_bytes(hashlib.sha256(what.encode()).digest()[:4], "big")
    meta = {"family": cfg.model, "run_id": rec.id, "checkpoint_sha256": pointer["weights_sha256"], "seed": key,
            "latent_index": 0, "condition": None, "size": cfg.size}
    data, row = stamp(tile(images, nrow), out.suffix.lstrip(".").lower() or "png", meta)
    atomic_write_bytes(out, data)
    publish(ws, [row])
    return out


def mix(ws: Workspace, run: str, rows: Sequence[int], cols: Sequence[int], out: str | Path, *, layer: int = 4,
        truncation: float = 1.0, labels: str | Sequence[str] = DEFAULT_LABELS, stamper: Stamper | None = None,
        device: str = "cpu") -> Path:
    """A style-mixing grid: the top row shows the column seeds, the left column the row seeds; cell (i, j)
    takes the coarse styles (layers below ``layer``) from row seed i and the fine ones from column seed j."""
    rec = ws.resolve(run, "runs")
    g, cfg, pointer = load_latent_generator(Path(rec.path or ""), pick_device(device))
    if not isinstance(g, StyleGenerator):
        raise ValueError(f"run {rec.id} ({cfg.model}) has no style layers to mix; train a stylegan or stylegan2")
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
    what = f"mix rows={list(rows)} cols={list(cols)} layer={layer} psi={truncation}"
    return _stamp(ws, rec, cfg, pointer, torch.cat(cells), len(cols) + 1, what, Path(out), labels, stamper)


def interpolate(ws: Workspace, run: str, seeds: Sequence[int], steps: int, out: str | Path, *, truncation: float = 1.0,
                labels: str | Sequence[str] = DEFAULT_LABELS, stamper: Stamper | None = None,
                device: str = "cpu") -> Path:
    """A strip of ``steps`` images from seed A's latent to seed B's (in W for StyleGAN, in z otherwise)."""
    if len(seeds) != 2 or steps < 2:
        raise ValueError("give two seeds (--seeds A B) and at least 2 steps")
    rec = ws.resolve(run, "runs")
    g, cfg, pointer = load_latent_generator(Path(rec.path or ""), pick_device(device))
    dev = next(g.parameters()).device
    z_a, z_b = (latent(s, 0, cfg.z_dim)[None].to(dev) for s in seeds)
    with torch.no_grad():
        images = g.interpolate(z_a, z_b, torch.linspace(0, 1, steps, device=dev), truncation)
    what = f"interpolate seeds={list(seeds)} steps={steps} psi={truncation}"
    return _stamp(ws, rec, cfg, pointer, images, steps, what, Path(out), labels, stamper)
