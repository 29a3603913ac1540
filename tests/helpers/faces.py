"""Tiny prepared data sets for the forge tests, in the on-disk format ``assay data prepare`` writes."""

from __future__ import annotations

import numpy as np

from assay.core.imagesets import ImageSetWriter
from assay.core.workspace import Workspace
from assay.data.layouts import UTKFACE_GENDERS, UTKFACE_RACES, age_bucket

#: the subject links of a set whose images show no real person: every image linked, to no subject
NO_PEOPLE = {"subjects": [], "unlinked_faces": 0}


def tiny_faces(ws: Workspace, name: str = "tiny", n: int = 24, size: int = 32, seed: int = 0) -> str:
    """A prepared set of ``n`` smooth random images with UTKFace-style labels as ``assay data prepare``
    writes them; "female" images are bright, "male" ones dark. They show no real person, so forge
    trains on them without consent records."""
    rng = np.random.default_rng(seed)
    writer = ImageSetWriter(ws, "datasets", name)
    for i in range(n):
        gender, age = i % 2, 5 + (7 * i) % 90
        base = 190 if gender else 60
        small = rng.normal(base, 25, size=(4, 4, 3))
        img = np.kron(small, np.ones((size // 4, size // 4, 1)))
        img = np.clip(img + rng.normal(0, 6, size=img.shape), 0, 255).astype(np.uint8)
        row = {"label": "real", "split": "train" if i % 10 else "val", "identity": f"id{i}",
               "labels": {"age": age, "gender": UTKFACE_GENDERS[gender], "race": UTKFACE_RACES[i % 5],
                          "age_bucket": age_bucket(age)}}
        writer.add(img, row, f"{i:05d}.png")
    return writer.commit({"size": size, **NO_PEOPLE}).id
