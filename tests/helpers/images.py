"""Test pictures and media: smooth face-like images, JPEG round trips, flat dark and bright images, videos."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image


def smooth_image(size: int, seed: int) -> np.ndarray:
    """A face-like test picture: smooth shading, a few soft blobs, mild sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    img = np.zeros((size, size, 3), np.float32)
    for c in range(3):
        img[..., c] = 90 + 80 * rng.random() * x + 60 * rng.random() * y
    for _ in range(5):
        cx, cy, r = rng.random(), rng.random(), 0.1 + 0.25 * rng.random()
        blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r * r))
        img += blob[..., None] * rng.uniform(-60, 60, 3)
    img += rng.normal(0, 2, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def dark(seed: int = 0, size: int = 64) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 60, (size, size, 3), dtype=np.uint8)


def bright(seed: int = 0, size: int = 64) -> np.ndarray:
    return np.random.default_rng(seed).integers(190, 255, (size, size, 3), dtype=np.uint8)


def write_video(path: Path, frames: list[np.ndarray], fps: float = 10.0, fourcc: str = "mp4v") -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} here"
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path
