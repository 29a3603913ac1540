"""Stamping files and folders, as ``assay provenance stamp`` does: a :class:`StampRequest` (the command's options,
checked before any file is stamped) and one :class:`StampedFile` per file; a file that fails gets a one-line
reason and the others go on."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from tqdm import tqdm

from assay.core.errors import InputError, MediaError, machine_faults
from assay.core.fileio import check_writable_folder
from assay.core.workspace import Workspace
from assay.provenance.compliance import get_profiles, stamp_plan
from assay.provenance.consent.policy import Consent, require_consent
from assay.provenance.keys.keyfiles import SigningError, default_keys_dir
from assay.provenance.keys.settings import load_settings
from assay.provenance.keys.signing import SigningIdentity
from assay.provenance.manifest import SOURCE_TYPES
from assay.provenance.stamp.files import OutputExists, plan_outputs
from assay.provenance.stamp.options import FORMATS, LABELS, StampOptions, parse_labels
from assay.provenance.stamp.session import Stamper, stamping
from assay.provenance.visible import GB45438_MIN_FRAC, MIN_MARK_SECONDS, MarkStyle

#: the fields of a stamped file's row, in the order ``stamp`` prints them
ROW_FIELDS = ("file", "out", "content_id", "labels", "record", "note")


@dataclass(frozen=True)
class StampRequest:
    """What to stamp files with, in the terms of ``assay provenance stamp``'s options (the error messages name
    them); the defaults apply every label with the workspace's keys and settings."""

    labels: str | None = None  #: comma separated (None: every label, or what ``profiles`` need)
    profiles: tuple[str, ...] = ()  #: regulation profiles: exactly the labels they need, and the consent they need
    subjects: tuple[str, ...] = ()  #: subject ids whose face the files show: their consent is checked and referenced
    fmt: str | None = None  #: images' output format, png, jpg or webp (None: the input's)
    source_type: str = "created"  #: created (generated) or edited (an AI edit of ``parent``)
    parent: Path | None = None
    text: str = "AI-generated"  #: the visible mark's text
    font: Path | None = None
    position: str = "bottom-right"
    height: float = 0.06  #: the mark's text height as a fraction of the shorter side
    mark_seconds: float | None = None  #: video: seconds from the start that carry the mark (None: the whole clip)
    watermark_method: str = "auto"
    cert: Path | None = None  #: PEM chain, leaf first, with ``key`` (None: the workspace's keygen identity)
    key: Path | None = None
    tsa_url: str | None = None  #: None: the workspace settings'
    provider: str | None = None  #: None: the workspace settings'
    system_name: str | None = None
    system_version: str | None = None
    overwrite: bool = False  #: replace outputs (retiring their records) rather than skip those already stamped
    thumbnail: bool = False

    @property
    def output_format(self) -> str | None:
        """The images' output format as a stamper names it (``jpeg`` is ``jpg``), None for the input's."""
        return self.fmt.lower().lstrip(".").replace("jpeg", "jpg") if self.fmt else None

    def check(self) -> None:
        """Raise :class:`InputError` naming the option for a request that cannot be carried out as given."""
        if self.profiles and self.labels:
            raise InputError("--profile decides the labels; give --labels or --profile, not both")
        if self.mark_seconds is not None and self.mark_seconds < MIN_MARK_SECONDS:
            raise InputError(f"--mark-seconds must be at least {MIN_MARK_SECONDS:g} (the mark shows in a video's "
                             f"first {MIN_MARK_SECONDS:g} seconds)")
        if self.height < GB45438_MIN_FRAC:
            raise InputError(f"--height must be at least {GB45438_MIN_FRAC:g} (GB 45438: 5 % of the shorter side)")
        if self.fmt and "." + self.fmt.lower().lstrip(".") not in FORMATS:
            raise InputError(f"--format must be png, jpg or webp, got {self.fmt!r}")
        if self.source_type not in SOURCE_TYPES:
            raise InputError(f"--source-type must be created or edited, got {self.source_type!r}")
        if (self.source_type == "edited") != (self.parent is not None):
            raise InputError("--source-type edited needs --parent (the original photo), and --parent needs "
                             "--source-type edited")


@dataclass(frozen=True)
class StampedFile:
    """One file of a batch: where it was written, what it got, and ``failed`` with the reason in ``note``."""

    file: str
    out: str | None
    content_id: str | None = None
    labels: str = ""
    record: str | None = None
    note: str = ""
    failed: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The row ``assay provenance stamp`` prints (:data:`ROW_FIELDS`)."""
        return {name: getattr(self, name) for name in ROW_FIELDS}


def _labels_and_consent(ws: Workspace, request: StampRequest) -> tuple[tuple[str, ...], Consent | None]:
    """The labels to apply (the profiles', else those asked for) and the subjects' checked consent (None without
    subjects): the profiles' scopes for this source type, else generation or editing."""
    labels, scopes = (stamp_plan(get_profiles(request.profiles), request.source_type) if request.profiles
                      else (parse_labels(request.labels or ",".join(LABELS)), []))
    if scopes and not request.subjects:
        raise InputError(f"profile(s) {', '.join(request.profiles)} need {', '.join(scopes)} consent of the person "
                         "shown: pass --subject")
    if not request.subjects:
        return labels, None
    scopes = scopes or ["editing" if request.source_type == "edited" else "generation"]
    found = [require_consent(ws, request.subjects, scope, what=f"stamping ({scope})") for scope in scopes]
    return labels, found[0]


def _options_and_signer(ws: Workspace, request: StampRequest, labels: tuple[str, ...]
                        ) -> tuple[StampOptions, SigningIdentity | None]:
    """The stamp options (identity fields: the workspace settings, overridden by the request) and, for C2PA, the
    signing identity: the request's certificate and key, else the workspace's keygen identity."""
    settings = load_settings(ws, provider=request.provider, system_name=request.system_name,
                             system_version=request.system_version, tsa_url=request.tsa_url)
    mark = MarkStyle(text=request.text, font=str(request.font) if request.font else None, position=request.position,
                     height_frac=request.height)
    options = StampOptions(labels=labels, mark=mark, watermark_method=request.watermark_method,
                           thumbnail=request.thumbnail, video_mark_seconds=request.mark_seconds,
                           provider=settings.provider, system_name=settings.system_name,
                           system_version=settings.system_version)
    if "c2pa" not in labels:
        return options, None
    if (request.cert is None) != (request.key is None):
        raise InputError("--cert and --key go together")
    if request.cert is not None:
        return options, SigningIdentity.from_files(request.cert, request.key,  # type: ignore[arg-type]
                                                   settings.tsa_url)
    return options, SigningIdentity.from_dir(default_keys_dir(ws), settings.tsa_url)


def stamp_paths(ws: Workspace, paths: Sequence[Path], out: Path, request: StampRequest = StampRequest(),
                progress: bool = True) -> Iterator[StampedFile]:
    """Stamp every image and video under ``paths`` (folders keep their sub-folders) into ``out``, one
    :class:`StampedFile` per file, in order; ``progress`` shows a bar on stderr for two files or more.

    Before the first file (when iteration starts) the request is checked and the outputs
    planned: :class:`InputError` for a bad option or two files bound for one output,
    ``ConsentError`` for missing consent, ``SigningError`` for keys that cannot sign,
    ``OutputError`` for an ``out`` that cannot be written. After that a file that cannot be
    read, stamped or written is a failed :class:`StampedFile` and the others go on, but a
    fault of the machine (disk full, I/O error) stops the batch with ``EnvironmentFault``:
    the files written so far are kept and ready, the one being written is not left behind,
    and the same command run again skips the ones done.
    """
    request.check()
    labels, consent = _labels_and_consent(ws, request)
    options, signer = _options_and_signer(ws, request, labels)
    with stamping(ws, labels, request.source_type, signer=signer, options=options, consent=consent) as stamper:
        plan = plan_outputs(paths, out, request.output_format)
        check_writable_folder(out)  # before any file is stamped
        for src, problem, dest in tqdm(plan, desc="stamp", unit="file", disable=not progress or len(plan) < 2,
                                       file=sys.stderr):
            yield _stamp_one(stamper, src, problem, dest, request)


def _stamp_one(stamper: Stamper, src: Path, problem: str | None, dest: Path, request: StampRequest) -> StampedFile:
    try:
        if problem:
            raise MediaError(problem)
        if dest.resolve() == src.resolve():
            raise ValueError("output would overwrite the input; choose another --out")
        with machine_faults():  # a full disk or an I/O error stops the batch: no file is to blame
            result, record_id = stamper.stamp_file(src, dest, request.parent, request.overwrite)
    except (MediaError, ValueError, SigningError, OSError, OutputExists) as exc:
        return StampedFile(str(src), None, note=f"error: {' '.join(str(exc).split())}", failed=True)
    if result is None:
        return StampedFile(str(src), str(dest), record=record_id, note="skipped: already stamped (--overwrite "
                                                                       "replaces it)")
    return StampedFile(str(src), str(dest), result.content_id, ",".join(result.labels_applied), record_id,
                       "; ".join(result.labels_skipped.values()))
