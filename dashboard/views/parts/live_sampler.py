"""On-the-spot generation for the Forge page: a run's generator, latents by (seed, index) as forge samples them,
and forge's own style-mixing grid and interpolation strip.

Nothing here writes to the workspace; saving a sample set goes through :func:`assay.forge.sample`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import streamlit as st
import torch

from assay.forge import (
    ConditionKey,
    GanConfig,
    LatentGenerator,
    generate,
    interpolation,
    keys_of,
    load_latent_generator,
    mix_grid,
    tile,
    to_uint8,
)


@st.cache_resource(show_spinner="Loading the generator...", max_entries=4)
def generator(run_path: str, checkpoint_sha256: str) -> tuple[LatentGenerator, GanConfig]:
    """(eval-mode generator, resolved config) of a run's latest checkpoint, on the CPU."""
    g, cfg, _ = load_latent_generator(Path(run_path), torch.device("cpu"))
    return g, cfg


def condition_keys(run_path: str, checkpoint_sha256: str) -> list[ConditionKey]:
    return keys_of(generator(run_path, checkpoint_sha256)[1].cond_keys)


def sample_images(run_path: str, checkpoint_sha256: str, seed: int, n: int, truncation: float,
                  given: dict[str, int]) -> list[np.ndarray]:
    """Images 0..n-1 of (seed): forge's own batches, so each latent gets the pixels ``assay forge sample`` writes."""
    g, cfg = generator(run_path, checkpoint_sha256)
    return [image for _, image, _ in generate(g, cfg, n, seed, truncation, given)]


def interpolate(run_path: str, checkpoint_sha256: str, seeds: tuple[int, int], steps: int, truncation: float,
                given: dict[str, int]) -> list[np.ndarray]:
    """Forge's interpolation strip (the generator's own interpolation and truncation) from latent 0 of
    ``seeds[0]`` to latent 0 of ``seeds[1]``, condition fixed."""
    g, cfg = generator(run_path, checkpoint_sha256)
    return list(to_uint8(interpolation(g, cfg, seeds, steps, truncation, given)))


def mix(run_path: str, checkpoint_sha256: str, rows: Sequence[int], cols: Sequence[int], layer: int,
        truncation: float) -> np.ndarray:
    """Forge's style-mixing grid as one image (what ``assay forge mix`` writes, unstamped): the column seeds
    on top, the row seeds on the left; forge's one-line ValueError for a bad layer or no seeds."""
    g, cfg = generator(run_path, checkpoint_sha256)
    return tile(mix_grid(g, cfg, rows, cols, layer, truncation), len(cols) + 1)
