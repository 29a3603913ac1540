"""`assay dashboard` in a real browser: Debian's Chromium driven by npm's playwright-core.

Visits every page, uploads an image on Scan and waits for its result, revokes a consent record on
Provenance through its confirmation and waits for the takedown queue it opens, and saves a screenshot
of every page (to tests/output/screenshots, or to ASSAY_SCREENSHOTS, e.g. docs/screenshots for
the README). `make test` installs Chromium and playwright-core when they are missing; here a
missing browser fails the test under CI and skips it elsewhere, with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from assay.core.imagesets import open_set
from assay.provenance.consent.ledger import Ledger
from tests.helpers.server import free_port, start_dashboard, wait_healthy

REPO = Path(__file__).resolve().parents[1]
BROWSER_DIR = REPO / "tests" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
PAGES = [
    {"path": "home", "url": "", "title": "Overview", "expect": ["Recent activity", "Lineage", "provenance"],
     "selector": '[data-testid="stGraphVizChart"] svg .node'},
    {"path": "overview", "title": "Overview", "expect": ["Recent activity", "Lineage"]},
    {"path": "data", "title": "Data", "expect": ["Identity groups", "Sample grid", "faces"],
     "selector": '[data-testid="stImage"] img'},
    {"path": "forge", "title": "Forge", "expect": ["Quality metrics across runs", "Curves", "Live sampler",
                                                   "Interpolation", "Style mixing", "Feature spaces"]},
    {"path": "detect", "title": "Detect", "expect": ["Leave-one-generator-out", "Robustness"],
     "clicks": [{"click": "Score the test split", "then": ["Per-sample browser", "Scored: the test split"]}]},
    {"path": "scan", "title": "Scan", "expect": ["New scan", "Past scans", "Threshold on P(synthetic)", "Scanned faces",
                                               "Download these results (CSV)"], "upload": True,
     "clicks": [{"click": "Scan 1 file(s)", "then": ["P(synthetic)", "done:"]}]},
    {"path": "provenance", "title": "Provenance",
     "expect": ["Inspect a file", "Provenance records", "Compliance per regulation profile", "Files x requirements",
                "Compliance report (CSV)", "Compliance report (printable HTML)", "Consent ledger", "Takedown queue"],
     "clicks": [{"click": "Revoke consent...", "then": ["cannot be undone"]},
                {"click": "Confirm: revoke", "then": ["takedown item(s) opened"]}]},
]
STARTUP_S = 120


def browser_missing() -> str | None:
    """Why the browser test cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (apt-get install chromium; `make test` does it)"
    if shutil.which("node") is None:
        return "node not found (apt-get install nodejs npm; `make test` does it)"
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        return f"playwright-core not installed (npm install --prefix {BROWSER_DIR}; `make test` does it)"
    return None


def test_every_page_in_chromium_with_an_uploaded_scan(dashboard_ws, tmp_path):
    reason = browser_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run: {reason}")
        pytest.skip(reason)
    shots = Path(os.environ.get("ASSAY_SCREENSHOTS") or REPO / "tests" / "output" / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    stamped = open_set(dashboard_ws, dashboard_ws.catalog.list("samples")[0].id)
    upload = tmp_path / "upload.png"
    shutil.copyfile(stamped.path(stamped.rows[0]), upload)
    scans_before = len(dashboard_ws.catalog.list("scans"))
    ledger = Ledger(dashboard_ws)
    revoked_before = sum(bool(r.revoked_at) for r in ledger.records().values())

    port = free_port()
    proc = start_dashboard(dashboard_ws.root, port)
    try:
        first = proc.stdout.readline()
        url = f"http://127.0.0.1:{port}"
        assert first.startswith(f"dashboard: {url}"), first
        wait_healthy(url, proc, STARTUP_S)
        spec = {"url": url, "chromium": str(CHROMIUM), "screenshots": str(shots), "upload": str(upload),
                "timeout_ms": 180_000, "pages": PAGES}
        (tmp_path / "spec.json").write_text(json.dumps(spec))
        run = subprocess.run(["node", str(BROWSER_DIR / "dashboard.mjs"), str(tmp_path / "spec.json")],
                             capture_output=True, text=True, timeout=900)
        assert run.returncode == 0, run.stderr[-3000:]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    visited = json.loads(run.stdout.strip().splitlines()[-1])
    assert [v["page"] for v in visited] == [p["path"] for p in PAGES]
    for p in PAGES:
        assert (shots / f"{p['path']}.png").stat().st_size > 10_000
    assert len(dashboard_ws.catalog.list("scans")) == scans_before + 1  # the uploaded file's scan was recorded
    assert sum(bool(r.revoked_at) for r in ledger.records().values()) == revoked_before + 1  # revoked once, confirmed
