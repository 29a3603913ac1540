"""Streaming writers for scan results: table, json (one array), jsonl and csv, looked up by name."""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, TextIO

from assay.core.errors import InputError
from assay.core.fileio import atomic_path, check_writable_folder
from assay.core.registry import Registry
from assay.detect.domain import reason_kind

#: format name -> writer class
FORMATS: Registry[Callable[[TextIO], "ResultWriter"]] = Registry("scan output format")

#: flat columns of the table and csv formats
COLUMNS = ("verdict", "probability", "raw_score", "domain", "faces", "fallback", "frames", "peak", "c2pa",
           "c2pa_valid", "c2pa_trust", "source_type", "watermark", "why", "path", "reason", "error")


def flat_row(result: dict[str, Any]) -> dict[str, Any]:
    """One result as flat columns: detector evidence, then provenance evidence, then the file."""
    video = result.get("video") or {}
    prov = result.get("provenance") or {}
    ok = result["status"] == "ok"
    prob, raw = result.get("probability"), result.get("raw_score")
    domain = (result.get("domain") or {}).get("in_domain")
    reasons = (result.get("domain") or {}).get("reasons") or [] if result["verdict"] == "uncertain" else []
    return {
        "verdict": result["verdict"] if ok else "error",
        "probability": f"{prob:.3f}" if prob is not None else "",
        "raw_score": f"{raw:.3f}" if raw is not None else "",
        "domain": "" if domain is None or not ok else "in" if domain else "out",
        "faces": result.get("faces_found") if ok else "",
        "fallback": ("whole image" if result.get("fallback") else "") if ok else "",
        "frames": f"{video['frames_flagged']}/{video['frames_sampled']}" if video else "",
        "peak": f"{video['peak_probability']:.3f}@{video['peak_time_s']:g}s" if video else "",
        "c2pa": prov.get("c2pa_present", ""),
        "c2pa_valid": prov.get("c2pa_valid", ""),
        "c2pa_trust": prov.get("c2pa_trust") or "",
        "source_type": prov.get("digital_source_type", ""),
        "watermark": prov.get("watermark_payload", ""),
        "why": ", ".join(dict.fromkeys(reason_kind(x) for x in reasons)),
        "path": result["path"],
        "reason": "; ".join(reasons),
        "error": result.get("error") or "",
    }


def summary_line(summary: dict[str, Any]) -> str:
    """A scan's counts in one line: the detector's verdicts, the uncertain files per kind of reason, then the
    files a valid, trusted C2PA manifest declares synthetic (provenance, counted apart from the verdicts), errors."""
    kinds = summary.get("reasons") or {}
    why = ": " + ", ".join(f"{n} {kind}" for kind, n in kinds.items()) if kinds else ""
    return (f"{summary.get('files', 0)} files: {summary.get('flagged', 0)} flagged as synthetic by the detector, "
            f"{summary.get('uncertain', 0)} uncertain (out of the detector's domain{why}); "
            f"{summary.get('declared_synthetic', 0)} declared synthetic by a valid, trusted C2PA manifest; "
            f"{summary.get('errors', 0)} errors")


class ResultWriter:
    """Writes results one at a time to a text stream, flushing each so output streams."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def begin(self) -> None:
        """Anything before the first result."""

    def write(self, result: dict[str, Any]) -> None:
        raise NotImplementedError

    def end(self) -> None:
        """Anything after the last result."""

    def _emit(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


@FORMATS.register("table")
class TableWriter(ResultWriter):
    """Aligned text columns, one line per file: WHY gives the kinds of an uncertain verdict's reasons; the path
    comes last, then the reason in full (why a file is uncertain, or could not be scanned)."""

    widths = {"verdict": 9, "probability": 11, "raw_score": 9, "domain": 6, "faces": 5, "fallback": 11, "frames": 7,
              "peak": 13, "c2pa": 11, "c2pa_valid": 11, "c2pa_trust": 10, "source_type": 23, "watermark": 11,
              "why": 18}

    def begin(self) -> None:
        self._emit(self._line({**{c: c.upper() for c in COLUMNS}, "error": "", "reason": ""}))

    def write(self, result: dict[str, Any]) -> None:
        self._emit(self._line(flat_row(result)))

    def _line(self, row: dict[str, Any]) -> str:
        cells = [str(row[c]).ljust(w) for c, w in self.widths.items()]
        why = row["error"] or row["reason"]
        tail = str(row["path"]) + (f": {why}" if why else "")
        return "  ".join(cells + [tail]).rstrip() + "\n"


@FORMATS.register("json")
class JsonArrayWriter(ResultWriter):
    """One JSON array of result objects, written element by element."""

    def begin(self) -> None:
        self._first = True
        self._emit("[")

    def write(self, result: dict[str, Any]) -> None:
        self._emit(("\n" if self._first else ",\n") + json.dumps(result, default=str))
        self._first = False

    def end(self) -> None:
        self._emit("\n]\n")


@FORMATS.register("jsonl")
class JsonLinesWriter(ResultWriter):
    """One JSON object per line."""

    def write(self, result: dict[str, Any]) -> None:
        self._emit(json.dumps(result, default=str) + "\n")


@FORMATS.register("csv")
class CsvWriter(ResultWriter):
    """Comma-separated flat columns with a header row."""

    def begin(self) -> None:
        self._csv = csv.DictWriter(self.stream, fieldnames=list(COLUMNS))
        self._csv.writeheader()
        self.stream.flush()

    def write(self, result: dict[str, Any]) -> None:
        self._csv.writerow(flat_row(result))
        self.stream.flush()


def check_output(fmt: str, out: str | Path | None) -> None:
    """Refuse an unknown format or an output folder that cannot be written, before any file is scanned."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS.names())}")
    if out is not None:
        check_writable_folder(Path(out).parent)


@contextlib.contextmanager
def result_output(fmt: str, out: str | Path | None = None) -> Iterator[ResultWriter]:
    """A begun writer of ``fmt`` onto stdout or onto ``out``, which is written under a temporary name and
    moved into place only when the block completes (an interrupted scan leaves no partial file)."""
    check_output(fmt, out)
    with contextlib.ExitStack() as stack:
        if out is None:
            stream: TextIO = sys.stdout
        else:
            tmp = stack.enter_context(atomic_path(Path(out)))
            stream = stack.enter_context(open(tmp, "w", encoding="utf-8", newline=""))
        writer = FORMATS.get(fmt)(stream)
        writer.begin()
        yield writer
        writer.end()
