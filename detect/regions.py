"""The regions a scan scores: face crops at native resolution, or the whole image when no face is found.

Faces are found by a face finder (:mod:`assay.core.face_finders`, by name), many images at a time;
every finder reports boxes in dlib HOG's layout, so a margin means the same crop whichever finder ran.
Each face is scored on a square crop of its box grown by a margin, cut from the image as it
is: never the resized aligned chip, never upsampled. Crops start at even pixel offsets so
they keep the image's 2 x 2 grid (up-sampling traces have period 2). A crop smaller than a
detector's input is padded by the detector itself (``detect.tiling``), never enlarged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from assay.core.face_finders import FoundFace, find_faces

FACE = "face"
#: the face finder a scan uses unless told otherwise (measured in benchmarks/scan_throughput.py)
DEFAULT_FINDER = "blazeface"
WHOLE_IMAGE = "whole_image"


@dataclass
class Region:
    """A scored part of an image: ``kind`` is ``face`` or ``whole_image``.

    ``box`` is the face box (left, top, right, bottom) from the face detector (the whole
    image for the fallback); ``crop_box`` the pixels cut out for the detector.
    """

    kind: str
    box: tuple[int, int, int, int]
    crop_box: tuple[int, int, int, int]
    pixels: np.ndarray = field(repr=False)
    face_score: float | None = None
    #: decoded pixels per file pixel (below 1 for a reduced JPEG decode); ``box`` and ``crop_box`` are in
    #: decoded pixels, reported in the file's
    scale: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        def in_file(box: tuple[int, ...]) -> list[int]:
            return list(box) if self.scale == 1.0 else [int(round(v / self.scale)) for v in box]

        return {
            "kind": self.kind,
            "box": in_file(self.box),
            "crop_box": in_file(self.crop_box),
            "crop_size": [int(self.pixels.shape[1]), int(self.pixels.shape[0])],
            "face_score": self.face_score,
        }


def crop_box(box: tuple[int, int, int, int], shape: tuple[int, ...], margin: float) -> tuple[int, int, int, int]:
    """A square around ``box`` grown by ``margin`` (fraction of its side), clipped to the image, even start."""
    left, top, right, bottom = box
    side = max(right - left, bottom - top) * (1.0 + 2.0 * margin)
    cx, cy = (left + right) / 2.0, (top + bottom) / 2.0
    h, w = shape[:2]
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    x1, y1 = int(round(cx + side / 2)), int(round(cy + side / 2))
    x0, y0 = max(0, x0 - x0 % 2), max(0, y0 - y0 % 2)
    return x0, y0, min(w, x1), min(h, y1)


def find_regions(image: np.ndarray, margin: float = 0.25, face_detector: str = DEFAULT_FINDER,
                 max_faces: int | None = None) -> list[Region]:
    """Face regions largest first, or one ``whole_image`` region when no face is found."""
    return find_regions_batch([image], margin, face_detector, max_faces)[0]


def find_regions_batch(images: Sequence[np.ndarray], margin: float = 0.25, face_detector: str = DEFAULT_FINDER,
                       max_faces: int | None = None) -> list[list[Region]]:
    """:func:`find_regions` for several images, their faces found in one batch."""
    found = find_faces(images, face_detector) if images else []
    return [regions_of(image, faces[:max_faces], margin) for image, faces in zip(images, found)]


def regions_of(image: np.ndarray, faces: Sequence[FoundFace], margin: float, scale: float = 1.0) -> list[Region]:
    """The crops of an image's faces, or the whole image when there are none (``scale``: see :class:`Region`)."""
    h, w = image.shape[:2]
    regions = []
    for face in faces:
        l, t, r, b = face.box
        box = (max(0, l), max(0, t), min(w, r), min(h, b))
        cb = crop_box(face.box, image.shape, margin)
        if cb[2] - cb[0] < 2 or cb[3] - cb[1] < 2:
            continue
        pixels = np.ascontiguousarray(image[cb[1]:cb[3], cb[0]:cb[2]])
        regions.append(Region(FACE, box, cb, pixels, float(face.score), scale))
    if not regions:
        regions.append(Region(WHOLE_IMAGE, (0, 0, w, h), (0, 0, w, h), np.ascontiguousarray(image), None, scale))
    return regions
