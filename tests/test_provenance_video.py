"""MP4 video: stamping, verification, tampering, unlabelled and unreadable clips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assay.provenance import mp4 as video
from assay.provenance.keys.signing import SigningIdentity, keygen
from assay.provenance.manifest import (
    LABELS_ASSERTION,
    active_manifest,
    assertion,
    read_manifest,
)
from assay.provenance.mp4 import decode_mp4
from assay.provenance.stamp.files import stamp_file
from assay.provenance.stamp.options import StampOptions
from assay.provenance.verify.consent_checks import CONSENT_CHECKS
from assay.provenance.verify.report import CHECKS, VERIFY_CHECKS, verify_file
from assay.provenance.verify.video_scan import check_video_mark
from tests.helpers.images import smooth_image

FPS = 24


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> dict[str, str]:
    return keygen(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def identity(keys: dict[str, str]) -> SigningIdentity:
    return SigningIdentity.from_files(keys["chain"], keys["key"])


@pytest.fixture(scope="module")
def trust(keys: dict[str, str]) -> str:
    return Path(keys["ca"]).read_text()


def clip_frames(n: int = 48, size: int = 128) -> np.ndarray:
    """A slowly panning smooth picture: n frames of size x size."""
    wide = smooth_image(size * 2, 3)
    return np.stack([wide[size // 2:size // 2 + size, i:i + size] for i in range(n)])


def write_clip(path: Path, n: int = 48, size: int = 128) -> Path:
    path.write_bytes(video.encode_mp4(clip_frames(n, size), FPS))
    return path


@pytest.fixture(scope="module")
def stamped(tmp_path_factory, identity):
    """A 2-second 128 x 128 clip stamped with every label, with its workspace."""
    from assay.core.workspace import Workspace

    root = tmp_path_factory.mktemp("video")
    ws = Workspace(root / "ws")
    out = root / "out" / "clip.mp4"
    result, record_id = stamp_file(write_clip(root / "clip.mp4"), out, identity, ws=ws)
    return out, result, record_id, ws


def test_stamped_mp4_verifies_signed_and_labelled(stamped, trust) -> None:
    out, result, record_id, ws = stamped
    assert result.labels_applied == ["visible", "watermark", "xmp", "c2pa"] and result.labels_skipped == {}
    report = verify_file(out, ws, trust)
    assert report["error"] is None and report["ok"] and report["format"] == "mp4"
    assert {name: c["status"] for name, c in report["checks"].items()} == {
        name: "absent" if name in CONSENT_CHECKS or name == "c2pa_timestamp" else "pass" for name in CHECKS
        if "video" in VERIFY_CHECKS.meta(name)["media"]}
    assert report["c2pa"]["validation_state"] == "Trusted"
    assert report["c2pa"]["digital_source_type"].endswith("/trainedAlgorithmicMedia")
    assert report["c2pa"]["actions"] == ["c2pa.created"]
    assert report["c2pa"]["training_mining"]["cawg.data_mining"]["use"] == "notAllowed"
    assert report["c2pa"]["claim_generator"]["name"] == "assay"
    assert "first 2.00 s" in report["checks"]["visible_mark"]["reason"]
    assert report["video"]["frames"] == 48 and report["video"]["fps"] == FPS and report["video"]["width"] == 128
    assert report["implicit_from"] == "xmp" and report["xmp"]["sb942"]["ContentID"] == result.content_id
    assert report["watermark"]["content_id"] == result.content_id == report["content_id"]
    assert report["record"]["id"] == record_id and report["record"]["params"]["format"] == "mp4"
    json.dumps(report)


def test_manifest_carries_the_implicit_fields_and_the_mark_window(stamped, trust) -> None:
    out, result, _, _ = stamped
    labels = assertion(active_manifest(read_manifest(out.read_bytes(), "mp4", trust)), LABELS_ASSERTION)
    assert labels["implicit"]["gb45438"]["ProduceID"] == result.content_id
    assert labels["visible"]["frames"] == {"first": 0, "count": 48, "seconds": 2.0}
    assert labels["watermark"]["status"] == "embedded"
    assert labels["visible"]["text_height_frac"] >= 0.05


def test_flipped_media_bytes_give_the_data_hash_failure(stamped, trust, tmp_path) -> None:
    out, _, _, ws = stamped
    data = bytearray(out.read_bytes())
    _, offset, size = next(b for b in video.top_level_boxes(bytes(data)) if b[0] == b"mdat")
    mid = offset + size // 2
    data[mid:mid + 4] = bytes(b ^ 0xFF for b in data[mid:mid + 4])
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(bytes(data))
    report = verify_file(tampered, ws, trust)
    assert report["checks"]["c2pa_data_hash"]["status"] == "fail"
    assert "data hash mismatch" in report["checks"]["c2pa_data_hash"]["reason"]
    assert report["checks"]["c2pa_signature"]["status"] == "pass" and not report["ok"]


def test_removed_xmp_box_breaks_the_manifest_whose_fields_are_then_not_used(stamped, trust, tmp_path) -> None:
    """The XMP box is covered by the manifest's hard binding: without it the manifest is invalid, and no field
    of an invalid manifest stands in for the missing XMP."""
    out, result, _, ws = stamped
    data = out.read_bytes()
    kept = b"".join(data[o:o + s] for kind, o, s in video.top_level_boxes(data)
                    if not (kind == b"uuid" and data[o + 8:o + 24] == video.XMP_UUID))
    assert len(kept) < len(data) and video.read_xmp_box(kept) is None
    stripped = tmp_path / "noxmp.mp4"
    stripped.write_bytes(kept)
    report = verify_file(stripped, ws, trust)
    assert report["checks"]["c2pa_data_hash"]["status"] == "fail"
    assert report["checks"]["c2pa_manifest"]["status"] == "fail"
    assert report["implicit_from"] is None
    assert report["checks"]["gb45438_fields"]["status"] != "pass"
    assert not report["ok"]


def test_unlabelled_video_fails_the_label_checks(tmp_path, ws, trust) -> None:
    src = write_clip(tmp_path / "plain.mp4")
    report = verify_file(src, ws, trust)
    assert report["error"] is None and not report["labelled"]
    assert {report["checks"][n]["status"] for n in ("c2pa_manifest", "gb45438_fields", "visible_mark", "watermark")} \
        == {"absent"}
    required = verify_file(src, ws, trust, require=("c2pa", "xmp", "visible", "watermark"))
    for name in ("c2pa_manifest", "c2pa_data_hash", "gb45438_fields", "sb942_fields", "visible_mark", "watermark"):
        assert required["checks"][name]["status"] == "fail", name
    assert not required["ok"]


def test_mark_window_covers_the_first_two_seconds_only_when_asked(tmp_path, identity, trust) -> None:
    src = write_clip(tmp_path / "long.mp4", n=72, size=96)
    out = tmp_path / "o" / "long.mp4"
    result, _ = stamp_file(src, out, identity, StampOptions(labels=("visible", "c2pa"), video_mark_seconds=2.0))
    clip = decode_mp4(out.read_bytes())
    mark = result.record["visible"]
    assert mark["frames"]["count"] == 48
    assert check_video_mark(dict(enumerate(clip.frames)), FPS, 72, mark)["status"] == "pass"
    late = dict(enumerate(clip.frames[48:]))  # the last second never had the mark
    assert check_video_mark(late, FPS, 24, mark)["status"] == "fail"
    with pytest.raises(ValueError, match="at least 2 s"):
        stamp_file(src, tmp_path / "o" / "short.mp4", identity, StampOptions(video_mark_seconds=1.0))
    assert not (tmp_path / "o" / "short.mp4").exists()


def test_private_key_never_reaches_the_stamped_video(stamped, keys) -> None:
    out = stamped[0]
    body = "".join(Path(keys["key"]).read_text().splitlines()[1:-1]).encode()
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    secret = load_pem_private_key(Path(keys["key"]).read_bytes(), None).private_numbers().private_value
    data = out.read_bytes()
    assert body not in data and secret.to_bytes(32, "big") not in data


@pytest.mark.parametrize("content, reason", [(b"", "empty file (0 bytes)"),
                                             (b"\x00\x00\x00\x18ftypmp42 truncated", "")])
def test_corrupt_or_empty_mp4_gets_a_reason(tmp_path, ws, content, reason) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    report = verify_file(bad, ws)
    assert report["error"] and "\n" not in report["error"] and reason in report["error"]
    assert report["checks"] == {} and not report["ok"]


def test_cli_batch_goes_on_past_a_bad_video(tmp_path, ws) -> None:
    from typer.testing import CliRunner

    from assay.cli import app

    runner = CliRunner()
    env = {"ASSAY_WORKSPACE": str(ws.root)}
    assert runner.invoke(app, ["provenance", "keygen"], env=env).exit_code == 0
    folder = tmp_path / "in"
    folder.mkdir()
    write_clip(folder / "a.mp4", n=24, size=96)
    (folder / "b.mp4").write_bytes(b"")
    res = runner.invoke(app, ["provenance", "stamp", str(folder), "--out", str(tmp_path / "o"), "--json",
                              "--labels", "c2pa,xmp,visible"], env=env)
    assert res.exit_code == 1
    rows = json.loads(res.stdout)
    assert [Path(r["file"]).name for r in rows] == ["a.mp4", "b.mp4"]
    assert rows[0]["labels"] == "visible,xmp,c2pa" and rows[1]["note"] == "error: empty file (0 bytes)"
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["a.mp4"]
    res = runner.invoke(app, ["provenance", "verify", str(tmp_path / "o"), "--format", "json"], env=env)
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)[0]
    assert report["checks"]["visible_mark"]["status"] == "pass" and report["video"]["duration_s"] == 1.0
    assert report["checks"]["watermark"]["status"] == "absent"


def test_small_video_gets_no_watermark_and_verify_says_so(tmp_path, identity, trust) -> None:
    out = tmp_path / "o" / "tiny.mp4"
    result, _ = stamp_file(write_clip(tmp_path / "tiny.mp4", n=24, size=48), out, identity)
    assert result.labels_applied == ["visible", "xmp", "c2pa"]
    assert result.labels_skipped["watermark"].startswith("too small for a watermark")
    report = verify_file(out, None, trust)
    assert report["checks"]["watermark"]["status"] == "absent"
    assert "too small for a watermark" in report["checks"]["watermark"]["reason"]
    assert report["checks"]["visible_mark"]["status"] == "pass" and report["ok"]


def test_reencoded_video_is_found_through_its_watermark(stamped, trust, tmp_path) -> None:
    out, result, record_id, ws = stamped
    copy = tmp_path / "reupload.mp4"
    copy.write_bytes(video.encode_mp4(decode_mp4(out.read_bytes()).frames, FPS))  # drops manifest and XMP
    report = verify_file(copy, ws, trust)
    assert report["checks"]["c2pa_manifest"]["status"] == "absent" and report["xmp"] is None
    assert report["watermark"]["content_id"] == result.content_id
    assert report["found_via"] == "watermark" and report["record"]["id"] == record_id
    assert report["checks"]["visible_mark"]["status"] == "pass"  # the mark's record comes from the catalog


def test_avi_input_is_stamped_as_mp4_and_mov_is_read(tmp_path, identity, trust) -> None:
    import cv2

    frames = clip_frames(24, 96)
    for name, fourcc in (("in.avi", "MJPG"), ("in.mov", "mp4v")):
        writer = cv2.VideoWriter(str(tmp_path / name), cv2.VideoWriter_fourcc(*fourcc), FPS, (96, 96))
        for frame in frames:
            writer.write(np.ascontiguousarray(frame[..., ::-1]))
        writer.release()
    from assay.provenance.stamp.files import output_path

    out = output_path(tmp_path / "in.avi", tmp_path / "o", "png")
    assert out.name == "in.mp4"  # video is written as MP4 whatever --format says
    stamp_file(tmp_path / "in.avi", out, identity, StampOptions(labels=("visible", "xmp", "c2pa")))
    report = verify_file(out, None, trust)
    assert report["format"] == "mp4" and report["ok"] and report["checks"]["c2pa_data_hash"]["status"] == "pass"
    mov = verify_file(tmp_path / "in.mov", None, trust)
    assert mov["error"] is None and mov["video"]["frames"] == 24
    assert mov["checks"]["c2pa_manifest"]["status"] == "absent" and not mov["labelled"]


def test_unreachable_tsa_writes_no_video(tmp_path, keys, ws) -> None:
    from assay.provenance.keys.signing import SigningError

    identity = SigningIdentity.from_files(keys["chain"], keys["key"], tsa_url="http://127.0.0.1:9/tsa")
    out = tmp_path / "o" / "clip.mp4"
    with pytest.raises(SigningError, match="cannot be reached; nothing was written"):
        stamp_file(write_clip(tmp_path / "clip.mp4", n=24, size=64), out, identity, ws=ws)
    assert not out.exists() and ws.catalog.list("provenance") == []


def test_watermark_that_does_not_decode_after_the_encode_is_not_claimed(tmp_path) -> None:
    from assay.provenance.stamp.video import VIDEO_MARGINS, _watermark_and_encode

    frames = clip_frames(24, 96)
    passes = []

    def dropped(wm=None, bits=None):  # every margin's pass loses the watermark, as a harsh codec would
        passes.append(wm)
        return iter(frames)

    back, record = _watermark_and_encode(dropped, FPS, (96, 96), "0badcafe", "ssgrid", tmp_path / "v.mp4")
    assert record["status"] == "lost_in_encode" and "did not survive the mp4v encode" in record["reason"]
    assert len(passes) == len(VIDEO_MARGINS) and back.frames == 24
