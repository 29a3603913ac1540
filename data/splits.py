"""Identity-safe train/val/test splits: one person (or one duplicate group) never crosses splits."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

SPLITS = ("train", "val", "test")


def cluster_identities(embeddings: np.ndarray, threshold: float = 0.6) -> np.ndarray:
    """Group faces into putative identities: complete-linkage clusters whose members all lie within ``threshold``.

    Complete linkage, not connected components: at dlib's 0.6 a chain of look-alikes links
    many different people into one component (289 of 300 UTKFace children aged 10 to 12),
    which would put most of a data set into one split. Memory is n^2/2 distances (10,000 faces:
    400 MB). Returns one integer cluster label per row.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    emb = np.asarray(embeddings, dtype=np.float64)
    if len(emb) < 2:
        return np.zeros(len(emb), dtype=np.int64)
    tree = linkage(pdist(emb), method="complete")
    return fcluster(tree, t=threshold, criterion="distance").astype(np.int64) - 1


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
