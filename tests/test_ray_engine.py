"""The ray engine on a local Ray cluster (a head node with 2 CPUs on the loopback, one per module):
the same scan results as the process pool, a killed scan that resumes, the same prepared
set, the same sampled pixels."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.core.engines import Engine
from assay.core.fileio import read_jsonl
from assay.core.imageio import save
from assay.core.imagesets import open_set
from assay.core.workspace import Workspace
from assay.data.preparation import PrepareConfig, prepare
from assay.detect.base import DETECTORS, Images
from assay.detect.scan import RESULTS_FILE, Scan, ScanOptions, load_report, summarize
from assay.detect.store import save_detector
from tests.helpers.detectors import BrightnessDetector
from tests.helpers.images import bright, dark

REPO = Path(__file__).resolve().parents[1]
#: how long a test waits for a scan to get somewhere before it fails (a bound, not a timing assumption)
PATIENCE_S = 300


@pytest.fixture(scope="module")
def ray_address():
    """A Ray head node for this module: 2 CPUs, 127.0.0.1, its own temporary folder; shut down afterwards."""
    try:
        import ray
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("Ray is not installed; CI runs the ray engine's tests (`make test` installs assay[ray])")
        pytest.skip("Ray not installed (pip install assay[ray])")
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    with pytest.MonkeyPatch.context() as env:  # the workers inherit the environment: this checkout first
        env.setenv("RAY_USAGE_STATS_ENABLED", "0")
        env.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, _node_ip_address="127.0.0.1", _temp_dir=temp,
                 log_to_driver=False)
        try:
            yield ray.get_runtime_context().gcs_address
        finally:
            ray.shutdown()
            shutil.rmtree(temp, ignore_errors=True)


def _images(folder: Path, n: int) -> Path:
    """``n`` small images, half dark and half bright, plus a corrupt and an empty file."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        low, high = (0, 60) if i % 2 else (190, 255)
        save(rng.integers(low, high, (48, 48, 3), dtype=np.uint8), folder / f"img{i:03d}.png")
    (folder / "zz_corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    (folder / "zz_empty.png").write_bytes(b"")
    return folder


def _detector(ws: Workspace) -> str:
    """A registered detector fitted on a toy problem and saved in ``ws`` (what the CLI loads by name)."""
    rng = np.random.default_rng(1)
    real = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(8)]
    fake = [np.repeat(np.repeat(img[::2, ::2], 2, 0), 2, 1) for img in real]
    det = DETECTORS.create("spectral").fit(real + fake, np.array([0] * 8 + [1] * 8))
    return save_detector(ws, det, "toy", {}, []).id


def _brightness_problem() -> tuple[list[np.ndarray], np.ndarray]:
    return [dark(i) for i in range(8)] + [bright(i) for i in range(8)], np.array([0] * 8 + [1] * 8)


def _rounded(value):
    """Floats to 9 significant digits: a batch scored together and one scored alone differ in the last bits."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _untimed(results: list[dict]) -> list[dict]:
    return [_rounded({k: v for k, v in r.items() if k != "timing_s"}) for r in results]


def test_ray_scan_gives_exactly_the_process_pool_results(ray_address, ws, tmp_path):
    folder = _images(tmp_path / "media", 10)
    det = _detector(ws)
    pool = list(Scan(ws, det, ScanOptions(workers=2), name="pool").run([folder]))
    on_ray = list(Scan(ws, det, ScanOptions(engine="ray", address=ray_address), name="ray").run([folder]))
    assert len(pool) == 12 and {r["status"] for r in pool} == {"ok", "error"}
    untimed = lambda rs: [{k: v for k, v in r.items() if k != "timing_s"} for r in rs]  # noqa: E731
    assert untimed(on_ray) == untimed(pool)  # batched alike (Engine.size): the same bits
    reports = [load_report(ws, name) for name in ("pool", "ray")]
    assert untimed(reports[1]["results"]) == untimed(reports[0]["results"])
    assert reports[1]["summary"] == reports[0]["summary"] and reports[1]["options"]["engine"] == "ray"
    recs = [ws.resolve(name, "scans") for name in ("pool", "ray")]
    assert recs[1].parents == [det] and recs[1].params["files"] == recs[0].params["files"] == 12
    assert [r["source"] for r in ws.catalog.rejects(recs[1].id)] == [r["source"] for r in ws.catalog.rejects(recs[0].id)]


class BlockingDetector(BrightnessDetector):
    """Mean brightness, except that an image of one flat value :data:`HOLD_VALUE` holds its worker
    (up to :data:`PATIENCE_S`): a scan that reaches that file cannot finish until it is killed."""

    name = "test-blocking"

    def predict_proba(self, images: Images) -> np.ndarray:
        if any(img.min() == img.max() == HOLD_VALUE for img in images):
            threading.Event().wait(PATIENCE_S)
        return super().predict_proba(images)


HOLD_VALUE = 7
#: the CLI, with the blocking detector registered first (the Ray actors import it from this module)
CLI_WITH_BLOCKING = """
import sys
from assay.detect.base import DETECTORS, Images
from tests.test_ray_engine import BlockingDetector
DETECTORS.register(BlockingDetector.name)(BlockingDetector)
from assay.cli import main
main()
"""


def test_a_killed_ray_scan_resumes(ray_address, ws, tmp_path, monkeypatch):
    """The last file holds its actor, so the scan cannot finish: it is killed once a first batch
    of results is journalled; the file is replaced by an ordinary image and the scan resumed."""
    from assay.core.ray_engine import BATCH

    monkeypatch.setitem(DETECTORS._items, BlockingDetector.name, BlockingDetector)
    folder = _images(tmp_path / "media", 8)
    det = save_detector(ws, BlockingDetector().fit(*_brightness_problem()), "blocking", {}, []).id
    last = tmp_path / "zzz_last.png"
    save(np.full((48, 48, 3), HOLD_VALUE, np.uint8), last)
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    args = [sys.executable, "-c", CLI_WITH_BLOCKING, "--workspace", str(ws.root), "detect", "scan", str(folder),
            str(last), "--detector", det, "--engine", "ray", "--address", ray_address, "--name", "big", "-f", "jsonl",
            "--batch", "1"]  # files one at a time: a batch holding the blocked file would journal nothing
    journal = ws.root / "scans" / ".staging-big" / RESULTS_FILE
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + PATIENCE_S
        while len(read_jsonl(journal)) < BATCH and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert proc.poll() is None, proc.stderr.read()[-2000:]
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    before = read_jsonl(journal)
    assert BATCH <= len(before) < 11 and ws.catalog.list("scans") == []  # not the held file; nothing recorded
    save(np.full((48, 48, 3), 200, np.uint8), last)
    resumed = subprocess.run(args + ["--resume"], env=env, capture_output=True, text=True, timeout=PATIENCE_S)
    results = [json.loads(line) for line in resumed.stdout.splitlines()]
    assert len(results) == 11, resumed.stderr[-2000:]
    assert results[:len(before)] == before                                # read back, timings and all: not rescanned
    assert results[10]["path"] == str(last) and results[10]["status"] == "ok"
    reference = list(Scan(ws, det, ScanOptions(workers=2), record=False).run([folder, last]))
    assert _untimed(results) == _untimed(reference)
    assert ws.resolve("big", "scans").params["files"] == 11 and resumed.returncode == summarize(reference)["exit_code"]


def test_ray_prepare_gives_the_same_set(ray_address, ws, tmp_path):
    src = _images(tmp_path / "photos", 6)
    cfg = PrepareConfig(size=32, align="center", embed=False, workers=2)
    local = prepare(ws, src, "local", cfg)
    on_ray = prepare(ws, src, "ray", cfg, engine=Engine("ray", address=ray_address))
    rows = [open_set(ws, r.record.id).rows for r in (local, on_ray)]
    assert len(rows[0]) == 6 and rows[1] == rows[0]
    assert on_ray.rejects == local.rejects and len(local.rejects) == 2


def test_forge_sample_on_ray_gives_the_same_pixels(ray_address, ws):
    from assay.forge.config import make_config
    from assay.forge.training import train
    from tests.helpers.faces import tiny_faces

    cfg = make_config("dcgan", 32, steps=2, batch=8, g_ch=4, d_ch=4, z_dim=16, checkpoint_every=2, sample_every=2)
    run = train(ws, tiny_faces(ws), cfg, progress=False)
    local = CliRunner().invoke(app, ["--workspace", str(ws.root), "forge", "sample", run, "--n", "70", "--seed", "5",
                                     "--labels", "xmp", "--name", "local"])
    on_ray = CliRunner().invoke(app, ["--workspace", str(ws.root), "forge", "sample", run, "--n", "70", "--seed", "5",
                                      "--labels", "xmp", "--name", "ray", "--engine", "ray", "--address", ray_address,
                                      "--workers", "2"])
    assert local.exit_code == 0 and on_ray.exit_code == 0, local.output + on_ray.output
    sets = [open_set(ws, name) for name in ("local", "ray")]
    assert [r["latent_index"] for r in sets[1].rows] == list(range(70))   # three batches over two actors, in order
    assert [r["sha256"] for r in sets[1].rows] == [r["sha256"] for r in sets[0].rows]
    assert np.array_equal(sets[1].load(), sets[0].load())


NO_RAY = """
import sys
from pathlib import Path
from assay.core.workspace import Workspace
from assay.detect.scan import Scan, ScanOptions
from tests.test_ray_engine import _detector, _images
ws = Workspace(sys.argv[1])
results = list(Scan(ws, _detector(ws), ScanOptions(workers=2), record=False).run([_images(Path(sys.argv[2]), 2)]))
print(len(results), "ray" in sys.modules, "psycopg" in sys.modules)
"""


def test_without_an_engine_ray_is_not_imported(tmp_path, monkeypatch):
    proc = subprocess.run([sys.executable, "-c", NO_RAY, str(tmp_path / "ws"), str(tmp_path / "media")],
                          capture_output=True, text=True, timeout=PATIENCE_S, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0 and proc.stdout.split() == ["4", "False", "False"], proc.stderr[-2000:]
    monkeypatch.setitem(sys.modules, "ray", None)  # as where assay[ray] is not installed
    monkeypatch.delitem(sys.modules, "assay.core.ray_engine", raising=False)
    from assay.core.errors import MissingExtraError

    with pytest.raises(MissingExtraError, match=r"install 'assay\[ray\]'"):
        list(Engine("ray").map(None, [{}]))
    result = CliRunner().invoke(app, ["--workspace", str(tmp_path / "ws"), "detect", "scan", str(tmp_path / "media"),
                                      "--engine", "spark"])
    assert result.exit_code == 2 and "--engine must be one of local, ray" in result.output
