"""The one media walker and the one video reader that detect and provenance share."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.core.errors import VideoError
from assay.core.imageio import save
from assay.core.media import iter_media
from assay.core.videoio import VideoReader
from assay.detect.scan import Scanner, scan_paths
from tests.helpers.detectors import brightness_detector
from tests.helpers.images import bright, dark, write_video


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """Images and videos in a folder and a sub-folder, with names that sort across the two."""
    root = tmp_path / "in"
    (root / "m_sub").mkdir(parents=True)
    save(dark(1), root / "a.png")
    write_video(root / "b.mp4", [bright(i) for i in range(4)])
    save(bright(2), root / "m_sub" / "c.jpg")
    write_video(root / "m_sub" / "d.avi", [dark(i) for i in range(4)], fourcc="MJPG")
    save(dark(3), root / "z.webp")
    (root / "notes.txt").write_text("not media")
    return root


def test_detect_and_provenance_walk_the_same_files_in_the_same_order(tree, ws) -> None:
    expected = [tree / "a.png", tree / "b.mp4", tree / "m_sub" / "c.jpg", tree / "m_sub" / "d.avi", tree / "z.webp"]
    assert [p for p, _ in iter_media([tree], recursive=True)] == expected
    scanned = [r["path"] for r in scan_paths(ws, [tree], brightness_detector(), recursive=True, record=False,
                                             workers=1)]
    res = CliRunner().invoke(app, ["--workspace", str(ws.root), "provenance", "verify", str(tree), "--format",
                                   "json", "--no-workspace"])
    verified = [r["file"] for r in json.loads(res.stdout)]
    assert scanned == verified == [str(p) for p in expected]


def test_walker_reports_a_missing_path_and_keeps_going(tree) -> None:
    found = list(iter_media([tree / "gone.png", tree / "a.png"]))
    assert found == [(tree / "gone.png", "no such file or directory"), (tree / "a.png", None)]


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file (0 bytes)"),
    (b"this is not a video at all" * 10, "not a readable video"),
    (b"\x00\x00\x00\x18ftypmp42 truncated", "not a readable video"),
])
def test_bad_video_gives_a_one_line_reason(tmp_path, content, reason) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(VideoError) as info:
        VideoReader(bad)
    message = str(info.value)
    assert reason in message and "\n" not in message
    result = Scanner(brightness_detector()).scan_file(bad)  # detect says the same
    assert result["status"] == "error" and result["error"] == message


def test_a_folder_named_as_a_video_is_refused(tmp_path) -> None:
    (tmp_path / "clip.mp4").mkdir()
    with pytest.raises(VideoError, match="^is a directory$"):
        VideoReader(tmp_path / "clip.mp4")


def test_frames_sampled_at_a_rate_are_bounded(tree) -> None:
    video = VideoReader(tree / "b.mp4")
    assert (video.info.width, video.info.height, video.info.frame_count) == (64, 64, 4)
    every = list(video.frames())
    assert [f.index for f in every] == [0, 1, 2, 3] and every[0].image.dtype == np.uint8
    assert [f.index for f in video.frames(every_s=0.2)] == [0, 2]  # 10 fps: one frame per 0.2 s
    assert len(list(video.frames(max_frames=3))) == 3
