"""Invisible watermarks carrying a content id (see :mod:`provenance.payload`).

Three methods, looked up by name in :data:`WATERMARKS`:

- ``ssgrid`` (default): keyed spread-spectrum on a 32 x 32 grid of cells laid over the
  whole image, with informed embedding. Each payload bit owns about 21 cells scattered by
  a keyed permutation; a cell's luma moves up or down by a gain chosen so that the
  decoder's own statistic (cell mean of a high-pass residual, times the key's sign) clears
  a margin on this very image. Cells are weighted by local texture (perceptual masking),
  so flat skin and near-white or near-black areas carry less of the pattern. Because the grid is relative to the image size, decoding
  needs no knowledge of the original size and survives downscaling; JPEG mostly touches
  frequencies above the cell size. Works from 64 px on the shorter side.
- ``ssgrid-small``: the same decoder (same key, grid and statistic, so an ``ssgrid`` reader
  decodes it too) with least-norm informed embedding for 32-63 px images, where a cell is a
  pixel or two and ``ssgrid``'s per-bit gains do not hold under JPEG: the luma change is the
  smallest (in a texture-weighted L2 norm, so flat skin changes least) that puts every bit's
  statistic at least ``margin`` on the right side, solved exactly because the statistic is
  linear in the pixels. Works from 32 px.
- ``dwtDctSvd``: the ``invisible-watermark`` package's DWT-DCT-SVD method, kept for
  comparison (it needs 256 x 256 and breaks under resizing).

Below a method's ``min_side`` nothing is embedded and reading reports ``too_small``.
The name ``auto`` (the default) picks ``ssgrid`` from 64 px and ``ssgrid-small`` below.

The ``ssgrid`` methods are keyed (registry meta ``keyed``): stamping and verify pass the
workspace's key (:mod:`provenance.keys.secret`), so only that workspace can embed or read its
watermarks; without a key they use :data:`PUBLIC_KEY`, which anyone can. ``dwtDctSvd`` has
no key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Protocol

import numpy as np

from assay.core.errors import InputError
from assay.core.registry import Registry
from assay.provenance.payload import PAYLOAD_BITS, decode_payload, encode_payload

AUTO = "auto"
DEFAULT_METHOD = AUTO
#: what ``auto`` picks below ``ssgrid``'s 64 px floor (still images only)
SMALL_METHOD = "ssgrid-small"
#: the key of ``ssgrid`` when none is given (library use, workspaces without a secret): public
PUBLIC_KEY = 0x5A55A7


class WatermarkMethod(Protocol):
    name: str
    min_side: int

    def embed(self, rgb: np.ndarray, bits: np.ndarray) -> np.ndarray: ...

    def soft_bits(self, rgb: np.ndarray) -> np.ndarray: ...


WATERMARKS: Registry[type] = Registry("watermark method")


class TooSmall(InputError):
    """The image is below the smallest size at which the method holds."""


#: pixels per band of rows worked on at a time (bounds the temporaries of large images)
BAND_PIXELS = 1 << 22


def _bands(h: int, w: int) -> Iterator[slice]:
    """The bands of rows an h x w image is worked on in, :data:`BAND_PIXELS` at a time."""
    step = max(1, BAND_PIXELS // max(w, 1))
    return (slice(y, min(h, y + step)) for y in range(0, h, step))


def _luma(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma as float32, a band of rows at a time (no float copy of the whole image)."""
    luma = np.empty(rgb.shape[:2], np.float32)
    for rows in _bands(*rgb.shape[:2]):
        band = rgb[rows].astype(np.float32)
        luma[rows] = 0.299 * band[..., 0] + 0.587 * band[..., 1] + 0.114 * band[..., 2]
    return luma


def _add_pattern(rgb: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """``rgb`` plus the luma ``pattern`` on every channel, rounded and clipped to uint8, a band of rows at a time."""
    out = np.empty_like(rgb)
    for rows in _bands(*rgb.shape[:2]):
        band = rgb[rows].astype(np.float32)
        band += pattern[rows, :, None]
        out[rows] = np.clip(np.rint(band), 0, 255)
    return out


@WATERMARKS.register("ssgrid", keyed=True)
class SpreadSpectrumGrid:
    """Keyed spread-spectrum watermark on a size-relative grid with informed embedding."""

    name = "ssgrid"
    min_side = 64

    def __init__(self, grid: int = 32, margin: float = 2.0, min_gain: float = 1.0, max_gain: float = 20.0,
                 key: int = PUBLIC_KEY, rounds: int = 8, masking: bool = True) -> None:
        self.grid, self.margin, self.min_gain, self.max_gain, self.rounds = grid, margin, min_gain, max_gain, rounds
        self.masking, self.key = masking, key
        rng = np.random.default_rng(key)
        cells = grid * grid
        owner = np.empty(cells, np.int64)
        owner[rng.permutation(cells)] = np.arange(cells) % PAYLOAD_BITS
        self.owner = owner
        self.sign = rng.choice(np.array([-1.0, 1.0], np.float32), cells)
        self.per_bit = np.bincount(owner, minlength=PAYLOAD_BITS).astype(np.float32)

    def _cell_sums(self, values: np.ndarray) -> np.ndarray:
        """The sum of an h x w array over each grid cell, a band of rows at a time (no h x w index array)."""
        h, w = values.shape
        g = self.grid
        cols = np.arange(w) * g // w
        sums = np.zeros(g * g)
        for rows in _bands(h, w):
            cells = (np.arange(rows.start, rows.stop) * g // h)[:, None] * g + cols[None, :]
            sums += np.bincount(cells.ravel(), values[rows].ravel(), g * g)
        return sums

    def _band_sizes(self, n: int) -> np.ndarray:
        """How many of ``n`` rows (or columns) fall in each of the grid's bands."""
        return np.bincount(np.arange(n) * self.grid // n, minlength=self.grid)

    def _cell_counts(self, h: int, w: int) -> np.ndarray:
        return np.outer(self._band_sizes(h), self._band_sizes(w)).ravel()

    def _expand(self, per_cell: np.ndarray, h: int, w: int) -> np.ndarray:
        """An h x w float32 array holding each cell's value over its pixels."""
        grid = per_cell.astype(np.float32).reshape(self.grid, self.grid)
        return np.repeat(np.repeat(grid, self._band_sizes(h), axis=0), self._band_sizes(w), axis=1)

    def _blur(self, luma: np.ndarray, scratch: bool = False) -> np.ndarray:
        """The box blur the high-pass residual subtracts, written over ``luma`` when it is ``scratch``."""
        import cv2

        h, w = luma.shape
        k = max(3, int(round(2 * max(h, w) / self.grid)) | 1)
        return cv2.blur(luma, (k, k), dst=luma if scratch else None)

    def _residual(self, luma: np.ndarray) -> np.ndarray:
        return np.subtract(luma, blurred := self._blur(luma), out=blurred)

    def _statistic(self, luma: np.ndarray, scratch: bool = False) -> np.ndarray:
        """Each bit's statistic: the key-signed mean residual of its cells. The residual's cell sums are the luma's
        less the blur's, so a ``scratch`` luma (a temporary) is blurred in place: no second image-sized buffer."""
        sums = self._cell_sums(luma)
        means = (sums - self._cell_sums(self._blur(luma, scratch))) / np.maximum(self._cell_counts(*luma.shape), 1)
        return np.bincount(self.owner, means * self.sign, PAYLOAD_BITS) / self.per_bit

    def _weights(self, luma: np.ndarray) -> np.ndarray:
        """Per-cell strength (perceptual masking): more in textured cells, less in flat or clipped ones."""
        n = self.grid * self.grid
        if not self.masking:
            return np.ones(n, np.float32)
        count = np.maximum(self._cell_counts(*luma.shape), 1)
        residual = self._residual(luma)
        activity = np.sqrt(self._cell_sums(np.square(residual, out=residual)) / count)
        weight = np.clip((activity + 1.0) / (np.median(activity) + 1.0), 0.3, 2.0)
        mean = self._cell_sums(luma) / count
        return np.where((mean > 245) | (mean < 10), 0.3, weight).astype(np.float32)

    def embed(self, rgb: np.ndarray, bits: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        if min(h, w) < self.min_side:
            raise TooSmall(f"{w}x{h} is below {self.min_side} px")
        want = (2.0 * np.asarray(bits, np.float32) - 1.0)
        weight = self._weights(_luma(rgb))
        cell_sign = want[self.owner] * self.sign
        unit = want * self._statistic(self._expand(cell_sign * weight, h, w), scratch=True)
        gain = np.full(PAYLOAD_BITS, self.min_gain, np.float32)
        out = rgb
        for _ in range(self.rounds):
            amplitude = np.minimum(gain[self.owner] * weight, self.max_gain)
            del out  # the last round's pixels go before the next are made (a large image is held twice, not thrice)
            out = _add_pattern(rgb, self._expand(cell_sign * amplitude, h, w))
            got = want * self._statistic(_luma(out), scratch=True)
            if (got >= self.margin).all():
                break
            gain = np.clip(gain + np.maximum(0.0, self.margin - got) / np.maximum(unit, 1e-3),
                           self.min_gain, self.max_gain / 0.3)
        return out

    def soft_bits(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        if min(h, w) < self.min_side // 2:
            raise TooSmall(f"{w}x{h} is below {self.min_side // 2} px")
        return self._statistic(_luma(rgb), scratch=True)


@WATERMARKS.register(SMALL_METHOD, keyed=True)
class SmallSpreadSpectrumGrid(SpreadSpectrumGrid):
    """``ssgrid``'s decoder with least-norm informed embedding, for faces of 32-63 px."""

    name = SMALL_METHOD
    min_side = 32
    #: shared by all instances (``watermark_method()`` makes a new one per call): (grid, key, h, w) -> response matrix
    _response_cache: dict[tuple, np.ndarray] = {}

    def __init__(self, margin: float = 4.0, rounds: int = 6, **kwargs) -> None:
        super().__init__(margin=margin, rounds=rounds, masking=False, **kwargs)

    def _response(self, h: int, w: int) -> np.ndarray:
        """The statistic as a 48 x (h*w) matrix (it is linear in the luma), built one pixel at a time."""
        key = (self.grid, self.key, h, w)
        if key not in self._response_cache:
            basis = np.zeros((h, w), np.float32)
            response = np.empty((PAYLOAD_BITS, h * w), np.float32)
            for k in range(h * w):
                basis.flat[k] = 1.0
                response[:, k] = self._statistic(basis)
                basis.flat[k] = 0.0
            self._response_cache[key] = response
        return self._response_cache[key]

    @staticmethod
    def _pixel_weights(luma: np.ndarray) -> np.ndarray:
        """Perceptual masking per pixel: textured pixels may change more than flat ones (0.3 to 3)."""
        import cv2

        mean = cv2.blur(luma, (3, 3))
        sd = np.sqrt(np.maximum(cv2.blur(luma * luma, (3, 3)) - mean * mean, 0.0))
        return np.clip((sd + 1.0) / (np.median(sd) + 1.0), 0.3, 3.0).ravel()

    def embed(self, rgb: np.ndarray, bits: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        if min(h, w) < self.min_side:
            raise TooSmall(f"{w}x{h} is below {self.min_side} px")
        luma = _luma(rgb)
        response = self._response(h, w)
        weight = self._pixel_weights(luma)
        # the luma change d minimising sum(d**2 / weight) with response @ d = r is weight * response.T @ c,
        # where gram @ c = r (matrix-vector products only: small threaded GEMMs stall on a busy machine)
        scaled = (response * np.sqrt(weight)).astype(np.float64)
        gram = scaled @ scaled.T
        want = 2.0 * np.asarray(bits, np.float32) - 1.0
        base = rgb.astype(np.float32)
        delta = np.zeros((h, w), np.float32)
        target = np.full(PAYLOAD_BITS, self.margin, np.float32)
        out = rgb
        for _ in range(self.rounds):
            stat = self._statistic(luma + delta, scratch=True)
            goal = want * np.maximum(target, want * stat)  # bits already past the margin stay where they are
            step = weight * (response.T @ np.linalg.solve(gram, goal - stat).astype(np.float32))
            delta += step.reshape(h, w)
            out = np.clip(np.rint(base + delta[..., None]), 0, 255).astype(np.uint8)
            got = want * self._statistic(_luma(out), scratch=True)
            if (got >= self.margin).all():
                break
            target += np.maximum(0.0, self.margin - got)  # rounding or clipping fell short: aim higher there
        return out

    def soft_bits(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        if min(h, w) < self.min_side:
            raise TooSmall(f"{w}x{h} is below {self.min_side} px")
        return self._statistic(_luma(rgb), scratch=True)


@WATERMARKS.register("dwtDctSvd", keyed=False)
class DwtDctSvd:
    """``invisible-watermark``'s DWT-DCT-SVD method (U channel, 4 x 4 blocks of the Haar LL band)."""

    name = "dwtDctSvd"
    min_side = 256

    def embed(self, rgb: np.ndarray, bits: np.ndarray) -> np.ndarray:
        from imwatermark.dwtDctSvd import EmbedDwtDctSvd

        h, w = rgb.shape[:2]
        if min(h, w) < self.min_side:
            raise TooSmall(f"{w}x{h} is below {self.min_side} px")
        bgr = EmbedDwtDctSvd([int(b) for b in bits], wmLen=PAYLOAD_BITS).encode(np.ascontiguousarray(rgb[..., ::-1]))
        return np.ascontiguousarray(np.clip(np.rint(bgr), 0, 255).astype(np.uint8)[..., ::-1])

    def soft_bits(self, rgb: np.ndarray) -> np.ndarray:
        from imwatermark.dwtDctSvd import EmbedDwtDctSvd

        h, w = rgb.shape[:2]
        if min(h, w) < self.min_side:
            raise TooSmall(f"{w}x{h} is below {self.min_side} px")
        bits = EmbedDwtDctSvd([], wmLen=PAYLOAD_BITS).decode(np.ascontiguousarray(rgb[..., ::-1]))
        return np.asarray(bits, np.float32) * 2.0 - 1.0


@dataclass
class WatermarkReading:
    """What a watermark decode found: ``found`` (a valid id), ``absent`` or ``too_small``."""

    status: str
    method: str
    content_id: str | None = None
    reason: str = ""
    bits: list[int] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"status": self.status, "method": self.method, "content_id": self.content_id, "reason": self.reason}


def choose(name: str, shape: tuple[int, ...] | None = None) -> str:
    """The registered method ``name`` stands for: ``auto`` is ``ssgrid`` from 64 px on the shorter
    side of ``shape`` (or without a shape, as for video) and ``ssgrid-small`` below."""
    if name != AUTO:
        return name
    if shape is not None and min(shape[:2]) < WATERMARKS.get("ssgrid").min_side:
        return SMALL_METHOD
    return "ssgrid"


def watermark_method(name: str = DEFAULT_METHOD, shape: tuple[int, ...] | None = None, key: int | None = None,
           **options: float) -> WatermarkMethod:
    """An instance of the watermark method registered as ``name`` (``auto``: chosen for ``shape``),
    keyed with ``key`` when the method is keyed (None: :data:`PUBLIC_KEY`); ``options`` go to its constructor."""
    chosen = choose(name, shape)
    if key is not None and WATERMARKS.meta(chosen)["keyed"]:
        options = {**options, "key": key}
    return WATERMARKS.create(chosen, **options)


def embed_id(rgb: np.ndarray, content_id: str, name: str = DEFAULT_METHOD, key: int | None = None) -> np.ndarray:
    """``rgb`` with ``content_id`` embedded; raises :class:`TooSmall` below the method's size."""
    return watermark_method(name, rgb.shape, key).embed(rgb, encode_payload(content_id))


def read_id(rgb: np.ndarray, name: str = DEFAULT_METHOD, key: int | None = None) -> WatermarkReading:
    """Decode a content id; an image without a watermark reads ``absent`` (the check code fails)."""
    wm = watermark_method(name, rgb.shape, key)
    name = wm.name
    try:
        soft = wm.soft_bits(rgb)
    except TooSmall as exc:
        return WatermarkReading("too_small", name, reason=f"too small for a watermark: {exc}")
    return reading_from_soft(soft, name)


def read_image_mark(rgb: np.ndarray, recorded: dict | None = None, key: int | None = None) -> WatermarkReading:
    """The watermark reading of an image as stamp's read-back and verify (so comply) both take it: with the method
    ``recorded`` names (a stamp's ``watermark`` entry), else the one ``auto`` picks for the image's size."""
    return read_id(rgb, (recorded or {}).get("method") or choose(AUTO, rgb.shape), key)


def soft_bits_frames(frames: np.ndarray, name: str = DEFAULT_METHOD, key: int | None = None) -> np.ndarray:
    """Each bit's soft statistic averaged over video frames; raises :class:`TooSmall`."""
    wm = watermark_method(name, key=key)  # video: ``auto`` is ssgrid
    return np.mean([wm.soft_bits(frame) for frame in frames], axis=0)


def read_id_frames(frames: np.ndarray, name: str = DEFAULT_METHOD, key: int | None = None) -> WatermarkReading:
    """Decode a content id from video frames: each bit's soft statistic is averaged over the frames."""
    name = choose(name)
    try:
        soft = soft_bits_frames(frames, name, key)
    except TooSmall as exc:
        return WatermarkReading("too_small", name, reason=f"too small for a watermark: {exc}")
    return reading_from_soft(soft, name)


def reading_from_soft(soft: np.ndarray, name: str) -> WatermarkReading:
    """The reading for soft bit statistics (positive: 1): the id when the check code matches, else absent."""
    bits = (soft > 0).astype(np.uint8)
    if not np.any(soft):
        return WatermarkReading("absent", name, reason="no watermark signal (flat image)", bits=bits.tolist())
    cid = decode_payload(bits)
    if cid is None:
        return WatermarkReading("absent", name, reason="no watermark: check code does not match", bits=bits.tolist())
    return WatermarkReading("found", name, cid, "check code matches", bits.tolist())
