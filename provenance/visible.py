"""The explicit label: a visible "AI-generated" mark drawn on the pixels, and its check.

GB 45438 asks that a visible text label on an image be at least 5 % of the shorter side
high; the mark's text is at least that (and not below ``min_text_px`` so it stays
legible on small faces, unless that would be more than ``max_frac`` of the shorter side: the
mark scales with the image, so a 32 px face is not mostly covered), 6 % of the shorter side in from the edges so that a crop of up to
5 % per side keeps it whole. Where the mark was drawn is recorded at stamping; the check
re-renders it and compares it with the pixels at that place (scaled if the image was),
then anywhere in the image at other scales (a crop or a screenshot moves it).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

import numpy as np

from assay.core.registry import Registry

GB45438_MIN_FRAC = 0.05
#: the smallest text height (px) whose plate the pixel check still tells apart from image content
MIN_CHECKABLE_PX = 5
#: GB 45438: a video's visible label is shown in its first 2 seconds at least
MIN_MARK_SECONDS = 2.0

#: position name -> (x0, y0) of the plate given image (w, h), plate (pw, ph) and margin m
POSITIONS: Registry[Callable[[int, int, int, int, int], tuple[int, int]]] = Registry("mark position")
POSITIONS.register("bottom-right")(lambda w, h, pw, ph, m: (w - pw - m, h - ph - m))
POSITIONS.register("bottom-left")(lambda w, h, pw, ph, m: (m, h - ph - m))
POSITIONS.register("top-right")(lambda w, h, pw, ph, m: (w - pw - m, m))
POSITIONS.register("top-left")(lambda w, h, pw, ph, m: (m, m))


@dataclass
class MarkStyle:
    """How the visible mark looks. ``font`` is a TrueType/OpenType path (needed for CJK text).

    ``short_text`` is drawn instead of ``text`` on images too narrow for it, or where ``text``'s plate
    would cover more than ``max_area_frac`` of the image.
    """

    text: str = "AI-generated"
    short_text: str = "AI"
    position: str = "bottom-right"
    height_frac: float = 0.06
    min_text_px: int = 8
    max_frac: float = 0.12
    max_area_frac: float = 0.08
    text_color: str = "#ffffff"
    plate_color: str = "#000000"
    plate_opacity: float = 1.0
    font: str | None = None
    margin_frac: float = 0.06

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MarkStyle":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def _rgb(color: str) -> np.ndarray:
    from PIL import ImageColor

    return np.array(ImageColor.getrgb(color)[:3], np.float32)


def _font(style: MarkStyle, size: int):
    from PIL import ImageFont

    if style.font:
        return ImageFont.truetype(style.font, size)
    if any(ord(c) > 0x2E7F for c in style.text):
        raise ValueError(f"mark text {style.text!r} needs a font with those glyphs: give a font path (--font)")
    return ImageFont.load_default(size)


@dataclass
class _Layout:
    font_size: int
    text_height: int
    plate: tuple[int, int]
    text_offset: tuple[int, int]
    extra: dict[str, Any] = field(default_factory=dict)


def _layout(style: MarkStyle, short_side: int) -> _Layout:
    least = math.ceil(max(style.height_frac, GB45438_MIN_FRAC) * short_side)
    want = max(least, min(style.min_text_px, max(math.ceil(style.max_frac * short_side), MIN_CHECKABLE_PX)))
    size = want
    for _ in range(8):  # grow the font until its ink is at least `want` pixels high
        box = _font(style, size).getbbox(style.text)
        ink = box[3] - box[1]
        if ink >= want:
            break
        size += max(1, math.ceil((want - ink) * size / max(ink, 1)))
    pad = max(1, round(0.25 * ink))
    plate = (box[2] - box[0] + 2 * pad, ink + 2 * pad)
    return _Layout(size, ink, plate, (pad - box[0], pad - box[1]))


def render_plate(style: MarkStyle, short_side: int) -> tuple[np.ndarray, np.ndarray, _Layout]:
    """The mark as RGB pixels and a text mask (bool) for an image whose shorter side is ``short_side``."""
    from PIL import Image, ImageDraw

    lay = _layout(style, short_side)
    mask_img = Image.new("L", lay.plate, 0)
    ImageDraw.Draw(mask_img).text(lay.text_offset, style.text, fill=255, font=_font(style, lay.font_size))
    mask = np.asarray(mask_img, np.float32) / 255.0
    rgb = mask[..., None] * _rgb(style.text_color) + (1 - mask[..., None]) * _rgb(style.plate_color)
    return rgb, mask, lay


def apply_mark(rgb: np.ndarray, style: MarkStyle | None = None, in_place: bool = False
               ) -> tuple[np.ndarray, dict[str, Any]]:
    """Draw the mark; returns the new pixels (``rgb`` itself, drawn on, when ``in_place``) and the record the
    check needs."""
    style = style or MarkStyle()
    place = POSITIONS.get(style.position)
    h, w = rgb.shape[:2]
    fitting = []
    for text in dict.fromkeys([style.text, style.short_text]):
        candidate = replace(style, text=text)
        plate, mask, lay = render_plate(candidate, min(h, w))
        ph, pw = plate.shape[:2]
        if pw <= w and ph <= h:
            fitting.append((candidate, plate, mask, lay))
            if pw * ph <= style.max_area_frac * w * h:
                break
    if not fitting:
        raise ValueError(f"mark {style.text!r} ({pw}x{ph} px) does not fit a {w}x{h} image")
    style, plate, mask, lay = min(fitting, key=lambda f: (f[1].shape[0] * f[1].shape[1] > style.max_area_frac * w * h,
                                                           fitting.index(f)))
    ph, pw = plate.shape[:2]
    margin = min(round(style.margin_frac * min(h, w)), w - pw, h - ph)
    x0, y0 = place(w, h, pw, ph, margin)
    out = rgb if in_place else np.array(rgb, np.uint8)  # only the plate's box is blended in float
    region = out[y0:y0 + ph, x0:x0 + pw].astype(np.float32)
    alpha = np.maximum(mask, style.plate_opacity)[..., None]
    out[y0:y0 + ph, x0:x0 + pw] = np.clip(np.rint(alpha * plate + (1 - alpha) * region), 0, 255)
    # objects, not lists: c2pa stores a list of small ints as a CBOR byte string
    record = {"style": style.to_dict(), "box": {"x": x0, "y": y0, "width": pw, "height": ph},
              "image_size": {"width": w, "height": h},
              "text_height_px": lay.text_height, "text_height_frac": round(lay.text_height / min(h, w), 4)}
    return out, record


#: rows of pixels converted to grey at a time (bounds the copies of large images)
BAND_ROWS = 512


def _gray(rgb: np.ndarray) -> np.ndarray:
    """Pillow's ``L`` conversion of an RGB array as float32, a band of rows at a time."""
    from PIL import Image

    luma = np.empty(rgb.shape[:2], np.float32)
    for y in range(0, rgb.shape[0], BAND_ROWS):
        luma[y:y + BAND_ROWS] = np.asarray(Image.fromarray(np.ascontiguousarray(rgb[y:y + BAND_ROWS])).convert("L"))
    return luma


def _template(plate: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    img = Image.fromarray(np.rint(plate).astype(np.uint8))
    method = Image.BOX if size[0] < img.width else Image.BILINEAR
    return np.asarray(img.resize(size, method).convert("L"), np.float32)


def _best_match(luma: np.ndarray, template: np.ndarray) -> tuple[float, tuple[int, int]]:
    import cv2

    th, tw = template.shape
    if th > luma.shape[0] or tw > luma.shape[1] or template.std() == 0:
        return -1.0, (0, 0)
    scores = cv2.matchTemplate(luma, template, cv2.TM_CCOEFF_NORMED)
    _, best, _, at = cv2.minMaxLoc(scores)
    return float(best), (int(at[0]), int(at[1]))


def check_mark(rgb: np.ndarray, record: dict[str, Any] | None, min_correlation: float = 0.6,
               search_correlation: float = 0.75) -> dict[str, Any]:
    """Is the recorded mark on these pixels? pass / fail / absent with the reason.

    The mark is re-rendered, scaled to where the record puts it on this image (which may
    have been resized) and compared by normalised cross-correlation of luma, which
    tolerates compression, blur and small colour shifts. When it is not there, the whole
    image is searched at scales 0.4 to 2.5 (a re-framed copy, such as a screenshot), with a
    stricter threshold since many places are tried.
    """
    if not record:
        return {"status": "absent", "reason": "no visible mark recorded for this file"}
    style = MarkStyle.from_dict(record["style"])
    w0, h0 = record["image_size"]["width"], record["image_size"]["height"]
    h, w = rgb.shape[:2]
    plate, _, _ = render_plate(style, min(h0, w0))
    luma = _gray(rgb)
    frac = record.get("text_height_frac", 0.0)
    box = record["box"]
    sx, sy = w / w0, h / h0
    bx0, by0 = round(box["x"] * sx), round(box["y"] * sy)
    bw, bh = round((box["x"] + box["width"]) * sx) - bx0, round((box["y"] + box["height"]) * sy) - by0
    corr, where = -1.0, "at its recorded place"
    if bw >= 4 and bh >= 3:
        # the scaled box may be off by a pixel after resizing: match within a one-pixel border
        y0, x0 = max(by0 - 1, 0), max(bx0 - 1, 0)
        corr, _ = _best_match(luma[y0:by0 + bh + 1, x0:bx0 + bw + 1], _template(plate, (bw, bh)))
    if corr < min_correlation:
        ph, pw = plate.shape[:2]
        for scale in [1.0, sx, sy, *(0.4 * 1.04 ** np.arange(48))]:
            size = (round(pw * scale), round(ph * scale))
            if size[0] < 6 or size[1] < 4:
                continue
            found, (x, y) = _best_match(luma, _template(plate, size))
            if found >= search_correlation and found > corr:
                corr, where = found, f"moved to ({x}, {y}) at scale {scale:.2f}"
        if not where.startswith("moved"):
            corr = min(corr, search_correlation - 1e-3)
    if corr >= min_correlation and frac < GB45438_MIN_FRAC:
        return {"status": "fail", "reason": f"mark found but its text is {frac:.1%} of the shorter side (< 5 %)"}
    if corr >= min_correlation:
        return {"status": "pass", "reason": f"{style.text!r} found {where} (correlation {corr:.2f})"}
    return {"status": "fail", "reason": f"{style.text!r} not found (correlation {corr:.2f} at its recorded place)"}
