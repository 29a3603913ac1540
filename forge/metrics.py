"""Sample-quality metrics, registered by name (the shape of StyleGAN2-ADA's ``metric_main``).

A metric is a function of a :class:`Pair` (a set under test and the real reference set, both as
images with lazily computed features) returning one flat dict of numbers; :func:`calc_metric`
wraps it with its timing and what it was measured in. The math comes from libraries where one has
it: Frechet distance and KID from torch-fidelity, precision/recall/density/coverage from ``prdc``;
SWD (``forge.swd``), the face rate and identity leakage are written here.

A number is only called FID, KID or IS when it is measured with the standard Inception weights
(``forge.features.load_inception`` checks them); in the dlib face embedding it is FD-dlib / KID-dlib.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from assay.core.faces import SAME_PERSON_DISTANCE
from assay.core.registry import Registry
from assay.forge.features import FEATURES, FeatureOptions, cache_key, cached
from assay.forge.swd import swd as sliced

#: k nearest neighbours for the manifold of precision/recall (Kynkaanniemi 2019) and density/coverage (Naeem 2020)
NEAREST_K = 3
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
#: pairs (sample, training image) reported for the identity-leakage metric
WORST_PAIRS = 8
#: feature spaces worth caching for prepared real sets (deterministic and slow)
CACHED_SPACES = ("dlib", "face")


@dataclass
class Subject:
    """A set of N x H x W x 3 uint8 images (each ``repeat`` times) with features computed once per space.

    Given ``cache_dir`` and the images' pixel hashes (``shas``: a prepared set's rows), the slow
    deterministic spaces are cached on disk."""

    label: str
    images: np.ndarray
    names: list[str]
    repeat: int = 1
    cache_dir: Path | None = None
    shas: list[str] = field(default_factory=list)
    features: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images) * self.repeat

    def pixels(self) -> np.ndarray:
        return np.repeat(self.images, self.repeat, axis=0) if self.repeat > 1 else self.images

    def feat(self, space: str, opts: FeatureOptions) -> np.ndarray:
        if space not in self.features:
            compute = lambda: FEATURES.get(space)(self.images, opts)  # noqa: E731
            if self.shas and space in CACHED_SPACES:
                feats = cached(self.cache_dir, cache_key(space, self.images.shape[1], self.shas), compute)
            else:
                feats = compute()
            self.features[space] = np.repeat(feats, self.repeat, axis=0) if self.repeat > 1 else feats
        return self.features[space]


@dataclass
class Pair:
    """What a metric sees: the set under test, the real reference set (same size) and, for identity
    leakage, the training faces' embeddings with their names."""

    fake: Subject
    real: Subject
    train_embeddings: np.ndarray
    train_names: list[str]
    opts: FeatureOptions = FeatureOptions()

    def features(self, space: str) -> tuple[np.ndarray, np.ndarray]:
        return self.fake.feat(space, self.opts), self.real.feat(space, self.opts)


MetricFn = Callable[[Pair], dict[str, Any]]
METRICS: Registry[MetricFn] = Registry("metric")


def fd(fake: np.ndarray, real: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (torch-fidelity's math)."""
    import torch
    from torch_fidelity.metric_fid import (
        KEY_METRIC_FID,
        fid_features_to_statistics,
        fid_statistics_to_metric,
    )

    stats = [fid_features_to_statistics(torch.from_numpy(np.asarray(f, dtype=np.float64))) for f in (fake, real)]
    return float(fid_statistics_to_metric(*stats, verbose=False)[KEY_METRIC_FID])


def kid(fake: np.ndarray, real: np.ndarray, subsets: int = KID_SUBSETS, subset_size: int = KID_SUBSET_SIZE,
        seed: int = 0) -> tuple[float, float]:
    """Unbiased KID (cubic polynomial kernel MMD^2, mean and std over subsets; torch-fidelity's math)."""
    import torch
    from torch_fidelity.metric_kid import (
        KEY_METRIC_KID_MEAN,
        KEY_METRIC_KID_STD,
        kid_features_to_metric,
    )

    size = min(subset_size, len(fake), len(real))
    res = kid_features_to_metric(torch.from_numpy(np.asarray(fake, dtype=np.float64)),
                                 torch.from_numpy(np.asarray(real, dtype=np.float64)),
                                 kid_subsets=subsets, kid_subset_size=size, rng_seed=seed, verbose=False)
    return float(res[KEY_METRIC_KID_MEAN]), float(res[KEY_METRIC_KID_STD])


def prdc(fake: np.ndarray, real: np.ndarray, k: int = NEAREST_K) -> dict[str, float]:
    """Precision, recall (Kynkaanniemi 2019), density and coverage (Naeem 2020) with the ``prdc`` package."""
    import contextlib
    import io

    from prdc import compute_prdc

    with contextlib.redirect_stdout(io.StringIO()):          # prdc prints the set sizes
        res = compute_prdc(real_features=np.asarray(real), fake_features=np.asarray(fake), nearest_k=k)
    return {key: float(v) for key, v in res.items()}


@METRICS.register("fd_dlib", space="dlib", cheap=True, summary="Frechet distance in the dlib face embedding")
def fd_dlib(p: Pair) -> dict[str, Any]:
    return {"fd_dlib": fd(*p.features("dlib"))}


@METRICS.register("kid_dlib", space="dlib", summary="unbiased KID (x 1e3) in the dlib face embedding")
def kid_dlib(p: Pair) -> dict[str, Any]:
    mean, std = kid(*p.features("dlib"))
    return {"kid_dlib": 1e3 * mean, "kid_dlib_std": 1e3 * std}


@METRICS.register("prdc_dlib", space="dlib", summary=f"precision/recall (k={NEAREST_K}), density/coverage in the dlib embedding")
def prdc_dlib(p: Pair) -> dict[str, Any]:
    return {f"{k}_dlib": v for k, v in prdc(*p.features("dlib")).items()}


@METRICS.register("swd", space="pixels", summary="multi-scale sliced Wasserstein distance (x 1e3) on Laplacian-pyramid patches")
def swd(p: Pair) -> dict[str, Any]:
    return sliced(p.fake.pixels(), p.real.pixels())


@METRICS.register("face_rate", space="face", cheap=True, summary="share of images in which dlib's HOG detector finds a face")
def face_rate(p: Pair) -> dict[str, Any]:
    return {"face_rate": float(p.fake.feat("face", p.opts).mean())}


@METRICS.register("leakage", space="dlib",
                  summary=f"share of images whose nearest training face is within {SAME_PERSON_DISTANCE} (same person)")
def leakage(p: Pair) -> dict[str, Any]:
    from sklearn.metrics import pairwise_distances

    emb = p.fake.feat("dlib", p.opts)
    dist = pairwise_distances(emb, p.train_embeddings)
    nearest = dist.argmin(axis=1)
    d = dist[np.arange(len(emb)), nearest]
    worst = np.argsort(d)[:WORST_PAIRS]
    return {"leakage": float((d < SAME_PERSON_DISTANCE).mean()), "leakage_min_distance": float(d.min()),
            "leakage_worst": [{"sample": p.fake.names[i], "training": p.train_names[nearest[i]],
                               "distance": round(float(d[i]), 4)} for i in worst]}


@METRICS.register("fid", space="inception", summary="FID: Frechet distance in the standard Inception pool features")
def fid(p: Pair) -> dict[str, Any]:
    f, r = p.features("inception")
    return {"fid": fd(f[:, :2048], r[:, :2048])}


@METRICS.register("kid", space="inception", summary="KID (x 1e3) in the standard Inception pool features")
def kid_inception(p: Pair) -> dict[str, Any]:
    f, r = p.features("inception")
    mean, std = kid(f[:, :2048], r[:, :2048])
    return {"kid": 1e3 * mean, "kid_std": 1e3 * std}


@METRICS.register("is", space="inception", summary="Inception score of the set under test (10 splits)")
def inception_score(p: Pair) -> dict[str, Any]:
    import torch
    from torch_fidelity.metric_isc import (
        KEY_METRIC_ISC_MEAN,
        KEY_METRIC_ISC_STD,
        isc_features_to_metric,
    )

    logits = torch.from_numpy(p.fake.feat("inception", p.opts)[:, 2048:])
    res = isc_features_to_metric(logits, splits=min(10, len(logits)))
    return {"is": float(res[KEY_METRIC_ISC_MEAN]), "is_std": float(res[KEY_METRIC_ISC_STD])}


DEFAULT_METRICS = ("fd_dlib", "kid_dlib", "prdc_dlib", "swd", "face_rate", "leakage")
INCEPTION_METRICS = tuple(n for n in METRICS.names() if METRICS.meta(n)["space"] == "inception")
CHEAP_METRICS = tuple(n for n in METRICS.names() if METRICS.meta(n).get("cheap"))


def calc_metric(name: str, pair: Pair) -> dict[str, Any]:
    """Run one metric; its results with the metric name, feature space and seconds taken (including any
    features not computed before)."""
    fn = METRICS.get(name)
    start = time.perf_counter()
    results = fn(pair)
    return {"metric": name, "space": METRICS.meta(name)["space"], "results": results,
            "seconds": time.perf_counter() - start}
