"""Image decoding to 8-bit RGB with one-line reasons for every file that cannot be used."""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from assay.core.errors import ImageError, media_oserror
from assay.core.fileio import atomic_write_bytes
from assay.core.media import open_media
from assay.core.memory import check_decode

#: default decode limit; larger images are refused as possible decompression bombs
MAX_PIXELS = 64_000_000


def to_rgb8(img: Image.Image) -> np.ndarray:
    """Convert any Pillow mode (L, LA, P, RGBA, CMYK, I;16, I, F, ...) to an HxWx3 uint8 array."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        arr = np.clip(arr / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(arr[..., None], 3, axis=2)
    if mode == "P":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    return _rgb_array(img if mode == "RGB" else img.convert("RGB"))


#: rows of an image copied out of Pillow at a time
BAND_ROWS = 256


def _rgb_array(img: Image.Image) -> np.ndarray:
    """A writable HxWx3 array of an RGB image, copied a band of rows at a time (no whole-image bytes in between)."""
    w, h = img.size
    arr = np.empty((h, w, 3), np.uint8)
    for y in range(0, h, BAND_ROWS):
        arr[y:y + BAND_ROWS] = np.asarray(img.crop((0, y, w, min(h, y + BAND_ROWS))))
    return arr


def decode(data: bytes | Path | str, max_pixels: int = MAX_PIXELS, work: str = "decode") -> np.ndarray:
    """Decode an image (bytes or path) to HxWx3 uint8 RGB, honouring EXIF orientation.

    A path is opened with :func:`assay.core.media.open_media` (a regular file within the
    image size limit) and only its header is read before the pixel count is checked, and
    its decoded size against the memory budget of the command ``work`` names
    (:func:`assay.core.memory.check_decode`). Raises :class:`ImageError` with a one-line reason for empty, truncated, oversized,
    unreadable or non-image inputs.
    """
    if isinstance(data, (str, Path)):
        with open_media(data, "image") as fh:
            return _decode(fh, max_pixels, work)
    if not data:
        raise ImageError("empty file (0 bytes)")
    return _decode(io.BytesIO(data if isinstance(data, bytes) else bytes(data)), max_pixels, work)


def _decode(source: BinaryIO, max_pixels: int, work: str) -> np.ndarray:
    """Decode from an open binary file: header first, then the pixels when there are not too many."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(source)
            w, h = img.size
            if w * h > max_pixels:
                raise ImageError(f"too large: {w}x{h} = {w * h} pixels > limit {max_pixels} (decompression bomb guard)")
            check_decode(w, h, len(img.getbands()), work)
            img.load()
            ImageOps.exif_transpose(img, in_place=True)  # in place: no copy of the pixels when upright
            return to_rgb8(img)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(f"too large: decompression bomb guard ({exc})".splitlines()[0]) from None
    except UnidentifiedImageError:
        raise ImageError("not an image (unrecognised format)") from None
    except OSError as exc:
        raise media_oserror(exc, ImageError) from None
    except (ValueError, SyntaxError, EOFError) as exc:
        raise ImageError(f"corrupt image: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def pixel_sha256(arr: np.ndarray) -> str:
    """sha256 of decoded pixels (shape included): equal for byte-different files with equal pixels."""
    h = hashlib.sha256()
    h.update(repr((arr.shape, str(arr.dtype))).encode())
    h.update(np.ascontiguousarray(arr).data)  # the buffer itself, not a copy of it
    return h.hexdigest()


def encode(arr: np.ndarray, fmt: str = "png", quality: int = 95) -> bytes:
    """Encode an HxWx3 uint8 array as PNG, JPEG or WebP bytes (no metadata)."""
    fmt = fmt.lower()
    pil_fmt = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP"}.get(fmt)
    if pil_fmt is None:
        raise ValueError(f"unsupported image format {fmt!r}; expected png, jpg or webp")
    buf = io.BytesIO()
    kwargs = {"quality": quality} if pil_fmt in ("JPEG", "WEBP") else {"compress_level": 6}
    Image.fromarray(arr).save(buf, format=pil_fmt, **kwargs)
    return buf.getvalue()


def save(arr: np.ndarray, path: str | Path, quality: int = 95) -> None:
    """Atomically write an image; the format follows the file suffix."""
    atomic_write_bytes(path, encode(arr, Path(path).suffix.lstrip(".") or "png", quality))

