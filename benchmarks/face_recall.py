"""Face finders against dlib's CNN detector: recall, box agreement and time per image.

For each set (LFW 250 px news photos, FRL London 1350 px portraits, CelebA-HQ 1024 px photos),
dlib's CNN (MMOD) detector gives the reference faces. Each finder of ``--finders`` (registry
names of ``assay.core.face_finders.FACE_FINDERS``) is run on the same files; a reference face is
found when a box of the finder overlaps it with IoU > ``--iou``. Reported per set and finder:
faces found of the reference's (recall), the median IoU of the matched boxes (both layouts are
dlib's, so this is box agreement), the finder's boxes that match no reference face, and the mean
seconds per image on one thread (the reference's too).

    PYTHONPATH=$PWD python benchmarks/face_recall.py [--finders hog,hog-half,blazeface] [--lfw 120] [--hires 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assay.core.clitools import err, print_table  # noqa: E402
from assay.core.face_finders import FoundFace, find_faces, iou  # noqa: E402
from assay.core.fileio import atomic_write_json  # noqa: E402
from assay.core.imageio import decode  # noqa: E402

DATA = Path(os.environ.get("ASSAY_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SETS = {"lfw": "lfw", "frl-london-1350": "real-hires/frl-london-1350", "celebahq-1024": "real-hires/celebahq-1024"}


def timed(finder: str, images: list[np.ndarray]) -> tuple[list[list[FoundFace]], float]:
    """Each image's faces and the mean seconds per image (one image per call, as a scan's slowest case)."""
    faces, start = [], time.perf_counter()
    for image in images:
        faces += find_faces([image], finder)
    return faces, (time.perf_counter() - start) / max(len(images), 1)


def agreement(reference: list[list[FoundFace]], found: list[list[FoundFace]], threshold: float) -> dict[str, Any]:
    """Reference faces matched by a found box (IoU > threshold), their median IoU, and unmatched found boxes."""
    matched, ious, extra = 0, [], 0
    for ref, got in zip(reference, found):
        boxes = np.array([f.box for f in got], float).reshape(-1, 4)
        used = np.zeros(len(boxes), bool)
        for face in ref:
            if not len(boxes):
                break
            overlap = np.where(used, 0.0, iou(np.array(face.box, float), boxes))
            best = int(np.argmax(overlap))
            if overlap[best] > threshold:
                matched, used[best] = matched + 1, True
                ious.append(float(overlap[best]))
        extra += int((~used).sum())
    total = sum(len(r) for r in reference)
    return {"reference_faces": total, "found": matched, "recall": matched / max(total, 1),
            "median_iou": float(np.median(ious)) if ious else 0.0, "unmatched_boxes": extra}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--finders", default="hog,hog-half,blazeface")
    ap.add_argument("--lfw", type=int, default=120, help="first N LFW files")
    ap.add_argument("--hires", type=int, default=20, help="first N files of each high-resolution set")
    ap.add_argument("--iou", type=float, default=0.3)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/face_recall.json"))
    args = ap.parse_args()
    if not (DATA / "lfw").is_dir():
        raise SystemExit(f"face data not found under {DATA} (set ASSAY_SHARED_DATA)")
    results: dict[str, Any] = {"machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                                           "load_at_start": os.getloadavg()[0]},
                               "args": {k: str(v) for k, v in vars(args).items()}, "sets": {}}
    rows = []
    for name, folder in SETS.items():
        files = sorted((DATA / folder).glob("*.jpg"))[:args.lfw if name == "lfw" else args.hires]
        images = [decode(f) for f in files]
        reference, ref_s = timed("cnn", images)
        err.print(f"{name}: {len(files)} files, dlib CNN {sum(map(len, reference))} faces, {ref_s:.3f} s an image",
                  markup=False, highlight=False)
        entry: dict[str, Any] = {"files": len(files), "reference_faces": sum(map(len, reference)),
                                 "reference_s_per_image": ref_s, "finders": {}}
        for finder in args.finders.split(","):
            found, seconds = timed(finder, images)
            entry["finders"][finder] = {**agreement(reference, found, args.iou), "s_per_image": seconds}
            r = entry["finders"][finder]
            rows.append({"set": name, "finder": finder, "found / CNN": f"{r['found']} / {r['reference_faces']}",
                         "recall": round(r["recall"], 3), "median IoU": round(r["median_iou"], 3),
                         "unmatched": r["unmatched_boxes"], "ms / image": round(1000 * seconds, 1)})
        results["sets"][name] = entry
        atomic_write_json(args.out, results)
    print_table(rows, list(rows[0]), title="face finders against dlib's CNN detector")
    err.print(f"results written to {args.out}", markup=False, highlight=False)


if __name__ == "__main__":
    main()
