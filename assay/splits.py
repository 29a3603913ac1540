"""Identity-safe train/val/test splits: one person (or one duplicate group) never crosses splits."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

SPLITS = ("train", "val", "test")


def cluster_identities(embeddings: np.ndarray, threshold: float = 0.6, block: int = 2048) -> np.ndarray:
    """Group faces whose embeddings lie closer than ``threshold`` (connected components).

    Returns one integer cluster label per row. Distances are computed in row blocks, so
    10,000 faces never need a full 10,000 x 10,000 matrix.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    emb = np.asarray(embeddings, dtype=np.float32)
    n = len(emb)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    sq = (emb**2).sum(axis=1)
    rows, cols = [], []
    for start in range(0, n, block):
        d2 = sq[start : start + block, None] + sq[None, :] - 2.0 * emb[start : start + block] @ emb.T
        r, c = np.nonzero(d2 < threshold**2)
        rows.append(r + start)
        cols.append(c)
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(r), dtype=np.int8), (r, c)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def assign_splits(groups: Sequence[str], fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0) -> list[str]:
    """Split whole groups so each split gets about its fraction of the items; deterministic in ``seed``.

    Groups are shuffled with the seed and filled into train, then val, then test.
    """
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-6 or min(fractions) < 0:
        raise ValueError(f"split fractions must be three non-negative numbers summing to 1, got {tuple(fractions)}")
    sizes = Counter(groups)
    keys = sorted(sizes)
    order = np.random.default_rng(seed).permutation(len(keys))
    bounds = np.cumsum(fractions) * len(groups)
    where: dict[str, str] = {}
    filled = 0
    for idx in order:
        key = keys[idx]
        centre = filled + sizes[key] / 2.0
        split = SPLITS[int(np.searchsorted(bounds, centre, side="right").clip(0, 2))]
        where[key] = split
        filled += sizes[key]
    return [where[g] for g in groups]
