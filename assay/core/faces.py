"""Face detection (:mod:`assay.core.face_finders`), 5-point landmarks, FFHQ-style alignment and 128-d embeddings (dlib, offline).

The dlib models come from the ``face-recognition-models`` package (CC0), located without
importing it (:func:`assay.core.face_finders.dlib_model_path`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import cv2
import numpy as np

from assay.core.face_finders import FACE_FINDERS, find_faces
from assay.core.face_finders import dlib_model_path as model_path

#: canonical positions (fractions of the output side) of the image-left eye centre, the
#: image-right eye centre and the bottom of the nose. The method is FFHQ's (similarity
#: transform to fixed eye/nose positions, reflected border); the framing is tighter than
#: FFHQ's (eye distance 0.34 of the side instead of 0.25: forehead to chin), so that 32-64 px
#: faces keep their pixels for the face and tightly cropped sources such as UTKFace need
#: little padding.
TEMPLATE = np.array([[0.33, 0.42], [0.67, 0.42], [0.5, 0.61]], dtype=np.float64)
#: dlib's same-person distance for its 128-d embedding
SAME_PERSON_DISTANCE = 0.6
#: the face finders by name (assay.core.face_finders.FACE_FINDERS): hog, cnn, hog-half, blazeface, crop, auto
FACE_DETECTORS = FACE_FINDERS


@functools.lru_cache(maxsize=None)
def _predictor():  # type: ignore[no-untyped-def]
    import dlib

    return dlib.shape_predictor(str(model_path("shape_predictor_5_face_landmarks.dat")))


@functools.lru_cache(maxsize=None)
def _embedder():  # type: ignore[no-untyped-def]
    import dlib

    return dlib.face_recognition_model_v1(str(model_path("dlib_face_recognition_resnet_model_v1.dat")))


@dataclass
class Face:
    """A detected face: box (left, top, right, bottom) in pixels, detector score, 5 landmarks (x, y)."""

    box: tuple[int, int, int, int]
    score: float
    landmarks: np.ndarray = field(repr=False)

    @property
    def area(self) -> int:
        left, top, right, bottom = self.box
        return max(0, right - left) * max(0, bottom - top)

    def eyes_and_nose(self) -> np.ndarray:
        """(image-left eye centre, image-right eye centre, nose) from dlib's 5 points."""
        return eyes_and_nose(self.landmarks)


def eyes_and_nose(landmarks: np.ndarray) -> np.ndarray:
    """Reduce dlib's 5 points (two corners per eye, nose bottom) to eye centres and nose."""
    pts = np.asarray(landmarks, dtype=np.float64)
    eye_a, eye_b = pts[0:2].mean(axis=0), pts[2:4].mean(axis=0)
    left, right = (eye_a, eye_b) if eye_a[0] <= eye_b[0] else (eye_b, eye_a)
    return np.stack([left, right, pts[4]])


def _rect(box: tuple[int, int, int, int]):  # type: ignore[no-untyped-def]
    import dlib

    return dlib.rectangle(*(int(v) for v in box))


def detect_faces(image: np.ndarray, detector: str = "hog") -> list[Face]:
    """All faces in an RGB uint8 image, largest first, each with dlib's 5 landmarks.

    ``detector`` names a face finder (:data:`FACE_DETECTORS`); every finder reports boxes in
    dlib HOG's layout, the one the landmark model expects.
    """
    image = np.ascontiguousarray(image)
    return [Face(f.box, f.score, landmarks_in_box(image, f.box)) for f in find_faces([image], detector)[0]]


def landmarks_in_box(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """dlib's 5 landmarks for a face assumed to fill ``box`` (used when detection is skipped)."""
    shape = _predictor()(np.ascontiguousarray(image), _rect(box))
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)


def embed(image: np.ndarray, landmarks: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """dlib's 128-d face embedding (same person: distance < 0.6)."""
    import dlib

    points = dlib.points()
    for x, y in np.asarray(landmarks):
        points.append(dlib.point(int(round(x)), int(round(y))))
    shape = dlib.full_object_detection(_rect(box), points)
    vec = _embedder().compute_face_descriptor(np.ascontiguousarray(image), shape)
    return np.asarray(vec, dtype=np.float32)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping src to dst, as a 2x3 matrix (Umeyama)."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s_c, d_c = src - mu_s, dst - mu_d
    cov = d_c.T @ s_c / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    rot = u @ np.diag(d) @ vt
    var_s = (s_c**2).sum() / len(src)
    scale = (sig * d).sum() / var_s
    t = mu_d - scale * rot @ mu_s
    return np.hstack([scale * rot, t[:, None]])


def align(image: np.ndarray, landmarks: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """FFHQ-style crop: eye centres and nose moved to :data:`TEMPLATE`, reflected border, antialiased.

    Returns the ``size`` x ``size`` aligned image and the 2x3 matrix mapping source pixels to it.
    """
    src = eyes_and_nose(landmarks) if len(landmarks) == 5 else np.asarray(landmarks, dtype=np.float64)
    matrix = similarity_transform(src, TEMPLATE * size)
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    # warp at (at least) source resolution, then area-resample down: no aliasing on big shrinks
    work = max(size, int(np.ceil(size / max(scale, 1e-6))))
    work = min(work, 8 * size)
    m_work = matrix * (work / size)
    warped = cv2.warpAffine(image, m_work, (work, work), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    out = resize(warped, size)
    return out, matrix


def center_crop(image: np.ndarray) -> np.ndarray:
    """The largest centred square."""
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    return image[top : top + side, left : left + side]


def resize(image: np.ndarray, size: int) -> np.ndarray:
    """Antialiased square resize: area averaging when shrinking, Lanczos when enlarging."""
    h, w = image.shape[:2]
    if (h, w) == (size, size):
        return np.ascontiguousarray(image)
    interp = cv2.INTER_AREA if size < min(h, w) else cv2.INTER_LANCZOS4
    return cv2.resize(image, (size, size), interpolation=interp)


def transform_points(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    return pts @ matrix[:, :2].T + matrix[:, 2]
