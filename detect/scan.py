"""Scanning images and videos: per-file verdicts from a detector, with provenance signals beside them.

``scan_paths`` yields one result dict per file as it goes (schema ``assay.scan.result/1``,
documented in docs/detect_scan.md); :class:`Scan` does the same and, when the iteration
finishes, registers the scan in the catalog (kind ``scans``, parent = the detector) with
its JSON report in the scan's artefact folder.
"""

from __future__ import annotations

import json
import math
import secrets
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from assay.core.catalog import CatalogError, Record
from assay.core.engines import Engine
from assay.core.errors import AssayError, InputError, MediaError, ModelError
from assay.core.face_finders import FINDER_SIDE, FoundFace, find_faces
from assay.core.fileio import (
    append_jsonl,
    atomic_path,
    atomic_write_jsonl,
    check_writable_folder,
    read_json,
    read_jsonl,
)
from assay.core.imageio import decode_reduced
from assay.core.media import iter_media, media_kind
from assay.core.videoio import VideoReader
from assay.core.workspace import Workspace
from assay.detect.base import Detector
from assay.detect.domain import reason_kind
from assay.detect.regions import DEFAULT_FINDER, WHOLE_IMAGE, Region, crop_box, regions_of
from assay.detect.signals import NOT_READ, declared_synthetic, provenance_signals

RESULT_SCHEMA = "assay.scan.result/1"
REPORT_SCHEMA = "assay.scan.report/1"
REPORT_FILE = "report.json"
RESULTS_FILE = "results.jsonl"
#: video frames are decoded from a video codec: out of domain for a detector trained on photos
VIDEO_CODEC = {"codec": "video", "quality": None}
SYNTHETIC, REAL, UNCERTAIN = "synthetic", "real", "uncertain"
#: the threshold when neither the scan nor the detector (``assay detect calibrate``) sets one
DEFAULT_THRESHOLD = 0.5
#: reduced decode: pixels a face crop keeps beyond the detector's view size (crop boxes round to even pixels)
VIEW_SLACK = 2


def failure(exc: Exception) -> str:
    """One line saying why a file could not be scanned."""
    if isinstance(exc, MediaError):
        return str(exc)
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'failed'}"


@dataclass
class ScanOptions:
    """How files are scanned; saved in the scan's report."""

    threshold: float | None = None  #: flag at P(synthetic) >= this; None: the detector's calibrated one, else 0.5
    margin: float = 0.25  #: face crop = face box grown by this fraction of its side on every side
    face_detector: str = DEFAULT_FINDER  #: assay.core.face_finders.FACE_FINDERS name (hog, cnn, hog-half, blazeface, crop, auto)
    max_faces: int | None = None  #: score at most this many faces per image or frame (largest first)
    frame_every_s: float = 1.0  #: video: sample one frame per this many seconds
    max_frames: int | None = 300  #: video: stop after this many sampled frames
    video_fraction: float = 0.5  #: video: flagged when at least this fraction of sampled frames is flagged
    explain_dir: str | None = None  #: write explanation images here
    workers: int = 0  #: processes (or Ray actors) scanning in parallel (0: every core on CPU, one process with CUDA)
    engine: str = "local"  #: where the files are scanned: assay.core.engines.ENGINES (local, ray)
    address: str | None = None  #: the Ray cluster's address (None: a new one on this machine)
    batch: int = 16  #: images per batch: their faces found together, their regions scored in one detector call
    provenance: bool = True  #: read C2PA and the invisible watermark of each file (False: detector scores only)
    #: decode JPEGs reduced in the DCT domain (1/2, 1/4, 1/8) to what the face finder needs, then each image again
    #: at what its smallest face crop needs for the detector's view (native pixels where it has no view size);
    #: each result's ``decode_scale`` says which scale its regions were cut at
    reduced_decode: bool = False

    def __post_init__(self) -> None:
        """Refuse options no scan could use, with a one-line reason (:class:`InputError`), before any work."""
        from assay.core.engines import check_engine
        from assay.core.faces import FACE_DETECTORS

        problems = [
            (self.threshold is not None and not 0.0 <= self.threshold <= 1.0,
             f"--threshold must be in [0, 1], got {self.threshold}"),
            (self.margin < 0, f"--margin must be >= 0, got {self.margin}"),
            (self.face_detector not in FACE_DETECTORS,
             f"--face-detector must be one of {', '.join(FACE_DETECTORS)}, got {self.face_detector!r}"),
            (self.max_faces is not None and self.max_faces < 1, f"--max-faces must be >= 1, got {self.max_faces}"),
            (self.frame_every_s <= 0, f"--every must be positive, got {self.frame_every_s}"),
            (self.max_frames is not None and self.max_frames < 1, f"--max-frames must be >= 1, got {self.max_frames}"),
            (not 0.0 < self.video_fraction <= 1.0, f"--video-fraction must be in (0, 1], got {self.video_fraction}"),
            (self.workers < 0, f"--workers must be >= 0, got {self.workers}"),
            (self.batch < 1, f"--batch must be >= 1, got {self.batch}"),
        ]
        for bad, reason in problems:
            if bad:
                raise InputError(reason)
        check_engine(self.engine)


@dataclass(frozen=True)
class Decoded:
    """Where an image's pixels came from: its file, the (width, height) of its full-size decode, and
    whether it was decoded reduced (then its crops may need a second decode: :meth:`Scanner._regions`)."""

    path: Path
    size: tuple[int, int]
    reduced: bool = False

    def full_size(self, image: np.ndarray) -> bool:
        """Whether ``image`` is this file at full size."""
        return (image.shape[1], image.shape[0]) == self.size


class Scanner:
    """Scores files one at a time with one detector; what a scan worker process holds."""

    def __init__(self, detector: Detector, options: ScanOptions | None = None,
                 detector_info: dict[str, Any] | None = None, ws: Workspace | None = None) -> None:
        self.detector = detector
        self.ws = ws  #: where provenance content ids are looked up
        self.options = options or ScanOptions()
        self.detector_info = detector_info or {"id": None, "name": None, "type": getattr(detector, "name", None)}
        point = getattr(detector, "operating_point", None)
        self.threshold = (self.options.threshold if self.options.threshold is not None
                          else float(point["probability"]) if point else DEFAULT_THRESHOLD)
        #: a calibrated operating point is set on raw scores: compared there, clipped probabilities cannot tie
        self.raw_threshold = float(point["raw"]) if point and self.options.threshold is None else None

    # -- regions ---------------------------------------------------------------
    def _score(self, image: np.ndarray, timing: dict[str, float], codec: dict[str, Any] | None,
               source: "Decoded | None" = None) -> tuple[list[Region], list[dict[str, Any]]]:
        """The regions of an image and a row per region: scores, domain check and verdict."""
        return self._score_batch([image], [timing], [codec], [source])[0]

    def _score_batch(self, images: Sequence[np.ndarray], timings: Sequence[dict[str, float]],
                     codecs: Sequence[dict[str, Any] | None], sources: Sequence["Decoded | None"] | None = None
                     ) -> list[tuple[list[Region], list[dict[str, Any]]]]:
        """:meth:`_score` for several images: faces found in one batch, all regions scored in one call.
        The batch's time is shared out: face finding per image, the model's per region. An image
        decoded reduced (its ``source``) is decoded again where its face crops need more pixels."""
        t0 = time.perf_counter()
        opts = self.options
        faces = [f[:opts.max_faces] for f in find_faces(images, opts.face_detector)] if images else []
        t1 = time.perf_counter()
        found, redecoding = [], 0.0
        for k, (image, fs) in enumerate(zip(images, faces)):
            source = sources[k] if sources else None
            t = time.perf_counter()
            found.append(self._regions(image, fs, source))
            if source is not None and source.reduced:  # a second decode: counted as decoding
                spent = time.perf_counter() - t
                timings[k]["decode"] += spent
                redecoding += spent
        regions = [r for rs in found for r in rs]
        probs, raw = self.detector.scores([r.pixels for r in regions])
        probs = np.asarray(probs, dtype=np.float64)
        domain = getattr(self.detector, "domain", None)
        owner = [k for k, rs in enumerate(found) for _ in rs]
        reasons = [domain.check(self.detector.view(r.pixels), codecs[k]) if domain else None
                   for r, k in zip(regions, owner)]
        t2 = time.perf_counter()
        out, start = [], 0
        for rs, timing in zip(found, timings):
            timing["faces"] += (t1 - t0) / len(images)
            timing["model"] += (t2 - t1 - redecoding) * len(rs) / len(regions)
            rows = [self._row(r, probs[j], None if raw is None else float(raw[j]), reasons[j])
                    for r, j in zip(rs, range(start, start + len(rs)))]
            out.append((rs, rows))
            start += len(rs)
        return out

    def _regions(self, image: np.ndarray, faces: list[FoundFace], source: "Decoded | None") -> list[Region]:
        """The image's regions; for a reduced decode (``source``) cut from a decode at the scale its
        smallest crop needs to keep the detector's view size, decoded again when ``image`` is smaller."""
        if source is None or not source.reduced:
            return regions_of(image, faces, self.options.margin)
        scale = image.shape[1] / source.size[0]
        h, w = image.shape[:2]
        crops = [crop_box(f.box, image.shape, self.options.margin) for f in faces] or [(0, 0, w, h)]
        smallest = min(min(x1 - x0, y1 - y0) for x0, y0, x1, y1 in crops) / scale  # in the file's pixels
        need = self.detector.view_short_side()
        wanted = 1.0 if need is None else min(1.0, (need + VIEW_SLACK) / max(smallest, 1.0))
        if wanted > scale:
            again, _ = decode_reduced(source.path, math.ceil(min(source.size) * wanted) if wanted < 1 else None,
                                      work="scan")
            ratio = again.shape[1] / w
            faces = [FoundFace(tuple(int(round(v * ratio)) for v in f.box), f.score) for f in faces]  # type: ignore[misc]
            image, scale = again, again.shape[1] / source.size[0]
        return regions_of(image, faces, self.options.margin, scale)

    def _row(self, region: Region, p: float, raw: float | None, why: list[str] | None) -> dict[str, Any]:
        """One region's row: its scores, whether it is flagged, its verdict and domain check."""
        use_raw = self.raw_threshold is not None and raw is not None
        flagged = bool(raw >= self.raw_threshold) if use_raw else bool(p >= self.threshold)  # type: ignore[operator]
        verdict = UNCERTAIN if why else SYNTHETIC if flagged else REAL
        return {**region.to_dict(), "probability": float(p), "raw_score": raw, "flagged": flagged and not why,
                "verdict": verdict, "domain": {"in_domain": None if why is None else not why, "reasons": why or []}}

    @staticmethod
    def _decide(rows: list[dict[str, Any]]) -> dict[str, Any]:
        """A frame's or image's verdict from its regions: synthetic when an in-domain region is
        flagged, else uncertain when a region is out of domain, else real."""
        top = max(rows, key=lambda r: r["probability"])
        flagged = any(r["flagged"] for r in rows)
        uncertain = any(r["verdict"] == UNCERTAIN for r in rows)
        known = [r["domain"]["in_domain"] for r in rows]
        reasons = list(dict.fromkeys(x for r in rows for x in r["domain"]["reasons"]))
        return {"probability": top["probability"], "raw_score": top["raw_score"], "flagged": flagged,
                "verdict": SYNTHETIC if flagged else UNCERTAIN if uncertain else REAL,
                "domain": {"in_domain": None if None in known else all(known), "reasons": reasons}}

    def _explain(self, index: int, path: Path, tag: str, regions: list[Region]) -> list[str]:
        if not self.options.explain_dir:
            return []
        from assay.detect.explain import explain_regions

        stem = f"{index:05d}_{path.stem}{tag}"
        try:
            return explain_regions(self.detector, regions, Path(self.options.explain_dir), stem)
        except Exception as exc:  # an explanation that fails must not cost the file its verdict
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            print(f"warning: no explanation for {path}: {reason}", file=sys.stderr, flush=True)
            return []

    # -- files -----------------------------------------------------------------
    def scan_file(self, path: str | Path, index: int = 0, problem: str | None = None) -> dict[str, Any]:
        """One result dict for one file; a file that cannot be used gets ``status: error`` and a reason."""
        path = Path(path)
        kind = media_kind(path)
        timing = {"decode": 0.0, "faces": 0.0, "model": 0.0}
        start = time.perf_counter()
        result = self._blank(path, kind)
        try:
            if problem:
                raise MediaError(problem)
            body = self._scan_video(path, index, timing) if kind == "video" else self._scan_image(path, index, timing)
            result.update(body)
            result["status"] = "ok"
        except Exception as exc:  # a detector or decoder failure on one file must not end the scan
            result["error"] = failure(exc)
        return self._finish(path, result, timing, start)

    def scan_batch(self, items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Results for several files ({index, path, problem}), in order: the images' faces are found
        in one batch and all their regions scored in one detector call; videos, files with a
        problem, and (when the batch fails) every image are scanned one at a time with :meth:`scan_file`."""
        out: list[dict[str, Any] | None] = [None] * len(items)
        staged = []
        for k, item in enumerate(items):
            path = Path(item["path"])
            if item["problem"] or media_kind(path) != "image":
                out[k] = self.scan_file(path, item["index"], item["problem"])
                continue
            timing, start, result = {"decode": 0.0, "faces": 0.0, "model": 0.0}, time.perf_counter(), self._blank(path, "image")
            try:
                staged.append((k, result, timing, start, *self._decode(path, timing)))
            except Exception as exc:
                result["error"] = failure(exc)
                out[k] = self._finish(path, result, timing, start)
        try:
            scored = self._score_batch([s[4] for s in staged], [s[2] for s in staged], [s[5] for s in staged],
                                       [s[6] for s in staged]) if staged else []
        except Exception:  # some file in the batch broke the detector: each file on its own, so only it fails
            scored = None
        for n, (k, result, timing, start, image, _, source) in enumerate(staged):
            item = items[k]
            if scored is None:
                out[k] = self.scan_file(item["path"], item["index"], item["problem"])
                continue
            try:
                result.update(self._image_body(Path(item["path"]), item["index"], source, *scored[n]))
                result["status"] = "ok"
            except Exception as exc:
                result["error"] = failure(exc)
            out[k] = self._finish(Path(item["path"]), result, timing, start, image if source.full_size(image) else None)
        return out  # type: ignore[return-value]

    def _finish(self, path: Path, result: dict[str, Any], timing: dict[str, float], start: float,
                pixels: np.ndarray | None = None) -> dict[str, Any]:
        """A result with its provenance signals (when the scan reads them; ``pixels``: the file's full-size
        decode, not decoded again) and its timing."""
        t0 = time.perf_counter()
        result["provenance"] = provenance_signals(path, self.ws, pixels) if self.options.provenance else dict(NOT_READ)
        result["declared"] = SYNTHETIC if declared_synthetic(result["provenance"]) else None
        timing["provenance"] = time.perf_counter() - t0
        timing["total"] = time.perf_counter() - start
        result["timing_s"] = {k: round(v, 6) for k, v in timing.items()}
        return result

    def _blank(self, path: Path, kind: str) -> dict[str, Any]:
        return {
            "schema": RESULT_SCHEMA, "path": str(path), "media": kind, "status": "error", "error": None,
            "verdict": None, "flagged": None, "probability": None, "raw_score": None, "threshold": self.threshold,
            "domain": {"in_domain": None, "reasons": []},
            "fallback": None, "decode_scale": None, "width": None, "height": None, "faces_found": None, "regions": [],
            "video": None, "explain": [], "detector": self.detector_info,
        }

    def _decode(self, path: Path, timing: dict[str, float]) -> tuple[np.ndarray, dict[str, Any] | None, "Decoded"]:
        """The image's pixels (reduced to what the face finder needs with ``reduced_decode``), its codec
        (None when Pillow's header reader cannot tell), and where they came from."""
        from assay.detect.domain import codec_of

        t0 = time.perf_counter()
        reduced = self.options.reduced_decode
        image, size = decode_reduced(path, FINDER_SIDE.get(self.options.face_detector) if reduced else None,
                                     work="scan")
        try:
            codec: dict[str, Any] | None = codec_of(path)
        except Exception:  # decodable but not by Pillow's header reader: no codec check
            codec = None
        timing["decode"] += time.perf_counter() - t0
        return image, codec, Decoded(path, size, reduced)

    def _scan_image(self, path: Path, index: int, timing: dict[str, float]) -> dict[str, Any]:
        image, codec, source = self._decode(path, timing)
        return self._image_body(path, index, source, *self._score(image, timing, codec, source))

    def _image_body(self, path: Path, index: int, source: "Decoded", regions: list[Region],
                    rows: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            **self._decide(rows), "decode_scale": regions[0].scale,
            "fallback": regions[0].kind == WHOLE_IMAGE, "width": source.size[0], "height": source.size[1],
            "faces_found": sum(r.kind != WHOLE_IMAGE for r in regions), "regions": rows,
            "explain": self._explain(index, path, "", regions),
        }

    def _scan_video(self, path: Path, index: int, timing: dict[str, float]) -> dict[str, Any]:
        opts = self.options
        frames: list[dict[str, Any]] = []
        peak: tuple[float, list[Region], list[dict[str, Any]], float] | None = None
        video = VideoReader(path)
        it = video.frames(opts.frame_every_s, opts.max_frames)
        while True:
            t0 = time.perf_counter()
            frame = next(it, None)
            timing["decode"] += time.perf_counter() - t0
            if frame is None:
                break
            regions, rows = self._score(frame.image, timing, VIDEO_CODEC)
            decided = self._decide(rows)
            frames.append({"index": frame.index, "time_s": round(frame.time_s, 4), **decided,
                           "fallback": regions[0].kind == WHOLE_IMAGE, "regions": rows})
            if peak is None or decided["probability"] > peak[0]:
                peak = (decided["probability"], regions, rows, frame.time_s)
        info = video.info
        assert peak is not None  # VideoReader.frames raises when no frame decodes
        frame_probs = np.array([f["probability"] for f in frames])
        n_flagged = int(sum(f["flagged"] for f in frames))
        # the k-th highest frame probability, k = ceil(fraction * n); flagged when k frames are flagged
        k = max(1, math.ceil(opts.video_fraction * len(frames) - 1e-9))
        order = np.argsort(-frame_probs, kind="stable")
        kth = frames[int(order[k - 1])]
        flagged = n_flagged >= k
        uncertain = not flagged and any(f["verdict"] == UNCERTAIN for f in frames)
        peak_prob, peak_regions, peak_rows, peak_t = peak
        known = [f["domain"]["in_domain"] for f in frames]
        return {
            "probability": kth["probability"], "raw_score": kth["raw_score"], "flagged": flagged,
            "verdict": SYNTHETIC if flagged else UNCERTAIN if uncertain else REAL,
            "domain": {"in_domain": None if None in known else all(known),
                       "reasons": list(dict.fromkeys(x for f in frames for x in f["domain"]["reasons"]))},
            "fallback": all(f["fallback"] for f in frames), "decode_scale": 1.0, "width": info.width, "height": info.height,
            "faces_found": sum(r.kind != WHOLE_IMAGE for r in peak_regions),
            "regions": peak_rows,
            "video": {
                "fps": round(info.fps, 4), "frame_count": info.frame_count, "duration_s": round(info.duration_s, 4),
                "every_s": opts.frame_every_s, "frames_sampled": len(frames), "frames_flagged": n_flagged,
                "flagged_fraction": n_flagged / len(frames), "min_flagged_fraction": opts.video_fraction,
                "peak_probability": peak_prob, "peak_time_s": round(peak_t, 4), "frames": frames,
            },
            "explain": self._explain(index, path, f"_t{peak_t:.2f}s", peak_regions),
        }


# -- engines: each worker (process or Ray actor) holds its own Scanner -----------------
@dataclass
class ScanTask:
    """Scanning as a batch job (:class:`assay.core.engines.Task`): item = {"files": [{index, path, problem}, ...]},
    result = {"results": [...]}, one result per file (:meth:`Scanner.scan_batch`)."""

    scanner: Scanner
    wants_gpu = True

    def setup(self) -> None:
        """Nothing to load: the scanner arrives with its detector."""

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"results": self.scanner.scan_batch(item["files"])}


def scan_files(scanner: Scanner, jobs: Sequence[tuple[Path, str | None]], engine: Engine = Engine()
               ) -> Iterator[dict[str, Any]]:
    """Results in input order, from the ``engine`` (the local one: this process or a pool of
    ``engine.workers`` processes, 0 for every core, one process with CUDA), scanned in batches of
    up to ``scanner.options.batch`` files (smaller when there are fewer files than workers x batch).
    Batches follow :meth:`Engine.size`, so engines of as many workers batch, and so score, alike."""
    files = [{"index": i, "path": str(p), "problem": q} for i, (p, q) in enumerate(jobs)]
    if not files:
        return
    task = ScanTask(scanner)
    size = max(1, min(scanner.options.batch, math.ceil(len(files) / engine.size(task.wants_gpu))))
    batches = [{"files": files[i:i + size]} for i in range(0, len(files), size)]
    for out in engine.map(task, batches):
        yield from out["results"]


class Tally:
    """A scan's counts, kept as the results come, so that a scan of any size holds no results in memory."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys(("files", "scanned", "flagged", "uncertain", "errors", "images", "videos", "faces",
                                     "fallback", "declared_synthetic"), 0)
        self.errors: list[tuple[str, str]] = []  #: (path, reason) of the files that could not be scanned
        self.reasons: Counter[str] = Counter()  #: kind of out-of-domain reason -> uncertain files giving it
        self.provenance_checked = False

    def add(self, r: dict[str, Any]) -> None:
        c = self.counts
        c["files"] += 1
        c["declared_synthetic"] += r.get("declared") == SYNTHETIC
        self.provenance_checked |= r["provenance"].get("checked") is True
        if r["status"] != "ok":
            c["errors"] += 1
            self.errors.append((r["path"], r["error"]))
            return
        c["scanned"] += 1
        c["flagged"] += bool(r["flagged"])
        c["uncertain"] += r["verdict"] == UNCERTAIN
        if r["verdict"] == UNCERTAIN:
            self.reasons.update({reason_kind(x) for x in r["domain"]["reasons"]})
        c["images"] += r["media"] == "image"
        c["videos"] += r["media"] == "video"
        c["faces"] += (r["faces_found"] or 0) if r["media"] == "image" else 0
        c["fallback"] += bool(r["fallback"])

    def summary(self) -> dict[str, Any]:
        """Counts of the results so far, uncertain files per kind of reason, and the exit code they mean
        (0 clean, 1 flagged, 2 errors only)."""
        return {**self.counts, "reasons": dict(self.reasons.most_common()),
                "exit_code": exit_code(self.counts["flagged"], self.counts["errors"])}


def summarize(results: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Counts of a scan's results, and the exit code they mean (see :class:`Tally`)."""
    tally = Tally()
    for r in results:
        tally.add(r)
    return tally.summary()


def exit_code(flagged: int, errors: int) -> int:
    """1 when something was flagged, else 2 when some file could not be scanned, else 0."""
    return 1 if flagged else (2 if errors else 0)


def find_media(paths: Sequence[str | Path], recursive: bool = False) -> list[tuple[Path, str | None]]:
    """The (path, problem) pairs a scan of ``paths`` reads; :class:`InputError` when there are none."""
    jobs = list(iter_media(paths, recursive))
    if not jobs:
        raise InputError("no images or videos found under " + ", ".join(map(str, paths))
                         + ("" if recursive else " (use --recursive for sub-folders)"))
    return jobs


#: what a scan is given as its detector: a loaded one, a loaded one with its catalog row (as
#: :func:`assay.detect.load_detector` returns them, so a service loads once and records each scan
#: under its detector), a catalog id or name, or None for the most recent
DetectorRef = Detector | tuple[Detector, Record | None] | str | None


def resolve_detector(ws: Workspace, detector: DetectorRef) -> tuple[Detector, Record | None]:
    """A ready detector: given (with or without its record), or by catalog id/name, or the workspace's most recent."""
    if isinstance(detector, Detector):
        return detector, None
    if isinstance(detector, tuple):
        return detector
    from assay.detect.store import load_detector

    return load_detector(ws, detector)


class Scan:
    """A scan of some paths with one detector, recorded in the catalog when it completes.

    Iterate :meth:`run` to receive results as they are made; afterwards ``record`` is the
    catalog row (kind ``scans``) and ``summary`` the counts. Results are journalled in the
    scan's staging folder as they come, so an interrupted scan run again with the same
    ``name`` and ``resume`` skips the files it already scanned.
    """

    def __init__(self, ws: Workspace, detector: DetectorRef = None, options: ScanOptions | None = None,
                 name: str | None = None, record: bool = True, resume: bool = False) -> None:
        self.ws = ws
        self.options = options or ScanOptions()
        if resume and not name:
            raise InputError("--resume needs the --name of the interrupted scan")
        if resume and not record:
            raise InputError("--resume needs a recorded scan (the workspace is read-only)")
        if self.options.explain_dir is not None:
            check_writable_folder(self.options.explain_dir)  # before any file is scanned
        if record and name and any(r.name == name for r in ws.catalog.list("scans")):
            raise CatalogError(f"a scan named {name!r} already exists; choose another --name")
        try:
            self.detector, self.detector_record = resolve_detector(ws, detector)
        except AssayError:
            raise
        except Exception as exc:  # unreadable weights, a detector of a newer version: one line
            raise ModelError(f"cannot load detector {detector or '(most recent)'}: "
                             f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
        rec = self.detector_record
        info = {"id": rec.id if rec else None, "name": rec.name if rec else None,
                "type": getattr(self.detector, "name", type(self.detector).__name__)}
        self.scanner = Scanner(self.detector, self.options, info, ws)
        self.name = name or f"scan-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        self.save = record
        self.resume = resume
        self.summary: dict[str, Any] | None = None
        self.record: Record | None = None

    def run(self, paths: Sequence[str | Path], recursive: bool = False) -> Iterator[dict[str, Any]]:
        """Yield one result per file found under ``paths``; register the scan once all are done."""
        yield from self.run_jobs(list(iter_media(paths, recursive)), paths, recursive)

    def run_jobs(self, jobs: Sequence[tuple[Path, str | None]], paths: Sequence[str | Path],
                 recursive: bool = False) -> Iterator[dict[str, Any]]:
        """Like :meth:`run` for (path, problem) pairs already found with :func:`assay.core.media.iter_media`."""
        staging = self.ws.staging_dir("scans", self.name) if self.save else None
        done: dict[str, dict[str, Any]] = {}
        if staging is not None and self.resume:
            done = {r["path"]: r for r in read_jsonl(staging / RESULTS_FILE)}
        resumed = [done[str(p)] for p, _ in jobs if str(p) in done]
        if staging is not None:  # the journal holds exactly the results yielded, in order (a torn line dropped)
            atomic_write_jsonl(staging / RESULTS_FILE, resumed)
        todo = [(p, q) for p, q in jobs if str(p) not in done]
        tally = Tally()
        for result in resumed:
            tally.add(result)
            yield result
        engine = Engine(self.options.engine, self.options.workers, self.options.address)
        yield from self._journal(scan_files(self.scanner, todo, engine), staging, tally, paths, recursive)

    def scan_now(self, jobs: Sequence[tuple[Path, str | None]]) -> list[dict[str, Any]]:
        """Results for (path, problem) pairs in one batch, in this process, in order (images' faces found together,
        all their regions scored in one detector call); nothing journalled or recorded: see :meth:`record_results`."""
        return self.scanner.scan_batch([{"index": i, "path": str(p), "problem": q} for i, (p, q) in enumerate(jobs)])

    def record_results(self, results: Sequence[dict[str, Any]], paths: Sequence[str | Path]) -> Record | None:
        """Journal, count and (with ``record``) register results made by :meth:`scan_now` as this scan: what a
        service that batches several requests' files in one call records per request."""
        staging = self.ws.staging_dir("scans", self.name) if self.save else None
        if staging is not None:
            atomic_write_jsonl(staging / RESULTS_FILE, [])
        list(self._journal(results, staging, Tally(), paths, False))
        return self.record

    def _journal(self, results: Iterable[dict[str, Any]], staging: Path | None, tally: Tally,
                 paths: Sequence[str | Path], recursive: bool) -> Iterator[dict[str, Any]]:
        """Each result journalled (when recorded) and counted as it passes; then the summary and the catalog row."""
        for result in results:
            if staging is not None:
                append_jsonl(staging / RESULTS_FILE, result)
            tally.add(result)
            yield result
        self.summary = tally.summary()
        if staging is not None:
            self.record = self._commit(staging, tally, [str(p) for p in paths], recursive)

    def _commit(self, staging: Path, tally: Tally, paths: list[str], recursive: bool) -> Record:
        assert self.summary is not None
        head = {
            "schema": REPORT_SCHEMA, "name": self.name, "paths": paths, "recursive": recursive,
            "detector": self.scanner.detector_info, "options": asdict(self.options), "summary": self.summary,
            "provenance_checked": tally.provenance_checked,
        }
        _write_report(staging / REPORT_FILE, head, staging / RESULTS_FILE)
        params = {**self.summary, "paths": paths, "detector": self.scanner.detector_info["id"],
                  "threshold": self.scanner.threshold}
        parents = [self.detector_record.id] if self.detector_record else []
        rec = self.ws.commit("scans", self.name, staging, params=params, parents=parents)
        if tally.errors:
            self.ws.catalog.add_rejects(rec.id, tally.errors)
        return rec


def _write_report(path: Path, head: dict[str, Any], journal: Path) -> None:
    """The report: ``head`` with ``results`` copied line by line from the journal (never all in memory)."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as out, open(journal, encoding="utf-8") as lines:
        out.write(json.dumps(head, sort_keys=True, default=str)[:-1] + ', "results": [\n')
        for i, line in enumerate(lines):
            out.write(("," if i else "") + line)
        out.write("]}\n")


def scan_paths(ws: Workspace, paths: Sequence[str | Path], detector: Detector | str | None = None,
               recursive: bool = False, record: bool = True, **options: Any) -> Iterator[dict[str, Any]]:
    """Scan images and videos, yielding one result dict per file as it goes.

    ``detector`` is a loaded :class:`Detector`, a catalog id or name, or None for the most
    recent detector in the workspace; ``options`` are :class:`ScanOptions` fields. With
    ``record`` the finished scan is registered in the catalog (kind ``scans``).
    """
    yield from Scan(ws, detector, ScanOptions(**options), record=record).run(paths, recursive)


def load_report(ws: Workspace, ref: str) -> dict[str, Any]:
    """A recorded scan's JSON report, by scan id or name."""
    rec = ws.resolve(ref, "scans")
    return read_json(ws.path_of(rec) / REPORT_FILE)
