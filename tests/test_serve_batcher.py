"""Micro-batching in `assay serve` and bodies without a Content-Length: the batcher's grouping on its own, then a
real in-process server (``--workers 0 --batch 4``) on a loopback port, driven over HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import pytest
from PIL import Image

from assay.core.imageio import save
from assay.detect import scan_paths
from assay.serve import Client, TokenStore
from assay.serve.batcher import Batcher
from assay.serve.client import multipart
from tests.helpers.images import bright, dark
from tests.helpers.serve import raw_request_head, read_reply, read_reply_head, running, toy_detector_workspace


def test_uploads_waiting_while_a_batch_runs_form_the_next_batches():
    """While the first upload is being scanned, six more wait; they go in batches of at most 4, each request
    gets its own result, and a request cancelled while it waited is left out."""
    entered, release = threading.Event(), threading.Event()
    calls: list[list[str]] = []

    def scan_many(paths):
        calls.append([p.name for p in paths])
        if len(calls) == 1:
            entered.set()
            release.wait(30)
        return [{"path": p.name} for p in paths]

    async def main() -> list[dict]:
        batcher = Batcher(scan_many, 4, anyio.CapacityLimiter(1))
        first = asyncio.ensure_future(batcher.scan(Path("f0")))
        await anyio.to_thread.run_sync(entered.wait, 30)
        rest = [asyncio.ensure_future(batcher.scan(Path(f"f{i}"))) for i in range(1, 8)]
        await asyncio.sleep(0)  # every request has joined the list
        rest[2].cancel()  # f3 gives up before its batch
        release.set()
        return [await first] + [await r for k, r in enumerate(rest) if k != 2]

    results = asyncio.run(main())
    assert calls == [["f0"], ["f1", "f2", "f4", "f5"], ["f6", "f7"]]
    assert [r["path"] for r in results] == ["f0", "f1", "f2", "f4", "f5", "f6", "f7"]


def test_a_failed_batch_fails_each_of_its_requests_and_the_next_batch_runs():
    def scan_many(paths):
        if paths[0].name == "bad":
            raise RuntimeError("detector broke")
        return [{"path": p.name} for p in paths]

    async def main() -> tuple[BaseException | None, dict]:
        batcher = Batcher(scan_many, 4, anyio.CapacityLimiter(1))
        failed = None
        try:
            await batcher.scan(Path("bad"))
        except RuntimeError as exc:
            failed = exc
        return failed, await batcher.scan(Path("good"))

    failed, good = asyncio.run(main())
    assert str(failed) == "detector broke" and good == {"path": "good"}


@pytest.fixture(scope="module")
def batched(tmp_path_factory: pytest.TempPathFactory):
    """An in-process service (``--workers 0``) scanning up to 4 uploads at once, with a 1 MiB body limit."""
    root = tmp_path_factory.mktemp("batched")
    ws, detector = toy_detector_workspace(root / "ws")
    store = TokenStore(root / "tokens.json")
    token = store.add("batch", rate_per_min=1e6)
    args = ["--tokens", str(root / "tokens.json"), "--batch", "4", "--max-mb", "1", "--queue", "64"]
    with running(ws, args, root, workers=0) as srv:
        yield {"srv": srv, "ws": ws, "detector": detector, "token": token}


def png_bytes(image) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


def metric(text: str, name: str) -> float:
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.split(" ")[0] == name)


def test_batched_answers_match_the_unbatched_library_scan(batched, tmp_path: Path):
    """16 clients, 48 distinct files: each answer is its own file's, as the library scans it one file at a time;
    every upload went through a batch, none of more than --batch files."""
    srv, ws = batched["srv"], batched["ws"]
    folder = tmp_path / "files"
    folder.mkdir()
    for i in range(48):
        save(dark(i) if i % 2 else bright(i), folder / f"f{i:02d}.png")
    expected = {Path(r["path"]).name: r for r in scan_paths(ws, [folder], batched["detector"], record=False,
                                                             workers=1, batch=1)}
    client = Client(srv.url, token=batched["token"])
    assert client.health()["worker"] == srv.proc.pid  # --workers 0: the service runs in the `assay serve` process
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: (f"f{i:02d}.png", client.scan(folder / f"f{i:02d}.png")), range(48)))
    for name, result in answers:
        want = expected[name]
        assert result["path"] == name and result["status"] == "ok"
        assert result["upload"]["sha256"] == hashlib.sha256((folder / name).read_bytes()).hexdigest()
        assert result["verdict"] == want["verdict"] and result["faces_found"] == want["faces_found"]
        assert result["probability"] == pytest.approx(want["probability"], abs=1e-9)
    assert len({r["probability"] for _, r in answers}) > 2  # distinct files, distinct scores: nothing mixed
    text = client.metrics()
    batches = metric(text, "assay_serve_batch_files_count")
    assert metric(text, "assay_serve_batch_files_sum") == 48  # every upload scanned once, in some batch
    assert 12 <= batches <= 48  # 48 uploads in batches of 1 to 4
    assert metric(text, 'assay_serve_batch_files_bucket{le="4"}') == batches  # no batch over --batch 4


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def test_a_chunked_body_over_the_limit_is_refused_without_reading_the_rest(batched):
    """A chunked upload that passes 1 MiB gets 413 and a closed connection while its client still has more to send
    (no reply would come if the service read on to the end of the body); one within the limit is scanned."""
    srv, limit = batched["srv"], 1 << 20
    body, content_type = multipart("file", "huge.png", b"\x89PNG\r\n\x1a\n" + b"\0" * limit)
    sock = raw_request_head(srv.url, "/v1/scan", None, batched["token"], content_type.split("boundary=")[1])
    for start in range(0, limit, 1 << 16):  # exactly the limit, then one byte past it; the body's end never sent
        sock.sendall(chunk(body[start:min(start + (1 << 16), limit)]))
    sock.sendall(chunk(body[limit:limit + 1]))
    head, answer = read_reply_head(sock)
    assert head.startswith(b"http/1.1 413") and b"connection: close" in head and "limit" in answer["detail"]
    within, content_type = multipart("file", "small.png", png_bytes(bright(9)))
    sock = raw_request_head(srv.url, "/v1/scan", None, batched["token"], content_type.split("boundary=")[1])
    sock.sendall(chunk(within[:100]) + chunk(within[100:]) + b"0\r\n\r\n")
    status, answer = read_reply(sock)
    assert status == 200 and answer["path"] == "small.png" and answer["status"] == "ok"
    assert 'assay_serve_refused_total{reason="413"}' in Client(srv.url).metrics()
    assert srv.leftovers() == []
