"""Verify as a registry of checks: a registered check is reported, needs answer for it, one record lookup a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.core.imageio import save
from assay.core.workspace import Workspace
from assay.provenance.keys.signing import SigningIdentity, keygen
from assay.provenance.stamp.files import stamp_file
from assay.provenance.verify import evidence
from assay.provenance.verify.evidence import Evidence
from assay.provenance.verify.report import CHECKS, VERIFY_CHECKS, verify_file
from tests.helpers.images import smooth_image


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "face.png"
    save(smooth_image(96, 4), path)
    return path


def _register(monkeypatch: pytest.MonkeyPatch, name: str, fn, **meta) -> None:
    """Register a check for the length of one test."""
    meta = {"media": ("image", "video"), "needs": (), "label": None, **meta}
    monkeypatch.setitem(VERIFY_CHECKS._items, name, fn)
    monkeypatch.setitem(VERIFY_CHECKS._meta, name, meta)


def test_a_registered_check_is_reported_after_the_built_in_ones(monkeypatch, source) -> None:
    seen: list[Evidence] = []

    def consent_on_file(ev: Evidence) -> dict[str, str]:
        seen.append(ev)
        return {"status": "fail", "reason": f"no consent record for {ev.path.name}"}

    _register(monkeypatch, "consent_on_file", consent_on_file)
    _register(monkeypatch, "video_only", lambda ev: {"status": "pass", "reason": "never run"}, media=("video",))
    _register(monkeypatch, "needs_manifest", lambda ev: {"status": "pass", "reason": "never run"},
              needs=("manifest",))
    report = verify_file(source)
    assert list(report["checks"]) == [*CHECKS, "consent_on_file", "needs_manifest"]
    assert report["checks"]["consent_on_file"] == {"status": "fail", "reason": "no consent record for face.png"}
    assert not report["ok"]  # a failing registered check fails the file
    assert report["checks"]["needs_manifest"]["status"] == "absent"  # unsigned: the need answers, the check never runs
    assert len(seen) == 1 and seen[0].kind == "image" and seen[0].rgb.shape == (96, 96, 3)


def test_a_registered_check_can_be_required_through_its_label(monkeypatch, source) -> None:
    _register(monkeypatch, "consent_present", lambda ev: {"status": "absent", "reason": "no consent assertion"},
              label="consent")
    report = verify_file(source, require=("consent",))
    assert report["checks"]["consent_present"] == {"status": "fail",
                                                   "reason": "required consent label missing: no consent assertion"}
    with pytest.raises(ValueError, match="unknown label"):
        verify_file(source, require=("nonsense",))


def test_the_record_is_looked_up_once_per_file(monkeypatch, tmp_path, source) -> None:
    keys = keygen(tmp_path / "keys")
    identity = SigningIdentity.from_files(keys["chain"], keys["key"])
    stamped = tmp_path / "o" / "face.png"
    result, _ = stamp_file(source, stamped, identity, ws=Workspace(tmp_path / "ws-a"))
    other = Workspace(tmp_path / "ws-b")  # holds no record: manifest, watermark and XMP ids are all tried
    lookups, queries = [], []
    real_find, real_query = evidence.find_by_content_ids, other.catalog.find
    monkeypatch.setattr(evidence, "find_by_content_ids", lambda ws, ids: lookups.append(list(ids)) or real_find(ws, ids))
    monkeypatch.setattr(other.catalog, "find", lambda *a, **k: queries.append((a, k)) or real_query(*a, **k))
    report = verify_file(stamped, other, Path(keys["ca"]).read_text())
    assert report["record"] is None and report["checks"]["soft_binding"]["status"] == "fail"
    assert len(lookups) == 1 and set(lookups[0]) == {result.content_id}  # manifest, watermark and XMP agree
    assert queries == [(("provenance",), {"content_id": result.content_id})]  # one indexed query
