"""Tiny prepared data sets for the forge tests, in the on-disk format ``assay data prepare`` writes."""

from __future__ import annotations

import numpy as np

from assay.imagesets import ImageSetWriter
from assay.workspace import Workspace


def tiny_faces(ws: Workspace, name: str = "tiny", n: int = 24, size: int = 32, seed: int = 0) -> str:
    """A prepared set of ``n`` smooth random images; gender 1 images are bright, gender 0 dark."""
    rng = np.random.default_rng(seed)
    writer = ImageSetWriter(ws, "datasets", name)
    for i in range(n):
        gender = i % 2
        base = 190 if gender else 60
        small = rng.normal(base, 25, size=(4, 4, 3))
        img = np.kron(small, np.ones((size // 4, size // 4, 1)))
        img = np.clip(img + rng.normal(0, 6, size=img.shape), 0, 255).astype(np.uint8)
        row = {"label": "real", "split": "train" if i % 10 else "val", "identity": f"id{i}",
               "labels": {"age": 5 + 7 * i, "gender": gender, "race": i % 5}}
        writer.add(img, row, f"{i:05d}.png")
    return writer.commit({"size": size}).id
