"""`assay provenance comply`: which regulation each file meets, requirement by requirement.

Regulation profiles are versioned JSON data files (``provenance/profiles/*.json``, schema
``assay.compliance.profile/1``). Each requirement cites its article, names a condition for
when it applies and the checks that must pass (``all``) or of which one must pass
(``any``). Checks and conditions are looked up by name in the registries below; a profile
naming an unknown one is refused when it is loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from assay.core.errors import InputError
from assay.core.registry import Registry
from assay.provenance.manifest import SOURCE_TYPES
from assay.provenance.stamp.options import parse_labels
from assay.provenance.verify.consent_checks import NO_ASSERTION
from assay.provenance.verify.report import CHECKS

PROFILE_SCHEMA = "assay.compliance.profile/1"
PROFILE_DIR = Path(__file__).parent / "profiles"
STATUSES = ("pass", "fail", "n/a")

Check = Callable[[dict[str, Any]], dict[str, str]]
#: check name -> function of a verify result; every verify check, plus the derived ones below
COMPLY_CHECKS: Registry[Check] = Registry("compliance check")
for _name in CHECKS:
    COMPLY_CHECKS.register(_name)(lambda report, _name=_name: report["checks"][_name])


@COMPLY_CHECKS.register("detection_tool")
def detection_tool(report: dict[str, Any]) -> dict[str, str]:
    """This suite's detection tool reads the file's provenance data: the public service (`assay serve`, its page
    and its API) and `assay provenance verify` run the same verification."""
    read = [n for n in ("c2pa_manifest", "sb942_fields", "watermark") if report["checks"][n]["status"] == "pass"]
    if read:
        return {"status": "pass", "reason": f"the detection tool (assay serve: page at /, POST /v1/verify; "
                                            f"assay provenance verify) reads {', '.join(read)}"}
    return {"status": "fail", "reason": "no provenance data for a detection tool to read"}


Condition = Callable[[dict[str, Any]], str | None]
#: condition name -> function of a verify result: None when the requirement applies, else why not
CONDITIONS: Registry[Condition] = Registry("requirement condition")


@CONDITIONS.register("always")
def always(report: dict[str, Any]) -> str | None:
    return None


@CONDITIONS.register("face_edit")
def face_edit(report: dict[str, Any]) -> str | None:
    """The file declares an AI edit of a photo (such as an upscaled face)."""
    if (report.get("c2pa") or {}).get("digital_source_type") == SOURCE_TYPES["edited"]:
        return None
    return "no AI edit of a photo declared (an undeclared edit is the user's to declare)"


@CONDITIONS.register("personal_data")
def personal_data(report: dict[str, Any]) -> str | None:
    """The file declares a subject's face data: a consent assertion, or an AI edit of a photo."""
    if report["checks"]["consent_record"]["reason"] != NO_ASSERTION or face_edit(report) is None:
        return None
    return "no subject's face data declared (no consent assertion, no edit of a photo)"


class ProfileError(InputError):
    """A regulation profile file that cannot be used."""


@dataclass(frozen=True)
class Requirement:
    id: str
    cites: str
    summary: str
    applies_if: str
    all: tuple[str, ...] = ()
    any: tuple[str, ...] = ()


@dataclass(frozen=True)
class Profile:
    name: str
    version: str
    title: str
    instrument: str
    jurisdiction: str
    applies_from: str
    notes: str
    labels: tuple[str, ...]
    consent_scopes: dict[str, tuple[str, ...]]
    requirements: tuple[Requirement, ...]

    def in_force(self, today: date | None = None) -> bool:
        return (today or date.today()) >= date.fromisoformat(self.applies_from)


def load_profile(path: str | Path) -> Profile:
    """Read and check one profile file; a :class:`ProfileError` says what is wrong and where."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ProfileError(f"profile {path}: cannot read it as JSON ({exc})") from None
    where = f"profile {path.name}"
    if not isinstance(data, dict) or data.get("schema") != PROFILE_SCHEMA:
        raise ProfileError(f"{where}: schema must be {PROFILE_SCHEMA!r}")
    keys = ("name", "version", "title", "instrument", "jurisdiction", "applies_from", "notes")
    missing = [k for k in keys + ("requirements", "stamp") if k not in data]
    if missing:
        raise ProfileError(f"{where}: missing {', '.join(missing)}")
    try:
        date.fromisoformat(data["applies_from"])
        labels = parse_labels(data["stamp"].get("labels", []))
    except ValueError as exc:
        raise ProfileError(f"{where}: {exc}") from None
    requirements = []
    for item in data["requirements"]:
        req = Requirement(item.get("id", "?"), item.get("cites", ""), item.get("summary", ""),
                          item.get("applies_if", "always"), tuple(item.get("all", ())), tuple(item.get("any", ())))
        unknown = [c for c in req.all + req.any if c not in COMPLY_CHECKS]
        if unknown:
            raise ProfileError(f"{where}: requirement {req.id}: unknown check(s) {', '.join(unknown)}; "
                               f"known: {', '.join(COMPLY_CHECKS.names())}")
        if req.applies_if not in CONDITIONS:
            raise ProfileError(f"{where}: requirement {req.id}: unknown condition {req.applies_if!r}; "
                               f"known: {', '.join(CONDITIONS.names())}")
        if not (req.all or req.any) or not req.cites:
            raise ProfileError(f"{where}: requirement {req.id} needs cites and some checks (all or any)")
        requirements.append(req)
    scopes = {k: tuple(v) for k, v in data["stamp"].get("consent_scopes", {}).items()}
    return Profile(*(str(data[k]) for k in keys), labels, scopes, tuple(requirements))


def profiles() -> dict[str, Profile]:
    """The profiles shipped with the suite, by name."""
    found = [load_profile(p) for p in sorted(PROFILE_DIR.glob("*.json"))]
    return {p.name: p for p in found}


#: the profile name that stands for every shipped profile
ALL_PROFILES = "all"


def get_profiles(names: Iterable[str]) -> list[Profile]:
    """Profiles by name (``all``: every shipped one), or by path to a profile file; each once, in order."""
    shipped = profiles()
    out: list[Profile] = []
    for name in names:
        if name == ALL_PROFILES:
            out.extend(shipped.values())
        elif name in shipped:
            out.append(shipped[name])
        elif name.endswith(".json") and Path(name).is_file():
            out.append(load_profile(name))
        else:
            raise ProfileError(f"unknown profile {name!r}; known: {', '.join(shipped)}, {ALL_PROFILES} "
                               "(or a path to a .json file); see `assay provenance profiles`")
    return list({p.name: p for p in out}.values())


def profile_rows(today: date | None = None) -> list[dict[str, Any]]:
    """One row per shipped profile: name, version, jurisdiction, title, when it applies, requirement count."""
    return [{"profile": p.name, "version": p.version, "jurisdiction": p.jurisdiction, "applies_from": p.applies_from,
             "in_force": p.in_force(today), "requirements": len(p.requirements), "labels": ",".join(p.labels),
             "title": p.title} for p in profiles().values()]


def untrustworthy(report: dict[str, Any]) -> str | None:
    """Why no requirement can pass on this file (unreadable, or carrying an invalid C2PA manifest), else None.

    A manifest that fails validation means the file was changed after signing: its other
    labels (watermark, XMP, visible mark) are then no evidence of what the producer declared.
    """
    if report.get("error"):
        return f"unreadable: {report['error']}"
    c2pa = report.get("c2pa") or {}
    if c2pa.get("trust") == "invalid":
        codes = ", ".join(c2pa.get("failures") or []) or "invalid"
        return f"the file's C2PA manifest fails validation ({codes}): its provenance cannot be relied on"
    return None


def evaluate(report: dict[str, Any], profile: Profile) -> list[dict[str, Any]]:
    """One row per requirement: pass / fail / n/a with the reason; every row fails on an :func:`untrustworthy` file."""
    rows = []
    refused = untrustworthy(report)
    for req in profile.requirements:
        row = {"file": report["file"], "profile": profile.name, "requirement": req.id, "cites": req.cites}
        if refused:
            rows.append({**row, "status": "fail", "reason": refused})
            continue
        why_not = CONDITIONS.get(req.applies_if)(report)
        if why_not:
            rows.append({**row, "status": "n/a", "reason": why_not})
            continue
        results = {name: COMPLY_CHECKS.get(name)(report) for name in req.all + req.any}
        failed = [n for n in req.all if results[n]["status"] != "pass"]
        if req.any and not any(results[n]["status"] == "pass" for n in req.any):
            failed += list(req.any)
        if failed:
            reason = "; ".join(f"{n}: {results[n]['reason']}" for n in failed)
        else:
            reason = "; ".join(results[n]["reason"] for n in req.all + req.any if results[n]["status"] == "pass")
        rows.append({**row, "status": "fail" if failed else "pass", "reason": reason})
    return rows


def summarise(rows: Sequence[dict[str, Any]], chosen: Sequence[Profile], today: date | None = None
              ) -> list[dict[str, Any]]:
    """Per profile: files passing and failing, and whether the profile is in force yet."""
    out = []
    for profile in chosen:
        mine = [r for r in rows if r["profile"] == profile.name]
        files = list(dict.fromkeys(r["file"] for r in mine))
        failing = {r["file"] for r in mine if r["status"] == "fail"}
        out.append({"profile": profile.name, "version": profile.version, "applies_from": profile.applies_from,
                    "in_force": profile.in_force(today), "files": len(files), "passed": len(files) - len(failing),
                    "failed": len(failing)})
    return out


def comply(reports: Sequence[dict[str, Any]], chosen: Sequence[Profile], today: date | None = None
           ) -> dict[str, Any]:
    """The files x requirements matrix and the per-profile summary of verify ``reports``."""
    rows = [row for report in reports for profile in chosen for row in evaluate(report, profile)]
    return {"schema": "assay.provenance.comply/1", "rows": rows, "summary": summarise(rows, chosen, today),
            "ok": not any(r["status"] == "fail" for r in rows)}


def stamp_plan(chosen: Sequence[Profile], source_type: str) -> tuple[tuple[str, ...], list[str]]:
    """The labels the chosen profiles need, and the consent scopes they need for this source type."""
    labels = parse_labels([label for p in chosen for label in p.labels])
    scopes = list(dict.fromkeys(s for p in chosen for s in p.consent_scopes.get(source_type, ())))
    return labels, scopes
