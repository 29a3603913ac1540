"""Hostile input files, made here, through every command that reads media.

A named pipe, a link to /dev/zero, sparse files over the size limits, link loops, one name
in two folders, an unreadable file, a decompression bomb and wrong extensions sit beside
good images. Every command runs in a subprocess with a time limit (a hang fails the test)
and its peak memory is measured: each hostile file gets a one-line reason, the good files
are processed, nothing is overwritten and no traceback is printed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from assay.core.errors import EnvironmentFault, ImageError, InputError
from assay.core.imageio import decode, save
from assay.core.media import MAX_FILE_BYTES, iter_media, open_media
from assay.core.workspace import Workspace
from tests.conftest import REPO

#: seconds any one command may take before it counts as hanging
COMMAND_TIMEOUT = 300
#: peak resident memory any one command may reach (the imports of torch, OpenCV and dlib take most of it);
#: reading the 3 GiB sparse files or /dev/zero would go far past it
MAX_RSS_BYTES = 1024 << 20
GIB = 1 << 30
GOOD = {"good/a.png", "good/b.jpg", "a/x.png", "b/x.png"}
#: hostile file -> the words its one-line reason carries
HOSTILE = {
    "pipe.jpg": "named pipe",
    "zero.png": "character device",
    "huge.png": "too large",
    "huge.mp4": "too large",
    "loop.jpg": "symlink loop",
    "loopdir/back": "symlink loop",
    "bomb.png": "decompression bomb",
    "text.jpg": "not an image",
    "text.mp4": "not a readable video",
    "dangling.webp": "missing file",
    "locked.png": "permission denied",
}
#: run commands without the capabilities that let root read any file, so that the locked file is unreadable
NO_DAC = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


def _pattern(seed: int, size: int = 48) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)


def _bomb_png(side: int = 100_000) -> bytes:
    """A few hundred bytes of PNG whose header claims side x side pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + chunk(b"IEND", b""))


def make_hostile_tree(root: Path) -> None:
    for i, rel in enumerate(sorted(GOOD)):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        save(_pattern(i), root / rel)
    os.mkfifo(root / "pipe.jpg")
    os.symlink("/dev/zero", root / "zero.png")
    for name in ("huge.png", "huge.mp4"):
        with open(root / name, "wb") as fh:
            fh.truncate(3 * GIB)  # sparse: takes no disk
    os.symlink("loop.jpg", root / "loop.jpg")
    (root / "loopdir").mkdir()
    os.symlink("..", root / "loopdir" / "back")
    (root / "bomb.png").write_bytes(_bomb_png())
    (root / "text.jpg").write_text("this is not an image\n" * 10)
    (root / "text.mp4").write_text("this is not a video either\n" * 10)
    os.symlink("gone.webp", root / "dangling.webp")
    save(_pattern(99), root / "locked.png")
    (root / "locked.png").chmod(0)


def _regular_files(root: Path) -> dict[str, str]:
    """sha256 of every small regular file under ``root`` (links are not followed; pipes and the sparse giants skipped)."""
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_FILE_BYTES["image"]:
                continue
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


#: runs ``python -m assay ARGS`` and, at exit, writes the process's peak resident memory (VmHWM, KiB) to a file;
#: measured inside, because a forked child's ru_maxrss starts from its parent's (pytest's) size
PEAK_MEMORY = """
import atexit, runpy, sys
report = sys.argv.pop(1)

def peak():
    with open("/proc/self/status") as status, open(report, "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM")).split()[1])

atexit.register(peak)
sys.argv[0] = "assay"
runpy.run_module("assay", run_name="__main__")
"""


def run_bounded(args: list[str], ws: Path, env: dict[str, str] | None = None) -> tuple[int, str, str, int]:
    """Run ``python -m assay`` with a time limit; (exit code, stdout, stderr, peak RSS in bytes)."""
    prefix = NO_DAC if os.geteuid() == 0 and shutil.which("setpriv") else []
    with tempfile.TemporaryDirectory() as tmp:
        peak, out_path, err_path = Path(tmp, "peak"), Path(tmp, "out"), Path(tmp, "err")
        with open(out_path, "w") as out, open(err_path, "w") as err:
            proc = subprocess.Popen([*prefix, sys.executable, "-c", PEAK_MEMORY, str(peak), "--workspace", str(ws),
                                     *args], stdout=out, stderr=err, cwd=REPO,
                                    env={**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", **(env or {})})
            try:
                proc.wait(timeout=COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                pytest.fail(f"assay {' '.join(args)} hung (over {COMMAND_TIMEOUT}s)")
        rss = int(peak.read_text()) * 1024 if peak.exists() else 0
        return proc.returncode, out_path.read_text(), err_path.read_text(), rss


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("hostile")
    root = base / "in"
    make_hostile_tree(root)
    ws = Workspace(base / "ws")
    import assay.detect.detectors  # noqa: F401  (fills the registry)
    from assay.detect.base import DETECTORS
    from assay.detect.store import save_detector

    images = [_pattern(i, 32) for i in range(8)]
    save_detector(ws, DETECTORS.create("spectral").fit(images, np.array([0, 1] * 4)), "spectral", {}, [])
    return {"root": root, "ws": ws.root, "base": base}


def _rows(value: object) -> list[str]:
    """Every JSON object in ``value`` that names a file, each as one line."""
    if isinstance(value, dict):
        own = [json.dumps(value)] if {"file", "path"} & set(value) else []
        return own + [row for v in value.values() for row in _rows(v)]
    if isinstance(value, list):
        return [row for v in value for row in _rows(v)]
    return []


def _reasons(out: str, err: str) -> dict[str, str]:
    """hostile file -> the line of the output (one JSON object per line) naming it."""
    try:
        lines = _rows(json.loads(out))
    except ValueError:
        lines = out.splitlines()
    lines += err.splitlines()
    return {name: next((line for line in lines if f"/{name}" in line or line.startswith(f"skipped {name}:")), "")
            for name in HOSTILE}


COMMANDS = {
    "prepare": (["data", "prepare", "{root}", "--out", "hostile", "--size", "32", "--align", "center", "--layout",
                 "none", "--no-embed", "--workers", "2"], {0}),
    "scan": (["detect", "scan", "{root}", "--recursive", "--format", "jsonl", "--workers", "1"], {0, 1, 2}),
    "stamp": (["provenance", "stamp", "{root}", "--out", "{base}/stamped", "--labels", "xmp,visible", "--json"], {1}),
    "verify": (["provenance", "verify", "{root}", "--format", "json"], {1}),
    "comply": (["provenance", "comply", "{root}", "--profile", "eu-ai-act-art50", "--format", "json"], {1}),
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_survives_hostile_files(hostile, command) -> None:
    root, base = hostile["root"], hostile["base"]
    before = _regular_files(root)
    args, codes = COMMANDS[command]
    code, out, err, rss = run_bounded([a.format(root=root, base=base) for a in args], hostile["ws"])
    assert "Traceback" not in err and "Traceback" not in out, err[-2000:]
    assert code in codes, err[-2000:]
    assert 0 < rss < MAX_RSS_BYTES, f"peak memory {rss >> 20} MiB"
    reasons = _reasons(out, err)
    for name, words in HOSTILE.items():
        if (name == "locked.png" and os.geteuid() == 0 and not shutil.which("setpriv")) or \
                (command == "prepare" and name.endswith(".mp4")):  # prepare reads images only
            continue
        assert words in reasons[name].lower(), f"{name}: {reasons[name]!r}"
    assert _regular_files(root) == before  # inputs are never written
    _GOOD_CHECKS[command](out, hostile)


def _good_prepared(out: str, hostile: dict[str, Path]) -> None:
    rec = Workspace(hostile["ws"], read_only=True).resolve(out.strip().splitlines()[-1])
    rows = [json.loads(line) for line in (Path(rec.path) / "manifest.jsonl").read_text().splitlines()]
    assert {r["source"] for r in rows} == GOOD


def _good_scanned(out: str, hostile: dict[str, Path]) -> None:
    results = {Path(r["path"]).relative_to(hostile["root"]).as_posix(): r for r in map(json.loads, out.splitlines())}
    assert {name for name, r in results.items() if r["status"] == "ok"} == GOOD


def _good_stamped(out: str, hostile: dict[str, Path]) -> None:
    rows = json.loads(out)
    stamped = {Path(r["out"]).relative_to(hostile["base"] / "stamped").as_posix() for r in rows if r["out"]}
    assert stamped == GOOD  # a/x.png and b/x.png each keep their folder: neither replaces the other
    assert (hostile["base"] / "stamped/a/x.png").read_bytes() != (hostile["base"] / "stamped/b/x.png").read_bytes()


def _good_verified(out: str, hostile: dict[str, Path]) -> None:
    results = {Path(r["file"]).relative_to(hostile["root"]).as_posix(): r for r in json.loads(out)}
    assert {name for name, r in results.items() if not r["error"]} == GOOD


def _good_complied(out: str, hostile: dict[str, Path]) -> None:
    files = {Path(r["file"]).relative_to(hostile["root"]).as_posix() for r in json.loads(out)["rows"]}
    assert GOOD <= files


_GOOD_CHECKS = {"prepare": _good_prepared, "scan": _good_scanned, "stamp": _good_stamped, "verify": _good_verified,
                "comply": _good_complied}


def test_stamp_refuses_outputs_that_would_collide_before_writing_any(tmp_path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        save(_pattern(len(folder) + ord(folder)), tmp_path / folder / "x.png")
    out = tmp_path / "out"
    code, _, err, _ = run_bounded(["provenance", "stamp", str(tmp_path / "a" / "x.png"), str(tmp_path / "b" / "x.png"),
                                   "--out", str(out), "--labels", "xmp"], tmp_path / "ws")
    assert code == 2 and "written twice" in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


def test_a_pipe_is_refused_by_the_opener_without_blocking(tmp_path) -> None:
    os.mkfifo(tmp_path / "p.png")
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("opening a named pipe blocked"))
    signal.alarm(20)
    try:
        with pytest.raises(ImageError, match="named pipe"):
            decode(tmp_path / "p.png")
        with pytest.raises(ImageError, match="named pipe"), open_media(tmp_path / "p.png"):
            pass
    finally:
        signal.alarm(0)


def test_the_size_limit_is_configurable_per_kind(tmp_path, monkeypatch) -> None:
    save(_pattern(1), tmp_path / "a.png")
    size = (tmp_path / "a.png").stat().st_size
    assert list(iter_media([tmp_path])) == [(tmp_path / "a.png", None)]
    monkeypatch.setenv("ASSAY_MAX_IMAGE_BYTES", str(size - 1))
    [(_, problem)] = iter_media([tmp_path])
    assert problem.startswith(f"too large: {size} bytes > the image limit of {size - 1} bytes")
    with pytest.raises(ImageError, match="too large"):
        decode(tmp_path / "a.png")
    monkeypatch.setenv("ASSAY_MAX_VIDEO_BYTES", "10")  # another kind's limit does not apply to images
    monkeypatch.setenv("ASSAY_MAX_IMAGE_BYTES", str(size))
    assert decode(tmp_path / "a.png").shape == (48, 48, 3)
    monkeypatch.setenv("ASSAY_MAX_IMAGE_BYTES", "lots")
    with pytest.raises(InputError, match="ASSAY_MAX_IMAGE_BYTES must be a positive number"):
        list(iter_media([tmp_path]))


def test_an_io_error_while_reading_is_a_fault_of_the_machine(tmp_path, monkeypatch) -> None:
    from PIL import ImageFile

    save(_pattern(1), tmp_path / "a.png")

    def failing(self):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(ImageFile.ImageFile, "load", failing)
    with pytest.raises(EnvironmentFault, match="Input/output error"):  # not an ImageError: the file is not at fault
        decode(tmp_path / "a.png")


def _children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to find the pool workers")
def test_prepare_workers_die_with_a_killed_parent(tmp_path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    gradient = np.linspace(0, 255, 384 * 384 * 3).reshape(384, 384, 3).astype(np.uint8)
    for i in range(300):
        save(np.roll(gradient, i, axis=0), src / f"{i:03d}.jpg")
    proc = subprocess.Popen([sys.executable, "-m", "assay", "--workspace", str(tmp_path / "ws"), "data", "prepare",
                             str(src), "--out", "big", "--workers", "2", "--no-embed"], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"})
    workers: list[int] = []
    try:
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while len(workers) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            workers = _children(proc.pid)
        assert len(workers) >= 2, "the pool never started"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=COMMAND_TIMEOUT)
        deadline = time.monotonic() + 60
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers), "pool workers outlived their killed parent"
    finally:
        for pid in [proc.pid, *workers]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=COMMAND_TIMEOUT)
