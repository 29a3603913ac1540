"""The public page of `assay serve` in a real browser (Debian's Chromium driven by npm's playwright-core).

Uploads a stamped picture (C2PA signed by the workspace's development CA, AI label fields, watermark), a plain
one and a text file named like a picture, and reads the page's plain-words answers; saves a screenshot (to
tests/output/screenshots, or ASSAY_SCREENSHOTS). A missing browser fails the test under CI and skips it elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from assay.core.imageio import save
from assay.provenance import ensure_keys, stamp_file
from tests.helpers.images import smooth_image
from tests.helpers.serve import running, toy_detector_workspace
from tests.test_dashboard_browser import BROWSER_DIR, CHROMIUM, REPO, browser_missing


def test_public_page_shows_provenance_and_the_detector_in_plain_words(tmp_path: Path):
    reason = browser_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run: {reason}")
        pytest.skip(reason)
    ws, _ = toy_detector_workspace(tmp_path / "ws")
    plain, stamped, text = tmp_path / "plain.png", tmp_path / "stamped.png", tmp_path / "photo.jpg"
    save(smooth_image(128, 1), plain)
    save(smooth_image(128, 2), tmp_path / "source.png")
    stamp_file(tmp_path / "source.png", stamped, ensure_keys(ws), ws=ws)
    text.write_text("not a picture at all\n")
    shots = Path(os.environ.get("ASSAY_SCREENSHOTS") or REPO / "tests" / "output" / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    steps = [
        {"upload": str(stamped), "expect": ["Checked stamped.png", "present (", "issued by a trusted authority",
                                            "found: content id", "which is record", "detector score"],
         "screenshot": str(shots / "serve.png")},
        {"upload": str(plain), "expect": ["Checked plain.png", "no manifest", "not found"]},
        {"upload": str(text), "expect": ["Not checked (415)", "whatever its name says"]},
    ]
    with running(ws, ["--public", "--tokens", str(tmp_path / "tokens.json")], tmp_path) as srv:
        spec = {"url": srv.url, "chromium": str(CHROMIUM), "timeout_ms": 30_000, "steps": steps}
        (tmp_path / "spec.json").write_text(json.dumps(spec))
        run = subprocess.run(["node", str(BROWSER_DIR / "serve.mjs"), str(tmp_path / "spec.json")],
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    first = report[0]["text"]
    assert "AI label fields" in first and "SB942: complete" in first, first
    assert "Within the detector's domain" in first or "Outside the detector's domain" in first
    assert "none found" in report[1]["text"]
    assert (shots / "serve.png").stat().st_size > 10_000
