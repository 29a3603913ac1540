"""Toy real-vs-fake image sets for the detect tests: smooth textures vs up-sampled ones.

Real images are blurred noise; each fake family is a half-size texture brought back up by
a different up-sampling (nearest neighbour, zero insertion as in a transposed convolution,
bilinear), which leaves the spectral traces GAN decoders leave.
"""

from __future__ import annotations

import numpy as np

from assay.core.imagesets import ImageSetWriter
from assay.core.workspace import Workspace

FAMILIES = ("nearest", "zeroinsert", "bilinear")


def texture(rng: np.random.Generator, size: int, sigma: float = 1.2) -> np.ndarray:
    import cv2

    noise = rng.normal(128, 60, (size, size, 3)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), sigma), 0, 255).astype(np.uint8)


def upsample(image: np.ndarray, family: str) -> np.ndarray:
    """2x up-sampling of ``image`` by one of :data:`FAMILIES`."""
    import cv2

    h, w = image.shape[:2]
    if family == "nearest":
        return np.repeat(np.repeat(image, 2, 0), 2, 1)
    if family == "bilinear":
        return cv2.resize(image, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR)
    if family == "zeroinsert":
        up = np.zeros((2 * h, 2 * w, 3), np.float32)
        up[::2, ::2] = image
        kernel = np.array([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]], np.float32) * 0.9
        return np.clip(cv2.filter2D(up, -1, kernel) + 12, 0, 255).astype(np.uint8)
    raise ValueError(family)


def real_images(n: int, size: int = 48, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [texture(rng, size) for _ in range(n)]


def fake_images(n: int, family: str, size: int = 48, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [upsample(texture(rng, size // 2, 0.8), family) for _ in range(n)]


def _split(i: int) -> str:
    return "train" if i % 10 < 6 else "val" if i % 10 < 8 else "test"


def make_real_set(ws: Workspace, name: str = "toy-real", n: int = 60, size: int = 48, seed: int = 0) -> str:
    w = ImageSetWriter(ws, "datasets", name)
    for i, img in enumerate(real_images(n, size, seed)):
        w.add(img, {"label": "real", "split": _split(i), "identity": f"person-{i}", "source": f"src/{i}.jpg",
                    "labels": {"age": 30, "gender": 0, "race": 0}})
    return w.commit({"size": size}).id


def make_fake_set(ws: Workspace, family: str, name: str | None = None, n: int = 60, size: int = 48,
                  seed: int = 1) -> str:
    w = ImageSetWriter(ws, "samples", name or f"toy-{family}")
    for i, img in enumerate(fake_images(n, family, size, seed)):
        w.add(img, {"label": "synthetic", "split": _split(i), "family": family, "run_id": f"run-{family}",
                    "seed": i})
    return w.commit({"size": size, "family": family}).id


def make_toy_workspace(root) -> tuple[Workspace, str, list[str]]:
    """A workspace with one real toy set and one fake set per family in :data:`FAMILIES`."""
    ws = Workspace(root)
    real = make_real_set(ws, n=60)
    fakes = [make_fake_set(ws, fam, n=40, seed=i + 1) for i, fam in enumerate(FAMILIES)]
    return ws, real, fakes
