"""The memory budget: images refused from their decoded size before decoding, pools sized by the budget,
and the 62-megapixel single-colour PNG (a 200 KB file) under a 1 GiB limit set with ``resource.setrlimit``."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assay.core import engines, memory
from assay.core.errors import ImageError, InputError
from assay.core.imageio import decode, encode
from assay.provenance import StampOptions, stamp_pixels

REPO = Path(__file__).resolve().parents[1]
GiB = 1 << 30
#: 7874 x 7874 = 62 million pixels: under the 64-megapixel bomb guard, 177 MiB of RGB once decoded
SIDE = 7874


@pytest.fixture(autouse=True)
def no_share(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_share", None)
    monkeypatch.delenv(memory.ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def big_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "flat-62mp.png"
    Image.new("RGB", (SIDE, SIDE), (120, 130, 140)).save(path)
    assert path.stat().st_size < 1 << 20  # a small file: only its decoded size tells
    return path


@pytest.fixture(scope="module")
def keyed_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("keyed") / "ws"
    assert subprocess.run([sys.executable, "-m", "assay", "--workspace", str(ws), "provenance", "keygen"],
                          env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True).returncode == 0
    return ws


def _rss() -> int:
    return memory._status().get("VmRSS", 0)


def test_an_image_over_the_budget_is_refused_from_its_header(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.png"
    Image.new("RGB", (1000, 1000), (1, 2, 3)).save(path)
    monkeypatch.setenv(memory.ENV_VAR, str(_rss() + 2_000_000))  # 2 MB left: 3 MB of pixels x 2.5 does not fit
    with pytest.raises(ImageError) as info:
        decode(path)
    reason = str(info.value)
    assert "\n" not in reason and "1000x1000 x 3 channels" in reason and memory.ENV_VAR in reason
    monkeypatch.setenv(memory.ENV_VAR, str(_rss() + 64_000_000))
    assert decode(path).shape == (1000, 1000, 3)


def test_the_working_set_of_the_command_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(np.zeros((2000, 2000, 3), np.uint8))
    monkeypatch.setenv(memory.ENV_VAR, str(_rss() + 42_000_000))  # decode (2.5 x 12 MB) fits, stamp (4.5 x) does not
    assert decode(data).shape == (2000, 2000, 3)
    with pytest.raises(ImageError, match="stamp needs about"):
        decode(data, work="stamp")


def test_a_budget_that_is_not_a_number_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(memory.ENV_VAR, "1GB")
    with pytest.raises(InputError, match=memory.ENV_VAR):
        memory.budget()


def test_the_tightest_limit_is_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(memory.ENV_VAR, str(_rss() + 10 * GiB))
    memory.set_share(100 << 20)
    tight = memory.budget()
    assert tight is not None and tight.source == "this worker's share of the pool's budget"
    assert 90 << 20 < tight.headroom <= 100 << 20


def test_pools_have_no_more_workers_than_the_budget_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(memory.ENV_VAR, str(_rss() + 2 * memory.WORKER_BYTES + (10 << 20)))
    workers, limit = memory.pool_size(8)
    assert workers == 2 and limit is not None and limit.source == memory.ENV_VAR
    monkeypatch.setenv(memory.ENV_VAR, str(_rss() + (10 << 20)))
    assert memory.pool_size(8)[0] == 1  # never none


class _Pid:
    wants_gpu = False

    def setup(self) -> None:
        pass

    def __call__(self, item: dict) -> dict:
        share = memory._share[1] if memory._share else None
        return {"pid": os.getpid(), "share": share}


def test_the_local_engine_keeps_to_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    items = [{"i": i} for i in range(6)]
    monkeypatch.setenv(memory.ENV_VAR, str(_rss() + (10 << 20)))  # room for one worker: this process does the work
    assert {r["pid"] for r in engines.run_local(_Pid(), items, engines.Engine(workers=4))} == {os.getpid()}
    monkeypatch.setenv(memory.ENV_VAR, str(_rss() + 2 * memory.WORKER_BYTES + (10 << 20)))
    results = list(engines.run_local(_Pid(), items, engines.Engine(workers=4)))
    assert os.getpid() not in {r["pid"] for r in results}
    assert len({r["pid"] for r in results}) <= 2
    assert all(memory.WORKER_BYTES <= r["share"] < memory.WORKER_BYTES + (10 << 20) for r in results)


def test_stamp_pixels_of_a_large_array_keep_its_values() -> None:
    """The banded watermark gives the very pixels a whole-image computation gives (a band of 1000 pixels here)."""
    from assay.provenance import watermark

    rgb = np.random.default_rng(3).integers(0, 256, (300, 211, 3), dtype=np.uint8)
    whole = stamp_pixels(rgb, "png", None, StampOptions(labels=("watermark",)), content_id="0badcafe")
    band, watermark.BAND_PIXELS = watermark.BAND_PIXELS, 1000
    try:
        banded = stamp_pixels(rgb, "png", None, StampOptions(labels=("watermark",)), content_id="0badcafe")
    finally:
        watermark.BAND_PIXELS = band
    assert decode(whole.data).tobytes() == decode(banded.data).tobytes()


def _limited(kind: int, args: list[str], ws: Path, cwd: Path) -> subprocess.CompletedProcess:
    def limit() -> None:
        resource.setrlimit(kind, (GiB, GiB))

    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    env.pop(memory.ENV_VAR, None)
    return subprocess.run([sys.executable, "-m", "assay", "--workspace", str(ws), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, preexec_fn=limit)


def test_62_megapixels_under_a_1_gib_address_space_limit(big_png: Path, keyed_ws: Path, tmp_path: Path) -> None:
    """Under ``ulimit -v`` 1 GiB the large file gets one line and the others are verified and stamped."""
    small = tmp_path / "small.png"
    Image.new("RGB", (200, 200), (9, 9, 9)).save(small)
    ws = keyed_ws
    res = _limited(resource.RLIMIT_AS, ["provenance", "verify", str(big_png), str(small)], ws, tmp_path)
    lines = [line for line in res.stdout.splitlines() if line.startswith(str(big_png))]
    assert len(lines) == 1 and "too large for memory" in lines[0] and "ulimit -v" in lines[0], res.stdout + res.stderr
    assert f"{small}: unlabelled" in res.stdout and "Traceback" not in res.stderr
    res = _limited(resource.RLIMIT_AS, ["provenance", "stamp", str(big_png), str(small), "--out", str(tmp_path / "o")],
                   ws, tmp_path)
    assert "too large for memory" in res.stdout + res.stderr and "Traceback" not in res.stderr
    assert (tmp_path / "o" / "small.png").is_file() and not (tmp_path / "o" / big_png.name).exists()


def test_62_megapixels_stamp_and_verify_within_a_1_gib_data_limit(big_png: Path, keyed_ws: Path,
                                                                  tmp_path: Path) -> None:
    """``ulimit -d`` counts memory written, not address space: the file fits, is stamped and verified in full."""
    out = tmp_path / "o"
    res = _limited(resource.RLIMIT_DATA, ["provenance", "stamp", str(big_png), "--out", str(out)], keyed_ws, tmp_path)
    assert res.returncode == 0 and (out / big_png.name).is_file(), res.stdout + res.stderr
    res = _limited(resource.RLIMIT_DATA, ["provenance", "verify", str(out / big_png.name)], keyed_ws, tmp_path)
    assert res.returncode == 0 and f"{out / big_png.name}: ok" in res.stdout, res.stdout + res.stderr


def test_prepare_runs_no_more_workers_than_the_budget_holds(ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    from assay.data.preparation import PrepareConfig, prepare

    src = tmp_path / "photos"
    src.mkdir()
    for i in range(4):
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(src / f"{i}.png")
    monkeypatch.setenv(memory.ENV_VAR, str(_rss() + memory.WORKER_BYTES + (100 << 20)))
    with caplog.at_level("WARNING", logger="assay.core.engines"):
        result = prepare(ws, src, "faces", PrepareConfig(size=32, align="center", workers=4, embed=False))
    assert result.kept == 4
    assert "memory: 1 of 4 worker processes fit" in caplog.text


def test_62_megapixels_scan_under_a_1_gib_address_space_limit(big_png: Path, tmp_path: Path) -> None:
    from tests.helpers.serve import toy_detector_workspace

    ws, _ = toy_detector_workspace(tmp_path / "ws")
    small = tmp_path / "small.png"
    Image.new("RGB", (200, 200), (9, 9, 9)).save(small)
    res = _limited(resource.RLIMIT_AS, ["detect", "scan", str(big_png), str(small), "--format", "json"], ws.root,
                   tmp_path)
    rows = {Path(r["path"]).name: r for r in json.loads(res.stdout)}
    assert rows[big_png.name]["status"] == "error" and "too large for memory" in rows[big_png.name]["error"]
    assert rows["small.png"]["status"] == "ok" and rows["small.png"]["verdict"], res.stderr
