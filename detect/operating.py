"""`assay detect calibrate`: set a detector's threshold on the user's own real photos.

A threshold that keeps the false-positive rate at a target on photos from the user's domain
(camera, codec, resolution) is worth more than the 0.5 of a calibration fitted on the
training distribution. The folder is split in two halves by a hash of each file's name:
the threshold is the conformal quantile of the first half's scores (the k-th smallest,
k = ceil((n + 1)(1 - target)), which keeps the expected false-positive rate at or below
the target), and the second half measures the rate it actually gives. Every photo is
scored the way a scan scores it: each face crop (or the whole image when no face is
found), the photo's score being its highest.
"""

from __future__ import annotations

import hashlib
import math
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from tqdm import tqdm

from assay.core.errors import ImageError, InputError
from assay.core.fileio import atomic_write_json
from assay.core.imageio import decode
from assay.core.media import IMAGE_EXTS, iter_media
from assay.core.workspace import Workspace
from assay.detect.base import THRESHOLD_FILE, Detector
from assay.detect.regions import DEFAULT_FINDER, find_regions


def conformal_threshold(real_scores: Sequence[float], target_fpr: float) -> float:
    """The score at or above which at most ``target_fpr`` of new real images are expected to fall."""
    s = np.sort(np.asarray(real_scores, dtype=np.float64))
    if not 0.0 < target_fpr < 1.0:
        raise InputError(f"target false-positive rate must be in (0, 1), got {target_fpr}")
    k = math.ceil((len(s) + 1) * (1.0 - target_fpr))
    if k > len(s):
        raise InputError(f"{len(s)} real images cannot support a {target_fpr:g} false-positive rate: "
                         f"give at least {math.ceil(1 / target_fpr)} images per half")
    return float(np.nextafter(s[k - 1], np.inf))  # strictly above the k-th smallest real score


def photo_scores(detector: Detector, images: Sequence[np.ndarray], margin: float = 0.25,
                 face_detector: str = DEFAULT_FINDER) -> np.ndarray:
    """Each photo's highest raw score over its face crops (whole image when no face is found)."""
    out = []
    for img in tqdm(images, desc="scoring real photos", unit="img", leave=False):
        regions = find_regions(img, margin=margin, face_detector=face_detector)
        p, z = detector.scores([r.pixels for r in regions])
        out.append(float(np.max(z if z is not None else p)))
    return np.asarray(out)


def halves(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """Split files into (fit, check) halves by a hash of their names: stable, order-free."""
    fit, check = [], []
    for p in paths:
        (fit if int(hashlib.sha256(p.name.encode()).hexdigest()[:8], 16) % 2 == 0 else check).append(p)
    return fit, check


def calibrate_on_folder(ws: Workspace, detector_ref: str | None, folder: Path, target_fpr: float = 0.01,
                        recursive: bool = True, margin: float = 0.25) -> dict[str, Any]:
    """Set and record the detector's threshold from a folder of the user's real photos."""
    from assay.detect.store import load_detector

    det, rec = load_detector(ws, detector_ref)
    paths = [p for p, problem in iter_media([folder], recursive, exts=IMAGE_EXTS) if problem is None]
    images, used, skipped = [], [], 0
    for p in paths:
        try:
            images.append(decode(p))
            used.append(p)
        except ImageError:
            skipped += 1
    fit, check = halves(used)
    index = {p: i for i, p in enumerate(used)}
    scores = photo_scores(det, images, margin)
    raw = conformal_threshold([scores[index[p]] for p in fit], target_fpr)
    check_scores = np.array([scores[index[p]] for p in check])
    prob = float(det.calibrator(np.array([raw]))[0]) if hasattr(det, "calibrator") else raw
    point = {"raw": raw, "probability": prob, "target_fpr": target_fpr, "folder": str(folder),
             "n_fit": len(fit), "n_check": len(check), "skipped": skipped,
             "check_fpr": float(np.mean(check_scores >= raw)) if len(check) else None,
             "at": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())}
    det.operating_point = point
    atomic_write_json(ws.path_of(rec) / THRESHOLD_FILE, point)
    ws.catalog.update(rec.id, {"threshold": point})
    return {"detector": rec.id, "name": rec.name, **point}
