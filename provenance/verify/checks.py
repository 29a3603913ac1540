"""The verify check registry: each check is a small named function of a file's :class:`Evidence`.

A check is registered with :func:`check`, with the media kinds it applies to, what it needs
(names in :data:`NEEDS`) and the label it belongs to (for ``require``). The registry fills
itself on first use from the modules that hold the checks: :mod:`provenance.verify.label_checks`
(manifest, signature, trust, data hash, source type, implicit fields, visible mark,
watermark, soft binding), :mod:`provenance.verify.trust_checks` (timestamp, record match,
ReservedCode1) and :mod:`provenance.verify.consent_checks`. A need the file lacks (no
manifest, no workspace) gives the check its "absent" or "fail" without calling it.
"""

from __future__ import annotations

from typing import Callable

from assay.core.registry import Registry
from assay.provenance.verify.evidence import Evidence

MEDIA = ("image", "video")

CheckResult = dict[str, str]
Check = Callable[[Evidence], CheckResult]
#: check name -> check; meta: ``media`` (kinds it applies to), ``needs`` (names in NEEDS), ``label`` (or None)
VERIFY_CHECKS: Registry[Check] = Registry("verify check", modules=["assay.provenance.verify.label_checks",
                                                                  "assay.provenance.verify.trust_checks",
                                                                  "assay.provenance.verify.consent_checks"])
#: need -> what a check gets instead of running when the file lacks it (None: the file has it)
NEEDS: Registry[Callable[[Evidence], CheckResult | None]] = Registry("verify need")
NO_MANIFEST = "no C2PA manifest (never signed, or stripped by a re-save)"


def result(status: str, reason: str) -> CheckResult:
    """A check's answer: status pass, fail or absent, and a one-line reason."""
    return {"status": status, "reason": reason}


def check(name: str, media: tuple[str, ...] = MEDIA, needs: tuple[str, ...] = (),
          label: str | None = None) -> Callable[[Check], Check]:
    """Register a verify check as ``name``, for the ``media`` kinds, needing ``needs``, part of ``label``."""
    unknown = sorted(set(needs) - set(NEEDS)) + sorted(set(media) - set(MEDIA))
    if unknown:
        raise ValueError(f"verify check {name!r}: unknown need or media {', '.join(unknown)}")
    return VERIFY_CHECKS.register(name, media=media, needs=needs, label=label)


@NEEDS.register("manifest")
def _has_manifest(ev: Evidence) -> CheckResult | None:
    if ev.manifest_error is not None:
        return result("fail", "manifest unreadable")
    if ev.store is None:
        return result("absent", NO_MANIFEST)
    return None


@NEEDS.register("valid_manifest")
def _has_valid_manifest(ev: Evidence) -> CheckResult | None:
    if (lacking := _has_manifest(ev)) is not None:
        return lacking
    if ev.invalid:
        return result("fail", f"not read: the manifest is invalid ({', '.join(ev.invalid)})")
    return None


@NEEDS.register("workspace")
def _has_workspace(ev: Evidence) -> CheckResult | None:
    return None if ev.ws is not None else result("absent", "no workspace given to look the content id up")


def required_checks(require: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """For each label ``require`` names, the registered checks that must not be "absent"; ValueError for unknown labels."""
    by_label: dict[str, tuple[str, ...]] = {}
    for name in VERIFY_CHECKS.ordered():
        label = VERIFY_CHECKS.meta(name)["label"]
        if label is not None:
            by_label[label] = by_label.get(label, ()) + (name,)
    unknown = sorted(set(require) - set(by_label))
    if unknown:
        raise ValueError(f"unknown label(s) {', '.join(unknown)}; expected some of {', '.join(by_label)}")
    return {label: by_label[label] for label in require}


def run_checks(ev: Evidence) -> dict[str, CheckResult]:
    """Every registered check that applies to the file's kind, in order; a lacking need answers for its check."""
    results: dict[str, CheckResult] = {}
    for name in VERIFY_CHECKS.ordered():
        meta = VERIFY_CHECKS.meta(name)
        if ev.kind not in meta["media"]:
            continue
        lacking = next((r for r in (NEEDS.get(n)(ev) for n in meta["needs"]) if r is not None), None)
        results[name] = lacking or VERIFY_CHECKS.get(name)(ev)
    return results


