"""Scanning: images, folders, videos, bad files, exit codes, the result schema, the catalog record."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.core.errors import InputError, OutputError
from assay.core.fileio import read_json
from assay.core.imageio import save
from assay.core.media import iter_media
from assay.core.videoio import VideoReader
from assay.core.workspace import Workspace
from assay.detect.base import DETECTORS
from assay.detect.regions import FACE, WHOLE_IMAGE, crop_box
from assay.detect.scan import (
    REPORT_FILE,
    RESULT_SCHEMA,
    Scan,
    Scanner,
    ScanOptions,
    exit_code,
    find_media,
    load_report,
    scan_paths,
)
from assay.detect.store import save_detector
from tests.helpers.detectors import BrightnessDetector, brightness_detector
from tests.helpers.images import bright, dark, write_video

RESULT_KEYS = {"schema", "path", "media", "status", "error", "verdict", "flagged", "probability", "threshold",
               "fallback", "width", "height", "faces_found", "regions", "video", "provenance", "explain",
               "detector", "timing_s", "raw_score", "domain", "declared", "decode_scale"}
REGION_KEYS = {"kind", "box", "crop_box", "crop_size", "face_score", "probability", "flagged", "raw_score",
               "verdict", "domain"}
VIDEO_KEYS = {"fps", "frame_count", "duration_s", "every_s", "frames_sampled", "frames_flagged",
              "flagged_fraction", "min_flagged_fraction", "peak_probability", "peak_time_s", "frames"}
PROVENANCE_KEYS = {"checked", "error", "c2pa_present", "c2pa_valid", "c2pa_state", "c2pa_trust", "digital_source_type",
                   "watermark_payload", "watermark_status", "record_id", "record_claim", "record_note", "found_via"}


@pytest.fixture
def saved_detector(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(DETECTORS._items, BrightnessDetector.name, BrightnessDetector)
    return save_detector(ws, brightness_detector(), "bright", {}, []).id


@pytest.fixture
def media(tmp_path: Path) -> dict[str, Path]:
    """A folder with a dark (real) and a bright (synthetic) image, a video, a corrupt and an empty file."""
    folder = tmp_path / "media"
    sub = folder / "sub"
    sub.mkdir(parents=True)
    save(dark(1), folder / "a_dark.png")
    save(bright(2), folder / "b_bright.jpg")
    save(dark(3), sub / "c_dark.png")
    (folder / "d_corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    (folder / "e_empty.png").write_bytes(b"")
    (folder / "notes.txt").write_text("not media")
    # 3 s at 10 fps: bright for the first 2 s, dark for the last second
    frames = [bright(i) if i < 20 else dark(i) for i in range(30)]
    write_video(folder / "f_clip.mp4", frames)
    return {"folder": folder, "sub": sub}


def run_cli(ws: Workspace, *args: str) -> Any:
    return CliRunner().invoke(app, ["--workspace", str(ws.root), "detect", "scan", *args])


def check_schema(result: dict[str, Any]) -> None:
    assert set(result) == RESULT_KEYS
    assert result["schema"] == RESULT_SCHEMA
    assert set(result["provenance"]) == PROVENANCE_KEYS
    for region in result["regions"]:
        assert set(region) == REGION_KEYS
    if result["video"] is not None:
        assert set(result["video"]) == VIDEO_KEYS


def test_crop_box_grows_by_margin_clips_and_starts_even() -> None:
    assert crop_box((40, 40, 80, 80), (200, 200, 3), 0.25) == (30, 30, 90, 90)
    x0, y0, x1, y1 = crop_box((3, 5, 43, 45), (100, 120, 3), 0.25)
    assert (x0, y0) == (0, 0) and x1 <= 120 and y1 <= 100
    assert crop_box((41, 41, 81, 81), (200, 200, 3), 0.25)[:2] == (30, 30)  # 31 rounded down to even


def test_iter_media_finds_images_and_videos_and_reports_missing(media: dict[str, Path], tmp_path: Path) -> None:
    flat = [p.name for p, _ in iter_media([media["folder"]])]
    assert flat == ["a_dark.png", "b_bright.jpg", "d_corrupt.jpg", "e_empty.png", "f_clip.mp4"]
    deep = [p.name for p, _ in iter_media([media["folder"]], recursive=True)]
    assert "c_dark.png" in deep and "notes.txt" not in deep
    [(path, problem)] = list(iter_media([tmp_path / "nope.jpg"]))
    assert problem == "no such file or directory"


def test_video_frames_are_sampled_at_the_rate(media: dict[str, Path]) -> None:
    video = VideoReader(media["folder"] / "f_clip.mp4")
    assert video.info.fps == pytest.approx(10.0)
    times = [f.time_s for f in video.frames(every_s=0.5)]
    assert times == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])


def test_scanner_aggregates_video_with_fraction_and_peak(media: dict[str, Path]) -> None:
    scanner = Scanner(brightness_detector(), ScanOptions(frame_every_s=0.5))
    result = scanner.scan_file(media["folder"] / "f_clip.mp4")
    check_schema(result)
    video = result["video"]
    assert result["status"] == "ok" and result["media"] == "video"
    assert video["frames_sampled"] == 6 and video["frames_flagged"] == 4
    assert video["flagged_fraction"] == pytest.approx(4 / 6)
    assert video["peak_probability"] == max(f["probability"] for f in video["frames"])
    assert result["flagged"] is True and result["verdict"] == "synthetic"
    assert result["fallback"] is True  # noise frames hold no face: every frame scored whole
    # at a 0.8 fraction 4 of 6 flagged frames are not enough
    strict = Scanner(brightness_detector(), ScanOptions(frame_every_s=0.5, video_fraction=0.8))
    assert strict.scan_file(media["folder"] / "f_clip.mp4")["flagged"] is False


def test_avi_video_and_a_corrupt_video(tmp_path: Path) -> None:
    avi = write_video(tmp_path / "clip.avi", [dark(i) for i in range(10)] + [bright(i) for i in range(10)],
                      fps=5.0, fourcc="MJPG")
    (tmp_path / "bad.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    (tmp_path / "empty.webm").write_bytes(b"")
    scanner = Scanner(brightness_detector(), ScanOptions())
    result = scanner.scan_file(avi)
    assert result["status"] == "ok" and result["video"]["frames_sampled"] == 4
    assert [f["flagged"] for f in result["video"]["frames"]] == [False, False, True, True]
    assert result["video"]["peak_time_s"] >= 2.0
    bad = scanner.scan_file(tmp_path / "bad.mp4")
    assert bad["status"] == "error" and bad["media"] == "video" and bad["error"]
    assert scanner.scan_file(tmp_path / "empty.webm")["error"] == "empty file (0 bytes)"


def test_scan_paths_streams_results_and_records_the_scan(ws: Workspace, saved_detector: str,
                                                         media: dict[str, Path]) -> None:
    results = list(scan_paths(ws, [media["folder"]], recursive=True))
    by_name = {Path(r["path"]).name: r for r in results}
    # sorted by name within a folder, a sub-folder's files where its name sorts
    assert list(by_name) == ["a_dark.png", "b_bright.jpg", "d_corrupt.jpg", "e_empty.png", "f_clip.mp4", "c_dark.png"]
    for r in results:
        check_schema(r)
    assert by_name["a_dark.png"]["verdict"] == "real" and by_name["b_bright.jpg"]["verdict"] == "synthetic"
    assert by_name["e_empty.png"]["status"] == "error" and by_name["e_empty.png"]["error"] == "empty file (0 bytes)"
    assert by_name["d_corrupt.jpg"]["status"] == "error" and by_name["d_corrupt.jpg"]["error"]
    assert by_name["a_dark.png"]["fallback"] is True
    assert by_name["a_dark.png"]["regions"][0]["kind"] == WHOLE_IMAGE
    assert by_name["a_dark.png"]["regions"][0]["crop_size"] == [64, 64]
    assert by_name["a_dark.png"]["detector"]["id"] == saved_detector
    # detector evidence and provenance evidence side by side, never merged
    prov = by_name["b_bright.jpg"]["provenance"]
    assert prov["checked"] is True and prov["c2pa_present"] is False and prov["c2pa_valid"] is None
    assert prov["watermark_payload"] is None and prov["digital_source_type"] is None
    assert by_name["e_empty.png"]["provenance"]["checked"] is False

    [scan] = ws.catalog.list("scans")
    assert scan.parents == [saved_detector]
    assert scan.params["files"] == 6 and scan.params["flagged"] == 2 and scan.params["errors"] == 2
    report = read_json(Path(scan.path) / REPORT_FILE)
    assert load_report(ws, scan.name) == report
    assert report["summary"]["exit_code"] == 1
    assert [r["path"] for r in report["results"]] == [r["path"] for r in results]
    assert {r["source"] for r in ws.catalog.rejects(scan.id)} == {
        str(media["folder"] / "d_corrupt.jpg"), str(media["folder"] / "e_empty.png")}


def test_cli_json_exit_1_when_something_is_flagged(ws: Workspace, saved_detector: str,
                                                   media: dict[str, Path]) -> None:
    res = run_cli(ws, str(media["folder"]), "--format", "json", "--every", "0.5")
    assert res.exit_code == 1, res.output
    results = json.loads(res.stdout)
    assert len(results) == 5  # not recursive: sub/ is skipped
    for r in results:
        check_schema(r)
    flagged = sorted(Path(r["path"]).name for r in results if r["flagged"])
    assert flagged == ["b_bright.jpg", "f_clip.mp4"]
    # one reason line per bad file on stderr; the scan went on past them
    assert "e_empty.png: empty file (0 bytes)" in res.stderr
    assert "d_corrupt.jpg:" in res.stderr


def test_cli_exit_0_when_nothing_is_flagged(ws: Workspace, saved_detector: str, media: dict[str, Path]) -> None:
    res = run_cli(ws, str(media["sub"]), str(media["folder"] / "a_dark.png"))
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["VERDICT", "PROBABILITY"]
    assert [ln.split()[0] for ln in lines[1:]] == ["real", "real"]


def test_cli_exit_2_on_errors_only(ws: Workspace, saved_detector: str, media: dict[str, Path]) -> None:
    res = run_cli(ws, str(media["folder"] / "d_corrupt.jpg"), str(media["folder"] / "e_empty.png"),
                  str(media["folder"] / "missing.png"), "--format", "jsonl")
    assert res.exit_code == 2, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["status"] for r in rows] == ["error"] * 3
    assert rows[2]["error"] == "no such file or directory"


def test_cli_also_exits_2_when_nothing_is_flagged_but_a_file_failed(ws: Workspace, saved_detector: str,
                                                                     media: dict[str, Path]) -> None:
    res = run_cli(ws, str(media["folder"] / "a_dark.png"), str(media["folder"] / "e_empty.png"))
    assert res.exit_code == 2
    assert exit_code(flagged=1, errors=3) == 1 and exit_code(0, 0) == 0


def test_cli_csv_to_out_file(ws: Workspace, saved_detector: str, media: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "report" / "scan.csv"
    res = run_cli(ws, str(media["folder"]), "-r", "--format", "csv", "--out", str(out), "--name", "weekly")
    assert res.exit_code == 1
    assert res.stdout == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    by_name = {Path(r["path"]).name: r for r in rows}
    assert len(rows) == 6 and by_name["c_dark.png"]["verdict"] == "real"
    assert by_name["b_bright.jpg"]["verdict"] == "synthetic" and by_name["b_bright.jpg"]["c2pa"] == "False"
    assert by_name["e_empty.png"]["verdict"] == "error" and by_name["e_empty.png"]["error"] == "empty file (0 bytes)"
    assert by_name["f_clip.mp4"]["frames"] == "2/3"
    assert ws.resolve("weekly", "scans").parents == [saved_detector]


def test_cli_without_a_detector_says_how_to_train_one(ws: Workspace, media: dict[str, Path]) -> None:
    res = run_cli(ws, str(media["folder"]))
    assert res.exit_code == 2
    assert "assay detect train" in res.stderr
    assert ws.catalog.list("scans") == []


def test_cli_nothing_to_scan(ws: Workspace, saved_detector: str, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    res = run_cli(ws, str(tmp_path / "empty"))
    assert res.exit_code == 2 and "no images or videos found" in res.stderr


def test_two_workers_give_the_same_results_in_order(ws: Workspace, saved_detector: str,
                                                    media: dict[str, Path]) -> None:
    one = list(scan_paths(ws, [media["folder"]], recursive=True, record=False, workers=1))
    two = list(scan_paths(ws, [media["folder"]], recursive=True, record=False, workers=2))
    assert [r["path"] for r in two] == [r["path"] for r in one]
    assert [r["probability"] for r in two] == [r["probability"] for r in one]
    assert [r["error"] for r in two] == [r["error"] for r in one]


@pytest.mark.shared_data
def test_faces_are_scored_on_native_resolution_crops(shared_data: Path) -> None:
    path = sorted((shared_data / "lfw").glob("*.jpg"))[0]
    result = Scanner(brightness_detector()).scan_file(path)
    check_schema(result)
    assert result["status"] == "ok" and result["fallback"] is False and result["faces_found"] >= 1
    face = result["regions"][0]
    assert face["kind"] == FACE and face["face_score"] is not None
    x0, y0, x1, y1 = face["crop_box"]
    l, t, r, b = face["box"]
    assert face["crop_size"] == [x1 - x0, y1 - y0]  # the crop as cut, not resized
    assert x0 <= l and y0 <= t and x1 >= r and y1 >= b
    assert x0 % 2 == 0 and y0 % 2 == 0
    assert (x1 - x0) < 250  # a face crop, not the whole 250 x 250 photo


def test_demo_scans_a_few_of_each_and_prints_the_findings(ws: Workspace, saved_detector: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from assay.core.imagesets import ImageSetWriter
    from assay.demo import scan as scan_demo

    refs = []
    for kind, name, make, label in (("datasets", "toy-real", dark, "real"), ("samples", "toy-fake", bright, "synthetic")):
        writer = ImageSetWriter(ws, kind, name)
        for i in range(4):
            writer.add(make(10 + i), {"label": label, "split": "test" if i < 3 else "train"}, f"{i}.png")
        refs.append(writer.commit({}, []).id)
    summary = scan_demo.run(ws, saved_detector, refs[0], refs[1], count=2)
    assert summary["files"] == 4 and summary["flagged"] == 2 and summary["errors"] == 0
    assert ws.resolve(summary["scan_id"]).parents == [saved_detector]
    lines = capsys.readouterr().out.splitlines()
    verdicts = {ln.split()[-1].rsplit("/", 1)[-1]: ln.split()[0] for ln in lines[1:5]}
    assert verdicts == {"real_0.png": "real", "real_1.png": "real",
                        "synthetic_0.png": "synthetic", "synthetic_1.png": "synthetic"}


def test_an_interrupted_scan_resumes_where_it_stopped(ws: Workspace, saved_detector: str,
                                                      media: dict[str, Path]) -> None:
    from assay.core.catalog import CatalogError
    from assay.detect.scan import Scan

    first = Scan(ws, None, name="nightly")
    it = first.run([media["folder"]])
    partial = [next(it), next(it)]
    it.close()  # interrupted: nothing registered, the journal stays
    assert ws.catalog.list("scans") == []
    resumed = list(Scan(ws, None, name="nightly", resume=True).run([media["folder"]]))
    assert len(resumed) == 5
    assert resumed[:2] == partial  # read back from the journal, not scanned again
    [rec] = ws.catalog.list("scans")
    assert rec.name == "nightly" and rec.params["files"] == 5
    with pytest.raises(CatalogError, match="already exists"):
        Scan(ws, None, name="nightly")


def test_cli_interrupted_scan_says_how_to_resume(ws: Workspace, saved_detector: str, media: dict[str, Path],
                                                 monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls = {"n": 0}
    original = Scanner.scan_batch

    def interrupt_on_third(self: Scanner, *args: Any, **kwargs: Any) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Scanner, "scan_batch", interrupt_on_third)
    out = tmp_path / "out.json"
    res = run_cli(ws, str(media["folder"]), "--name", "big", "-j", "1", "--batch", "1", "-f", "json", "-o", str(out))
    assert res.exit_code == 130
    assert "interrupted after 2 of 5 files" in res.stderr and "--name big --resume" in res.stderr
    assert not out.exists()  # no half-written result file
    monkeypatch.setattr(Scanner, "scan_batch", original)
    res = run_cli(ws, str(media["folder"]), "--name", "big", "--resume", "-f", "json", "-o", str(out))
    assert res.exit_code == 1
    assert len(json.loads(out.read_text())) == 5
    assert ws.resolve("big", "scans").params["files"] == 5


@pytest.mark.parametrize("args, message", [
    (["--face-detector", "mtcnn"], "--face-detector must be one of auto, blazeface, cnn, crop, hog, hog-half"),
    (["--format", "xml"], "unknown format 'xml'"),
    (["--video-fraction", "0"], "--video-fraction must be in (0, 1]"),
    (["--resume"], "--resume needs the --name"),
])
def test_cli_rejects_bad_options_before_scanning(ws: Workspace, saved_detector: str, media: dict[str, Path],
                                                 args: list[str], message: str) -> None:
    res = run_cli(ws, str(media["folder"]), *args)
    assert res.exit_code == 2 and message in res.stderr
    assert ws.catalog.list("scans") == []


def test_stamped_image_shows_provenance_beside_the_detector_score(ws: Workspace, saved_detector: str,
                                                                   tmp_path: Path) -> None:
    from assay.provenance.stamp.session import Stamper as make_birth_stamper

    rng = np.random.default_rng(5)
    pixels = (rng.random((96, 96, 3)) * 60 + 150).astype(np.uint8)
    stamper = make_birth_stamper(ws)
    data, extra = stamper(pixels, "png", {"family": "dcgan", "run_id": None, "checkpoint_sha256": "ab" * 32,
                                          "seed": 1, "latent_index": 7, "condition": None, "size": 96})
    folder = tmp_path / "stamped"
    folder.mkdir()
    (folder / "generated.png").write_bytes(data)
    [result] = list(scan_paths(ws, [folder / "generated.png"], detector=saved_detector, record=False))
    check_schema(result)
    prov = result["provenance"]
    assert prov["checked"] and prov["c2pa_present"] and prov["c2pa_valid"] is True
    assert prov["digital_source_type"].endswith("trainedAlgorithmicMedia")
    assert prov["watermark_payload"] == extra["content_id"]
    assert prov["record_id"] == extra["provenance_id"]
    assert result["verdict"] in ("real", "synthetic")  # the detector's own verdict, not the manifest's


def test_a_trusted_manifests_declaration_is_counted_apart_from_the_detectors_verdict(ws: Workspace, saved_detector: str,
                                                                                      tmp_path: Path) -> None:
    from assay.core.imageio import decode, save
    from assay.detect import summary_line
    from assay.provenance.stamp.session import Stamper as make_birth_stamper

    pixels = (np.random.default_rng(6).random((96, 96, 3)) * 60 + 150).astype(np.uint8)
    data, _ = make_birth_stamper(ws)(pixels, "png", {"family": "dcgan", "run_id": None, "checkpoint_sha256": "ab" * 32,
                                                     "seed": 1, "latent_index": 3, "condition": None, "size": 96})
    folder = tmp_path / "declared"
    folder.mkdir()
    (folder / "stamped.png").write_bytes(data)
    save(decode(data), folder / "plain.png")                     # the same pixels, no manifest
    scan = Scan(ws, saved_detector, ScanOptions(), record=False)
    by_name = {Path(r["path"]).name: r for r in scan.run([folder])}
    stamped, plain = by_name["stamped.png"], by_name["plain.png"]
    assert stamped["declared"] == "synthetic" and plain["declared"] is None
    assert stamped["probability"] == plain["probability"]       # the declaration never moves the score
    assert stamped["verdict"] == plain["verdict"]
    summary = scan.summary
    assert summary["declared_synthetic"] == 1 and summary["flagged"] == 2 * int(plain["flagged"])
    line = summary_line(summary)
    assert "1 declared synthetic by a valid, trusted C2PA manifest" in line
    assert f"{summary['flagged']} flagged as synthetic by the detector" in line
    untrusted = {**stamped["provenance"], "c2pa_trust": "untrusted"}
    from assay.detect.signals import declared_synthetic
    assert declared_synthetic(stamped["provenance"]) and not declared_synthetic(untrusted)
    assert not declared_synthetic({**stamped["provenance"], "c2pa_valid": False})


@pytest.mark.parametrize("options, reason", [
    ({"video_fraction": 0.0}, "--video-fraction must be in (0, 1]"),
    ({"face_detector": "mtcnn-x"}, "--face-detector must be one of"),
    ({"frame_every_s": 0}, "--every must be positive"),
    ({"engine": "spark"}, "--engine must be one of"),
    ({"threshold": 1.5}, "--threshold must be in [0, 1]"),
    ({"max_faces": 0}, "--max-faces must be >= 1"),
])
def test_scan_options_refuse_what_no_scan_could_use(options, reason) -> None:
    """The library checks the options itself, so the command, the dashboard and library callers agree."""
    with pytest.raises(InputError, match=re.escape(reason)):
        ScanOptions(**options)


def test_find_media_and_scan_refuse_before_any_work(ws, tmp_path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=r"no images or videos found under .* \(use --recursive"):
        find_media([empty])
    with pytest.raises(InputError, match="--resume needs the --name"):
        Scan(ws, brightness_detector(), ScanOptions(), resume=True)
    blocked = tmp_path / "file"
    blocked.write_text("x")
    with pytest.raises(OutputError, match="cannot write to"):
        Scan(ws, brightness_detector(), ScanOptions(explain_dir=str(blocked / "cams")))
