"""`assay data prepare`: a folder of photos -> a clean, aligned, labelled, identity-split face set.

Work is journalled per source file in the set's staging folder, so an interrupted run
resumes where it stopped; the manifest and the catalog row appear only when all is done.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from assay.core import faces, locks
from assay.core.catalog import CatalogError, Record
from assay.core.config import to_dict
from assay.core.engines import Engine
from assay.core.errors import (
    AssayError,
    EnvironmentFault,
    InputError,
    environment_fault,
    is_transient,
    machine_faults,
)
from assay.core.fileio import (
    append_jsonl,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_jsonl,
    read_json,
    read_jsonl,
)
from assay.core.imageio import MAX_PIXELS, ImageError, decode, encode, pixel_sha256
from assay.core.imagesets import MANIFEST
from assay.core.media import IMAGE_EXTS, iter_media
from assay.core.workspace import Workspace
from assay.data.layouts import LAYOUTS, LabelError, guess_layout
from assay.data.splits import assign_splits, cluster_identities
from assay.data.subjects import SubjectLinker, linker_from_file

SIZES = (32, 64, 128, 256)
#: ``--size native``: faces keep their source pixel scale (no resize; dlib alignment only rotates)
NATIVE = 0
ALIGNS = ("dlib", "center", "none")
NO_FACE = ("skip", "center")
#: shortest side (px) an image needs to be kept as a face crop (--align dlib or center)
MIN_FACE_SIDE = 16
JOURNAL = "journal.jsonl"
#: what the journal in a staging folder was made from: its source folder and the settings that shape each entry
JOURNAL_ORIGIN = "journal-origin.json"
JOURNAL_SETTINGS = ("size", "align", "detector", "no_face", "layout", "max_pixels", "embed")
REJECTS = "rejects.jsonl"
STAGES = ("decode", "detect", "align", "embed", "write")


@dataclass(frozen=True)
class PrepareConfig:
    """Options of ``assay data prepare``."""

    size: int = 64  # a side of SIZES, or NATIVE
    align: str = "dlib"  # dlib: FFHQ-style from 5 landmarks | center: centre square | none: whole image
    detector: str = "hog"  # hog | cnn
    no_face: str = "skip"  # what --align dlib does with a face-less file: skip | center
    layout: str = "auto"  # auto | utkface | identity-folders | none
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    max_pixels: int = MAX_PIXELS
    workers: int = 0  # 0: all cores
    embed: bool = True  # compute dlib face embeddings (identity clustering, leakage, consent)
    consent_file: str | None = None  # CSV/JSON linking faces to subject ids (see data/subjects.py)
    subjects_from_layout: bool = False  # each layout identity is a subject (keyed hash of its name)

    @classmethod
    def from_options(cls, split: str = "0.8,0.1,0.1", **fields: Any) -> "PrepareConfig":
        """A validated config from command-line style options (``split`` as ``train,val,test`` fractions)."""
        try:
            fractions = tuple(float(x) for x in split.split(","))
        except ValueError:
            raise InputError(f"--split must be three comma-separated fractions, got {split!r}") from None
        cfg = cls(fractions=fractions, **fields)  # type: ignore[arg-type]
        cfg.validate()
        return cfg

    def validate(self) -> None:
        """Raise :class:`InputError` (a ValueError) naming the first option no prepare could use."""
        checks = [
            (self.size in SIZES or self.size == NATIVE,
             f"--size must be one of {', '.join(map(str, SIZES))} or native, got {self.size}"),
            (self.align in ALIGNS, f"--align must be one of {ALIGNS}, got {self.align!r}"),
            (self.detector in faces.FACE_DETECTORS, f"--detector must be one of {', '.join(faces.FACE_DETECTORS)}, got {self.detector!r}"),
            (self.no_face in NO_FACE, f"--no-face must be one of {NO_FACE}, got {self.no_face!r}"),
            (self.layout == "auto" or self.layout in LAYOUTS, f"--layout must be auto or one of {LAYOUTS.names()}"),
            (not (self.consent_file and self.subjects_from_layout), "--consent and --subjects-from-layout exclude each other"),
            (len(self.fractions) == 3 and abs(sum(self.fractions) - 1.0) <= 1e-6 and min(self.fractions) >= 0,
             f"--split must be three non-negative fractions summing to 1, got {','.join(map(str, self.fractions))}"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(message)


@dataclass
class PrepareResult:
    record: Record | None
    kept: int
    rejected: int
    rejects: list[dict[str, str]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    layout: str = "none"
    discarded: str | None = None  #: the source of an interrupted prepare under this name whose work was discarded


class Rejected(AssayError):
    """A source file that is skipped; ``str()`` is the one-line reason."""


def _source_key(path: Path) -> str:
    try:
        st = path.stat()
        return f"{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        return "unreadable"


def parse_size(text: str) -> int:
    """``--size``: a number of pixels, or ``native`` (:data:`NATIVE`)."""
    if text.strip().lower() == "native":
        return NATIVE
    try:
        return int(text)
    except ValueError:
        raise InputError(f"--size must be one of {', '.join(map(str, SIZES))} or native, got {text!r}") from None


def native_side(landmarks: np.ndarray) -> int:
    """The aligned crop's side at the face's own pixel scale (even, 32 to 4096)."""
    matrix = faces.similarity_transform(faces.eyes_and_nose(landmarks), faces.TEMPLATE)
    return int(np.clip(round(1.0 / float(np.hypot(matrix[0, 0], matrix[1, 0]))), 32, 4096)) & ~1


def _crop_square(image: np.ndarray, size: int, squash: bool) -> tuple[np.ndarray, np.ndarray]:
    """Centre square crop (or the whole image when ``squash``) resized (``NATIVE``: left at its pixel
    scale); returns image and 2x3 source->output matrix."""
    h, w = image.shape[:2]
    if size == NATIVE:
        crop = image if squash else faces.center_crop(image)
        top, left = ((h - crop.shape[0]) // 2, (w - crop.shape[1]) // 2)
        return np.ascontiguousarray(crop), np.array([[1.0, 0.0, -left], [0.0, 1.0, -top]])
    if squash:
        crop, top, left, sy, sx = image, 0, 0, size / h, size / w
    else:
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        crop, sy, sx = faces.center_crop(image), size / side, size / side
    out = faces.resize(crop, size)
    matrix = np.array([[sx, 0.0, -left * sx], [0.0, sy, -top * sy]])
    return out, matrix


def process_file(path: Path, root: Path, layout: str, cfg: PrepareConfig, out_dir: Path) -> dict[str, Any]:
    """Decode, label, find, align, embed and write one source file.

    Returns a journal entry: ``{"status": "kept", "row": {...}}`` or ``{"status": "rejected", "reason": ...}``.
    A fault of the machine (disk full, I/O error) is no fault of the file: it raises
    :class:`EnvironmentFault`, and the file is done again when the run is resumed.
    """
    times = dict.fromkeys(STAGES, 0.0)
    rel = str(path.relative_to(root)) if path != root else path.name

    def done(entry: dict[str, Any]) -> dict[str, Any]:
        return {"source": rel, "key": _source_key(path), "times": times, **entry}

    try:
        try:
            labels = LAYOUTS.get(layout)(path, root)
        except LabelError as exc:
            raise Rejected(str(exc)) from None
        t = time.process_time()
        try:
            image = decode(path, max_pixels=cfg.max_pixels, work="prepare")
        except ImageError as exc:
            raise Rejected(str(exc)) from None
        times["decode"] = time.process_time() - t
        if cfg.align != "none" and min(image.shape[:2]) < MIN_FACE_SIDE:
            raise Rejected(f"too small to be a face: {image.shape[1]}x{image.shape[0]} (the shorter side must be "
                           f"at least {MIN_FACE_SIDE} px)")

        t = time.process_time()
        found = faces.detect_faces(image, cfg.detector)
        times["detect"] = time.process_time() - t
        face = found[0] if found else None
        if face is None and cfg.align == "dlib" and cfg.no_face == "skip":
            raise Rejected("no face found")

        t = time.process_time()
        if face is not None and cfg.align == "dlib":
            out, matrix = faces.align(image, face.landmarks, cfg.size or native_side(face.landmarks))
            method = "dlib"
        else:
            out, matrix = _crop_square(image, cfg.size, squash=cfg.align == "none")
            method = "center" if cfg.align != "none" else "none"
        times["align"] = time.process_time() - t

        row: dict[str, Any] = {
            "source": rel,
            "source_sha256": pixel_sha256(image),
            "source_size": [int(image.shape[1]), int(image.shape[0])],
            "label": "real",
            "labels": labels.labels,
            "identity": labels.identity,
            "align": method,
            "face_found": face is not None,
            "face_count": len(found),
        }
        if face is not None:
            row["box"] = [int(v) for v in face.box]
            row["landmarks"] = np.round(faces.transform_points(matrix, face.landmarks), 2).tolist()
            if cfg.embed:
                t = time.process_time()
                row["embedding"] = np.round(faces.embed(image, face.landmarks, face.box), 5).tolist()
                times["embed"] = time.process_time() - t

        t = time.process_time()
        sha = pixel_sha256(out)
        name = f"{row['source_sha256'][:24]}.png"
        target = out_dir / "images" / name
        if not target.exists():
            atomic_write_bytes(target, encode(out, "png"))
        times["write"] = time.process_time() - t
        row.update({"file": f"images/{name}", "sha256": sha, "size": cfg.size or int(min(out.shape[:2]))})
        return done({"status": "kept", "row": row})
    except Rejected as exc:
        return done({"status": "rejected", "reason": str(exc)})
    except EnvironmentFault:
        raise
    except Exception as exc:  # one bad file never stops the batch
        if is_transient(exc):
            raise environment_fault(exc) from None  # type: ignore[arg-type]
        return done({"status": "rejected", "reason": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"})


@dataclass(frozen=True)
class PrepareTask:
    """Preparing files as a batch job (:class:`assay.core.engines.Task`): item = {path}."""

    root: str
    layout: str
    cfg: PrepareConfig
    out_dir: str
    wants_gpu = False

    def setup(self) -> None:
        """Nothing to load: dlib's models load on first use in each worker."""

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        return process_file(Path(item["path"]), Path(self.root), self.layout, self.cfg, Path(self.out_dir))


def prepare(
    ws: Workspace,
    src: str | Path,
    name: str,
    cfg: PrepareConfig = PrepareConfig(),
    progress: Callable[[int, int, int], None] | None = None,
    engine: Engine | None = None,
) -> PrepareResult:
    """Prepare the photos under ``src`` as data set ``name`` in ``ws``.

    ``progress(done, kept, rejected)`` is called after each file. Files already in the
    journal of an interrupted run with this name are not redone. ``engine`` runs the files
    (default: this machine's processes, ``cfg.workers`` of them); on a Ray cluster of several
    machines the source and the workspace must be on a file system every node reads.
    """
    cfg.validate()
    src = Path(src)
    if not src.exists():
        raise FileNotFoundError(f"source folder {src} does not exist")
    try:
        existing = ws.catalog.get(name, "datasets")
    except CatalogError:
        existing = None
    if existing is not None:
        raise CatalogError(f"a data set named {name!r} already exists ({existing.id}); choose another --out")
    linker = None
    if cfg.consent_file:
        linker = linker_from_file(ws.root, cfg.consent_file)
    elif cfg.subjects_from_layout:
        linker = SubjectLinker(ws.root, from_layout=True)

    staging = ws.staging_dir("datasets", name)
    with locks.hold(staging.parent / f"{staging.name}.lock", f"data set {name!r}"):
        return _prepare_in(ws, src, name, cfg, progress, linker, engine or Engine(workers=cfg.workers))


def _prepare_in(ws: Workspace, src: Path, name: str, cfg: PrepareConfig,
                progress: Callable[[int, int, int], None] | None, linker: SubjectLinker | None,
                engine: Engine) -> PrepareResult:
    """The work of :func:`prepare`, holding the data set's lock."""
    staging, discarded = _staging(ws, name, src, cfg)
    journal = staging / JOURNAL
    entries = {e["source"]: e for e in read_jsonl(journal)}
    if journal.exists():  # drop a line torn by the interruption, or what is appended after it would be lost
        atomic_write_jsonl(journal, entries.values())

    listed = list(iter_media([src], recursive=True, exts=IMAGE_EXTS))
    root = src if src.is_dir() else src.parent
    walk_rejects = [{"source": _relative(p, root), "reason": why} for p, why in listed if why]
    files = [p for p, why in listed if not why]
    layout = guess_layout(files, root) if cfg.layout == "auto" else cfg.layout

    todo = []
    for path in files:
        rel = str(path.relative_to(root))
        prior = entries.get(rel)
        if prior is None or prior.get("key") != _source_key(path):
            todo.append({"path": str(path)})
    kept = sum(1 for e in entries.values() if e["status"] == "kept")
    rejected = len(entries) - kept
    done = len(entries)
    with machine_faults():
        for entry in engine.map(PrepareTask(str(root), layout, cfg, str(staging)), todo):
            append_jsonl(journal, entry)
            entries[entry["source"]] = entry
            if entry["status"] == "kept":
                kept += 1
            else:
                rejected += 1
            done += 1
            if progress:
                progress(done, kept, rejected)
        result = _finish(ws, name, src, cfg, layout, staging, [entries[str(p.relative_to(root))] for p in files],
                         walk_rejects, linker)
    result.discarded = discarded
    return result


def _staging(ws: Workspace, name: str, src: Path, cfg: PrepareConfig) -> tuple[Path, str | None]:
    """The staging folder of data set ``name``, and the source of an interrupted prepare it held, if discarded.

    A journal left by an interrupted prepare of the same source with the same settings is
    kept (the run resumes); one of another source or other settings is discarded with its
    faces, so that none of them ends up in this set.
    """
    staging = ws.staging_dir("datasets", name)
    origin = {"source": str(src.resolve()), "settings": {k: getattr(cfg, k) for k in JOURNAL_SETTINGS}}
    try:
        prior = read_json(staging / JOURNAL_ORIGIN)
    except (OSError, ValueError):
        prior = None
    discarded = None
    if prior != origin and any(staging.iterdir()):
        discarded = prior.get("source", "an unknown source") if isinstance(prior, dict) else "an unknown source"
        shutil.rmtree(staging)
        staging = ws.staging_dir("datasets", name)
    atomic_write_json(staging / JOURNAL_ORIGIN, origin)
    (staging / "images").mkdir(exist_ok=True)
    return staging, discarded


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _finish(ws: Workspace, name: str, src: Path, cfg: PrepareConfig, layout: str, staging: Path,
            entries: list[dict[str, Any]], walk_rejects: list[dict[str, str]],
            linker: SubjectLinker | None = None) -> PrepareResult:
    """Deduplicate, link subjects, split by identity, write manifest and rejects report, register."""
    timings = dict.fromkeys(STAGES, 0.0)
    for e in entries:
        for k, v in e.get("times", {}).items():
            timings[k] += v
    rejects = list(walk_rejects) + [{"source": e["source"], "reason": e["reason"]} for e in entries if e["status"] != "kept"]
    rows, first_of = [], {}
    for e in sorted((e for e in entries if e["status"] == "kept"), key=lambda e: e["source"]):
        row = e["row"]
        dup = first_of.get(row["source_sha256"])
        if dup is not None:
            rejects.append({"source": row["source"], "reason": f"duplicate of {dup} (same decoded pixels)"})
            continue
        first_of[row["source_sha256"]] = row["source"]
        rows.append(dict(row))

    if linker is not None:
        for row in rows:
            row["subject_id"] = linker.subject_of(row)
    _identity_groups(rows)
    for row, split in zip(rows, assign_splits([r["group"] for r in rows], cfg.fractions, cfg.seed)):
        row["split"] = split
    atomic_write_jsonl(staging / REJECTS, rejects)
    if not rows:
        return PrepareResult(None, 0, len(rejects), rejects, timings, layout)

    atomic_write_jsonl(staging / MANIFEST, rows)
    (staging / JOURNAL).unlink(missing_ok=True)
    (staging / JOURNAL_ORIGIN).unlink(missing_ok=True)
    counts = {s: sum(1 for r in rows if r["split"] == s) for s in ("train", "val", "test")}
    group_sizes = Counter(r["group"] for r in rows)
    params = {**to_dict(cfg), "source": str(src.resolve()), "layout": layout, "count": len(rows),
              "rejected": len(rejects), "splits": counts, "identities": len(group_sizes),
              "largest_identity_group": max(group_sizes.values())}
    if linker is not None:
        params["subjects"] = sorted({r["subject_id"] for r in rows if r["subject_id"]})
        params["unlinked_faces"] = sum(1 for r in rows if not r["subject_id"])
    rec = ws.commit("datasets", name, staging, params)
    ws.catalog.add_rejects(rec.id, [(r["source"], r["reason"]) for r in rejects])
    return PrepareResult(rec, len(rows), len(rejects), rejects, timings, layout)


def _identity_groups(rows: list[dict[str, Any]]) -> None:
    """Set each row's ``group``: the layout's identity, else a face-embedding cluster, else the image itself."""
    need = [i for i, r in enumerate(rows) if not r.get("identity") and r.get("embedding")]
    if need:
        labels = cluster_identities(np.array([rows[i]["embedding"] for i in need]), faces.SAME_PERSON_DISTANCE)
        for i, label in zip(need, labels):
            rows[i]["identity_cluster"] = int(label)
    for r in rows:
        if r.get("identity"):
            r["group"] = f"id:{r['identity']}"
        elif "identity_cluster" in r:
            r["group"] = f"cluster:{r['identity_cluster']}"
        else:
            r["group"] = f"image:{r['source_sha256']}"

