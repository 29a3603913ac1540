"""The one stamping entry point (labels parsed there, the source type from the caller, records published on exit),
and the batch functions the commands are thin over: stamp_paths and verify_paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.core.errors import InputError
from assay.core.imageio import save
from assay.provenance import manifest
from assay.provenance.consent.ledger import Ledger
from assay.provenance.consent.policy import Consent, require_consent
from assay.provenance.keys.signing import SigningIdentity, keygen
from assay.provenance.stamp.batch import ROW_FIELDS, StampRequest, stamp_paths
from assay.provenance.stamp.session import stamping
from assay.provenance.verify.report import verify_paths
from tests.helpers.images import smooth_image

META = {"family": "dcgan", "run_id": None, "checkpoint_sha256": "ab" * 32, "seed": 1, "latent_index": 0,
        "condition": None, "size": 64}


@pytest.fixture
def identity(tmp_path: Path) -> SigningIdentity:
    keys = keygen(tmp_path / "keys")
    return SigningIdentity.from_files(keys["chain"], keys["key"])


def _status(ws, record_id: str) -> str:
    return ws.catalog.get(record_id).status


def test_records_of_stamped_pixels_are_published_when_the_block_ends(ws) -> None:
    with stamping(ws, labels="xmp") as stamper:
        _, first = stamper.stamp(smooth_image(64, 1), "png", META)
        _, second = stamper(smooth_image(64, 2), "png", {**META, "latent_index": 1})  # forge's hook shape
        assert _status(ws, first["provenance_id"]) == _status(ws, second["provenance_id"]) == "pending"
    assert _status(ws, first["provenance_id"]) == _status(ws, second["provenance_id"]) == "ready"
    assert first["labels_applied"] == ["xmp"] and first["content_id"] != second["content_id"]


def test_a_sample_sets_records_are_published_in_one_catalog_update(ws, monkeypatch) -> None:
    with stamping(ws, labels="xmp") as stamper:
        ids = [stamper.stamp(smooth_image(32, i), "png", {**META, "latent_index": i})[1]["provenance_id"]
               for i in range(4)]
        updates: list[list[str]] = []
        real = ws.catalog.backend.modify
        monkeypatch.setattr(ws.catalog.backend, "modify",
                            lambda artefact_ids, change: updates.append(list(artefact_ids)) or real(artefact_ids, change))
    assert updates == [ids]  # one transaction for the set, not one per record
    assert {_status(ws, i) for i in ids} == {"ready"}


def test_a_block_that_raises_leaves_its_records_pending(ws) -> None:
    with pytest.raises(KeyboardInterrupt):
        with stamping(ws, labels=("xmp",)) as stamper:
            _, extra = stamper.stamp(smooth_image(64, 1), "png", META)
            raise KeyboardInterrupt
    assert _status(ws, extra["provenance_id"]) == "pending"


def test_the_caller_says_whether_output_is_created_or_an_edit(ws, identity, tmp_path) -> None:
    save(smooth_image(32, 9), tmp_path / "low.png")
    parent = ((tmp_path / "low.png").read_bytes(), "png")
    with stamping(ws, labels="c2pa", source_type="edited", signer=identity) as stamper:
        data, edited = stamper.stamp(smooth_image(64, 1), "png", {**META, "family": "any-family", "parent": parent})
    with stamping(ws, labels="c2pa", signer=identity) as stamper:  # an srgan family name decides nothing
        _, created = stamper.stamp(smooth_image(64, 1), "png", {**META, "family": "srgan", "parent": parent})
    assert ws.catalog.get(edited["provenance_id"]).params["source_type"] == "edited"
    assert ws.catalog.get(created["provenance_id"]).params["source_type"] == "created"
    actions = manifest.assertion(manifest.active_manifest(manifest.read_manifest(data, "png")), "c2pa.actions")
    assert any(a.get("digitalSourceType") == manifest.SOURCE_TYPES["edited"] for a in actions["actions"])


@pytest.mark.parametrize(("labels", "source_type", "message"), [
    ("", "created", "output is always labelled"),
    ("c2pa,glitter", "created", "unknown label"),
    ("xmp", "copied", "source type must be one of created, edited, got 'copied'"),
])
def test_labels_and_source_type_are_checked_before_anything_is_stamped(ws, labels, source_type, message) -> None:
    with pytest.raises(InputError, match=message):
        with stamping(ws, labels, source_type):
            pass
    assert ws.catalog.list("provenance") == []


def test_consent_found_is_referenced_and_consent_without_records_adds_nothing(ws) -> None:
    Ledger(ws).add("subj-ann", "generation", "EU", "a test", granted_at="2025-01-01")
    consent = require_consent(ws, ["subj-ann"], "generation")
    with stamping(ws, labels="xmp", consent=consent) as stamper:
        _, given = stamper.stamp(smooth_image(64, 1), "png", META)
    with stamping(ws, labels="xmp", consent=Consent("generation", [], {})) as stamper:
        _, none = stamper.stamp(smooth_image(64, 2), "png", META)
    assert ws.catalog.get(given["provenance_id"]).params["consent"]["subjects"] == ["subj-ann"]
    assert "consent" not in ws.catalog.get(none["provenance_id"]).params


def test_a_file_stamped_through_the_entry_point_is_ready_once_written(ws, tmp_path) -> None:
    src = tmp_path / "face.png"
    save(smooth_image(64, 3), src)
    with stamping(ws, labels="xmp,visible") as stamper:
        result, record_id = stamper.stamp_file(src, tmp_path / "out" / "face.png")
        assert _status(ws, record_id) == "ready" and (tmp_path / "out" / "face.png").read_bytes() == result.data
        assert stamper.stamp_file(src, tmp_path / "out" / "face.png") == (None, record_id)  # a rerun skips it


def test_stamp_paths_gives_one_result_per_file_and_a_bad_file_does_not_stop_the_rest(ws, tmp_path) -> None:
    folder = tmp_path / "in"
    save(smooth_image(64, 1), folder / "a" / "x.png")
    (folder / "broken.png").write_bytes(b"\x89PNG broken")
    request = StampRequest(labels="xmp", fmt="jpeg")
    results = list(stamp_paths(ws, [folder], tmp_path / "out", request, progress=False))
    by_name = {Path(r.file).name: r for r in results}
    assert set(by_name) == {"x.png", "broken.png"} and list(results[0].to_dict()) == list(ROW_FIELDS)
    good, bad = by_name["x.png"], by_name["broken.png"]
    assert not good.failed and good.out == str(tmp_path / "out" / "a" / "x.jpg") and good.labels == "xmp"
    assert _status(ws, good.record) == "ready"
    assert bad.failed and bad.out is None and bad.note.startswith("error: ") and "\n" not in bad.note
    again = list(stamp_paths(ws, [folder / "a" / "x.png"], tmp_path / "out" / "a", request, progress=False))
    assert again[0].record == good.record and again[0].note.startswith("skipped: already stamped")


@pytest.mark.parametrize(("request_", "message"), [
    (StampRequest(fmt="gif"), "--format must be png, jpg or webp, got 'gif'"),
    (StampRequest(labels="xmp", profiles=("eu-ai-act-art50",)), "give --labels or --profile, not both"),
    (StampRequest(source_type="edited"), "--source-type edited needs --parent"),
    (StampRequest(height=0.01), "--height must be at least 0.05"),
    (StampRequest(mark_seconds=1.0), "--mark-seconds must be at least 2"),
    (StampRequest(labels="xmp,glitter"), "unknown label"),
])
def test_stamp_paths_checks_its_request_before_any_file(ws, tmp_path, request_, message) -> None:
    save(smooth_image(64, 1), tmp_path / "x.png")
    with pytest.raises(InputError, match=message):
        list(stamp_paths(ws, [tmp_path / "x.png"], tmp_path / "out", request_, progress=False))
    assert not (tmp_path / "out").exists() and ws.catalog.list("provenance") == []


def test_verify_paths_expands_folders_and_reports_unreadable_files(ws, tmp_path) -> None:
    save(smooth_image(64, 1), tmp_path / "in" / "x.png")
    (tmp_path / "in" / "y.png").write_bytes(b"not a png")
    [stamped] = list(stamp_paths(ws, [tmp_path / "in" / "x.png"], tmp_path / "in" / "sub",
                                 StampRequest(labels="xmp"), progress=False))
    reports = {Path(r["file"]).relative_to(tmp_path / "in").as_posix(): r
               for r in verify_paths([tmp_path / "in"], ws, require=("xmp",))}
    assert set(reports) == {"x.png", "y.png", "sub/x.png"}
    assert reports["sub/x.png"]["ok"] and reports["sub/x.png"]["record"]["id"] == stamped.record
    assert not reports["x.png"]["ok"]  # unlabelled, and xmp is required
    assert reports["y.png"]["error"] and reports["y.png"]["checks"] == {}
    with pytest.raises(ValueError, match="unknown label"):
        list(verify_paths([tmp_path / "in"], require=("glitter",)))
