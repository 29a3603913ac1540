"""Image decoding to 8-bit RGB with one-line reasons for every file that cannot be used."""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

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
    return decode_reduced(data, None, max_pixels, work)[0]


def decode_reduced(data: bytes | Path | str, min_side: int | None, max_pixels: int = MAX_PIXELS,
                   work: str = "decode") -> tuple[np.ndarray, tuple[int, int]]:
    """:func:`decode`, a JPEG decoded reduced in the DCT domain (libjpeg's 1/2, 1/4 or 1/8 scaling,
    Pillow's ``draft``) to the smallest size whose short side keeps at least ``min_side`` pixels;
    other formats, and ``min_side`` None, at full size. Returns the pixels and the (width, height)
    the full-size decode has (EXIF orientation applied)."""
    if isinstance(data, (str, Path)):
        with open_media(data, "image") as fh:
            return _decode(fh, max_pixels, min_side, work)
    if not data:
        raise ImageError("empty file (0 bytes)")
    return _decode(io.BytesIO(data if isinstance(data, bytes) else bytes(data)), max_pixels, min_side, work)


def _draft(img: Image.Image, min_side: int) -> None:
    """Ask a JPEG's decoder for its smallest DCT scaling that keeps ``min_side`` pixels on the short side."""
    w, h = img.size
    factor = min_side / max(1, min(w, h))
    if img.format == "JPEG" and factor < 1:
        img.draft("RGB" if img.mode == "RGB" else img.mode, (math.ceil(w * factor), math.ceil(h * factor)))


def _decode(source: BinaryIO, max_pixels: int, min_side: int | None, work: str) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode from an open binary file: header first, then the pixels when there are not too many."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(source)
            w, h = img.size
            if w * h > max_pixels:
                raise ImageError(f"too large: {w}x{h} = {w * h} pixels > limit {max_pixels} (decompression bomb guard)")
            if min_side:
                _draft(img, min_side)
            check_decode(*img.size, len(img.getbands()), work)  # the size the decoder will make (after a draft)
            img.load()
            turned = img.getexif().get(ExifTags.Base.Orientation, 1) in (5, 6, 7, 8)
            ImageOps.exif_transpose(img, in_place=True)  # in place: no copy of the pixels when upright
            return to_rgb8(img), (h, w) if turned else (w, h)
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

