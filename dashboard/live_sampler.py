"""On-the-spot generation for the Forge page: a run's generator, latents by (seed, index) as forge samples them.

Nothing here writes to the workspace; saving a sample set goes through :func:`forge.sample.sample`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import streamlit as st
import torch

from forge.conditions import ConditionKey, fill_condition, keys_of
from forge.data import to_uint8
from forge.sample import latent, load_latent_generator


@st.cache_resource(show_spinner="Loading the generator...", max_entries=4)
def generator(run_path: str, checkpoint_sha256: str) -> tuple[torch.nn.Module, int, list[ConditionKey]]:
    """(eval-mode generator, z_dim, condition keys) of a run's latest checkpoint, on the CPU."""
    g, cfg, _ = load_latent_generator(Path(run_path), torch.device("cpu"))
    return g, cfg.z_dim, keys_of(cfg.cond_keys)


def _generate(g: torch.nn.Module, z: torch.Tensor, conds: list[list[int]] | None, truncation: float
              ) -> list[np.ndarray]:
    with torch.no_grad():
        return list(to_uint8(g.truncated(z, torch.tensor(conds) if conds else None, truncation)))


def sample_images(run_path: str, checkpoint_sha256: str, seed: int, n: int, truncation: float,
                  given: dict[str, int]) -> list[np.ndarray]:
    """Images 0..n-1 of (seed), with the latents and conditions ``assay forge sample`` would use."""
    g, z_dim, keys = generator(run_path, checkpoint_sha256)
    z = torch.stack([latent(seed, i, z_dim) for i in range(n)])
    conds = [fill_condition(given, keys, seed, i) for i in range(n)] if keys else None
    return _generate(g, z, conds, truncation)


def interpolate(run_path: str, checkpoint_sha256: str, seeds: tuple[int, int], steps: int, truncation: float,
                given: dict[str, int]) -> list[np.ndarray]:
    """A spherical interpolation from latent 0 of ``seeds[0]`` to latent 0 of ``seeds[1]``, condition fixed."""
    g, z_dim, keys = generator(run_path, checkpoint_sha256)
    a, b = (latent(s, 0, z_dim) for s in seeds)
    omega = torch.arccos(torch.clamp(torch.dot(a / a.norm(), b / b.norm()), -1, 1))
    ts: Sequence[float] = np.linspace(0.0, 1.0, steps)
    if float(omega) < 1e-6:
        z = torch.stack([(1 - t) * a + t * b for t in ts])
    else:
        z = torch.stack([(torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega) for t in ts])
    conds = [fill_condition(given, keys, seeds[0], 0)] * steps if keys else None
    return _generate(g, z.float(), conds, truncation)
