"""What a detector was trained on, and whether an image lies inside it.

A :class:`DomainProfile` is recorded at training time: the sizes of the images the detector
saw (after its own rescaling, :meth:`detect.base.Detector.view`), the source resolutions,
the codecs and JPEG quality range of its training images (encode path and augmentations
included), and statistics of a detector-independent feature on the real training images:
the low- and mid-frequency half of the azimuthal power spectrum, which says how sharp,
noisy or smooth an image is (generator traces sit in the highest frequencies, left out).
The same statistics are kept for the synthetic training images, and an image is unlike
the training data only when it is far from both classes: a fake is not out of domain for
being a fake. :meth:`DomainProfile.check` gives the reasons an image is out of domain; a
scan turns an out-of-domain face into the verdict "uncertain".
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from assay.detect.spectra import azimuthal_spectrum

DOMAIN_FILE = "domain.json"
#: a crop is in domain from half the smallest to twice the largest training size (short side)
SIZE_SLACK = 2.0
#: JPEG quality this far below the lowest trained quality is out of domain
QUALITY_SLACK = 5
FEATURE_BINS = 16
#: the feature limit is this multiple of the 99th percentile of the real training distances
FEATURE_SLACK = 1.5
LOSSLESS = "lossless"
LOSSLESS_FORMATS = frozenset({"png", "bmp", "tiff", "tif", "gif", "ppm"})
#: the IJG standard luminance quantisation table (quality 50), in natural order
_IJG_LUMA = np.array([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
                      14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
                      92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=np.float64)


#: the kinds of out-of-domain reason, by how their text begins (a scan counts its uncertain files per kind)
REASON_KINDS = {"crop": "crop size", "codec": "codec", "JPEG quality": "JPEG quality", "image statistics": "image statistics"}


def reason_kind(reason: str) -> str:
    """The short kind of an out-of-domain reason ("crop size", "codec", ...), for tables and counts."""
    return next((kind for start, kind in REASON_KINDS.items() if reason.startswith(start)), "other")


def domain_feature(image: np.ndarray) -> np.ndarray:
    """The low/mid-frequency half of a 16-bin azimuthal log power spectrum (generator traces excluded)."""
    return azimuthal_spectrum(image, FEATURE_BINS)[1:FEATURE_BINS // 2]


def jpeg_quality(quant_table: Sequence[int]) -> int:
    """Estimate the IJG quality (1-100) that produced a luminance quantisation table."""
    q = np.asarray(quant_table, dtype=np.float64)[:64]
    scale = float(np.median(q / _IJG_LUMA)) * 100.0  # IJG: table = base * scale / 100
    quality = (200.0 - scale) / 2.0 if scale <= 100.0 else 5000.0 / scale
    return int(np.clip(round(quality), 1, 100))


def codec_of(data: bytes | str | Path) -> dict[str, Any]:
    """``{"codec": "jpeg"|"lossless"|"webp"|..., "quality": int | None}`` of an encoded image."""
    from PIL import Image

    raw = Path(data).read_bytes() if isinstance(data, (str, Path)) else data
    with Image.open(io.BytesIO(raw)) as img:
        fmt = (img.format or "unknown").lower()
        if fmt in ("jpeg", "mpo"):
            tables = getattr(img, "quantization", None) or {}
            return {"codec": "jpeg", "quality": jpeg_quality(tables[0]) if 0 in tables else None}
    return {"codec": LOSSLESS if fmt in LOSSLESS_FORMATS else fmt, "quality": None}


def _distance(feature: np.ndarray, stats: dict[str, Any]) -> float:
    z = (feature - np.asarray(stats["mean"])) / np.asarray(stats["std"])
    return float(np.sqrt((z ** 2).mean()))


@dataclass
class DomainProfile:
    """The training domain of a detector (JSON in ``domain.json``)."""

    sizes: tuple[int, int]  #: smallest and largest short side of the training images, as the detector saw them
    resolutions: dict[str, int]  #: source resolutions "WxH" -> count (the most common ones)
    codecs: dict[str, list[int] | None]  #: codec -> [lowest, highest] JPEG quality (None: any / lossless)
    #: per class ("real", "synthetic"): feature ``mean``, ``std`` and the distance ``limit`` (99th
    #: percentile of the class's own training distances x 1.5)
    features: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def build(cls, images: Sequence[np.ndarray], labels: np.ndarray, codecs: dict[str, list[int] | None],
              sources: Sequence[tuple[int, int]] = ()) -> "DomainProfile":
        """From the (viewed) training images and labels and the codecs they went through."""
        sides = [min(img.shape[:2]) for img in images]
        res = Counter(f"{w}x{h}" for h, w in (sources or [img.shape[:2] for img in images]))
        features = {}
        for label, cls_name in ((0, "real"), (1, "synthetic")):
            feats = np.stack([domain_feature(img) for img, y in zip(images, labels) if y == label])
            stats = {"mean": feats.mean(axis=0).tolist(), "std": (feats.std(axis=0) + 1e-3).tolist()}
            dist = [_distance(f, stats) for f in feats]
            features[cls_name] = {**stats, "limit": float(np.quantile(dist, 0.99) * FEATURE_SLACK)}
        return cls((int(min(sides)), int(max(sides))), dict(res.most_common(10)), codecs, features)

    def distance(self, image: np.ndarray) -> dict[str, float]:
        """The image's feature distance from each class's training images, in units of that class's limit."""
        f = domain_feature(image)
        return {k: _distance(f, v) / v["limit"] for k, v in self.features.items()}

    def check(self, image: np.ndarray, codec: dict[str, Any] | None = None) -> list[str]:
        """Why ``image`` (as the detector sees it) lies outside this domain; empty when inside."""
        reasons = []
        side, (lo, hi) = min(image.shape[:2]), self.sizes
        if side < lo / SIZE_SLACK or side > hi * SIZE_SLACK:
            reasons.append(f"crop {side} px outside the trained {lo}-{hi} px (x{1 / SIZE_SLACK:g}-x{SIZE_SLACK:g})")
        if codec and codec.get("codec"):
            name, quality = codec["codec"], codec.get("quality")
            trained = ", ".join(f"{k} q{v[0]}-{v[1]}" if v else k for k, v in sorted(self.codecs.items()))
            if name not in self.codecs:
                reasons.append(f"codec {name} not seen in training ({trained})")
            elif quality is not None and self.codecs[name] and quality < self.codecs[name][0] - QUALITY_SLACK:
                reasons.append(f"JPEG quality {quality} below the trained {trained}")
        if self.features and min(image.shape[:2]) >= 8:
            d = self.distance(image)
            if min(d.values()) > 1.0:
                reasons.append(f"image statistics unlike the training images ({d['real']:.1f}x the real, "
                               f"{d['synthetic']:.1f}x the synthetic limit)")
        return reasons

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DomainProfile":
        return cls(**{**d, "sizes": tuple(d["sizes"])})
