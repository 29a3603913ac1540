"""`assay serve` as a real server on a loopback port, driven over HTTP: auth, limits, hostile uploads, parallel
clients, the catalog record, metrics, the access log and shutdown under load."""

from __future__ import annotations

import io
import json
import signal
import struct
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from assay.cli import app
from assay.core.errors import InputError
from assay.core.imageio import save
from assay.detect import scan_paths
from assay.provenance import comply, ensure_keys, get_profiles, stamp_file
from assay.serve import Client, ServeConfig, ServiceError, TokenStore
from assay.serve.client import multipart
from assay.serve.server import is_loopback
from tests.helpers.images import bright, dark, smooth_image
from tests.helpers.serve import (
    raw_request_head,
    read_reply,
    running,
    toy_detector_workspace,
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    """A workspace with a toy detector and three tokens: ``alpha`` (scans recorded), ``slow`` (2 a minute), ``gone``."""
    root = tmp_path_factory.mktemp("serve")
    ws, detector = toy_detector_workspace(root / "ws")
    store = TokenStore(root / "tokens.json")
    tokens = {"alpha": store.add("alpha", record=True), "slow": store.add("slow", rate_per_min=2),
              "gone": store.add("gone"), "plain": store.add("plain")}
    return {"ws": ws, "detector": detector, "tokens": tokens, "store": store, "root": root}


@pytest.fixture(scope="module")
def server(served):
    """Tokens only, two workers, a 1 MiB body limit and a 1-megapixel limit; access log to a file."""
    root = served["root"]
    args = ["--tokens", str(root / "tokens.json"), "--max-mb", "1", "--max-pixels", "1000000",
            "--access-log", str(root / "access.jsonl")]
    with running(served["ws"], args, root, workers=2) as srv:
        yield srv


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A few hundred bytes that claim 10^10 pixels: a decompression bomb by its header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + \
        chunk(b"IEND", b"")


def test_token_commands_show_the_token_once_and_keep_only_a_salted_hash(tmp_path: Path):
    path = tmp_path / "t.json"
    runner = CliRunner()
    made = runner.invoke(app, ["--workspace", str(tmp_path / "ws"), "serve", "token", "add", "platform-a",
                               "--rate", "30", "--record", "--tokens", str(path)])
    assert made.exit_code == 0, made.output
    token = made.stdout.strip().splitlines()[0]
    assert token.startswith("assay_") and len(token) > 40
    text = path.read_text()
    assert token not in text and token.split("_", 2)[2] not in text  # neither the token nor its secret is kept
    assert path.stat().st_mode & 0o777 == 0o600
    assert TokenStore(path).check(token).name == "platform-a"
    assert TokenStore(path).check(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    listed = runner.invoke(app, ["serve", "token", "list", "--tokens", str(path)])
    assert "platform-a" in listed.stdout and token not in listed.stdout
    again = runner.invoke(app, ["serve", "token", "add", "platform-a", "--tokens", str(path)])
    assert again.exit_code == 2 and "exists" in again.output
    assert runner.invoke(app, ["serve", "token", "revoke", "platform-a", "--tokens", str(path)]).exit_code == 0
    assert TokenStore(path).check(token) is None
    assert runner.invoke(app, ["serve", "token", "revoke", "platform-a", "--tokens", str(path)]).exit_code == 2


def test_auth_refusals_and_a_revoked_token(server, served):
    img = png_bytes(bright(1))
    with pytest.raises(ServiceError) as none:
        Client(server.url, token="").scan(data=img, name="a.png")
    assert none.value.status == 401 and "token" in none.value.detail
    with pytest.raises(ServiceError) as wrong:
        Client(server.url, token="assay_000000000000_not-a-real-secret").scan(data=img, name="a.png")
    assert wrong.value.status == 401
    gone = Client(server.url, token=served["tokens"]["gone"])
    assert gone.scan(data=img, name="a.png")["status"] == "ok"
    served["store"].revoke("gone")  # while the service runs: refused from the next request on
    with pytest.raises(ServiceError) as revoked:
        gone.scan(data=img, name="a.png")
    assert revoked.value.status == 401
    with pytest.raises(ServiceError) as listing:
        Client(server.url, token="").detectors()
    assert listing.value.status == 401
    health = Client(server.url).health()  # no token needed for liveness
    assert health["status"] == "ok" and health["detector"]["id"] == served["detector"] and health["public"] is False
    assert health["worker"] != server.proc.pid  # a worker process under uvicorn's supervisor


def test_a_tokens_rate_limit_holds_across_workers(server, served):
    slow = Client(server.url, token=served["tokens"]["slow"])
    img = png_bytes(dark(2))
    answers = []
    for _ in range(4):
        try:
            answers.append(slow.scan(data=img, name="d.png")["status"])
        except ServiceError as exc:
            answers.append(exc.status)
            assert exc.retry_after and exc.retry_after >= 1
    assert answers == ["ok", "ok", 429, 429]  # a bucket of 2, shared by both worker processes


def test_hostile_uploads_get_a_reason_and_the_service_goes_on(server, served, tmp_path: Path):
    client = Client(server.url, token=served["tokens"]["plain"])
    good = png_bytes(smooth_image(64, 3))
    jpeg = io.BytesIO()
    Image.fromarray(smooth_image(256, 4)).save(jpeg, "JPEG", quality=90)
    cases = {
        "bomb.png": (bomb_png(), 413, "pixels"),
        "truncated.jpg": (jpeg.getvalue()[: len(jpeg.getvalue()) // 3], 422, ""),
        "photo.jpg": (b"#!/bin/sh\necho this is not a picture\n" * 10, 415, "whatever its name says"),
        "empty.png": (b"", 415, ""),
        "big.png": (png_bytes(np.zeros((1100, 1100, 3), np.uint8)), 413, "pixels"),
    }
    for name, (data, status, words) in cases.items():
        with pytest.raises(ServiceError) as refused:
            client.scan(data=data, name=name)
        assert refused.value.status == status, (name, refused.value)
        assert words in refused.value.detail and "\n" not in refused.value.detail
    # over the body limit by its Content-Length: refused before a byte of the body is read
    sock = raw_request_head(server.url, "/v1/scan", 2 << 20, served["tokens"]["plain"], "b")
    status, body = read_reply(sock)
    assert status == 413 and "limit" in body["detail"]
    # a path in the file name is a label only
    result = client.scan(data=good, name="../../../etc/passwd.png")
    assert result["status"] == "ok" and result["path"] == "passwd.png"
    assert result["upload"]["bytes"] == len(good)
    assert client.health()["status"] == "ok"
    assert server.leftovers() == []  # every upload's folder removed


def test_parallel_clients_get_their_own_results(server, served, tmp_path: Path):
    """16 clients, 48 distinct files: every answer is the file's own result, as the library's scan gives it."""
    images = [dark(i) if i % 2 else bright(i) for i in range(48)]
    folder = tmp_path / "files"
    folder.mkdir()
    for i, img in enumerate(images):
        save(img, folder / f"f{i:02d}.png")
    expected = {Path(r["path"]).name: r for r in scan_paths(served["ws"], [folder], served["detector"],
                                                             record=False, workers=1)}
    client = Client(server.url, token=served["tokens"]["plain"])

    def ask(i: int) -> tuple[int, dict]:
        return i, client.scan(folder / f"f{i:02d}.png")

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(ask, range(48)))
    assert len(answers) == 48
    for i, result in answers:
        name = f"f{i:02d}.png"
        want = expected[name]
        assert result["path"] == name
        assert result["upload"]["sha256"] == __import__("hashlib").sha256((folder / name).read_bytes()).hexdigest()
        assert result["verdict"] == want["verdict"]
        assert result["probability"] == pytest.approx(want["probability"], abs=1e-9)
    assert len({r["probability"] for _, r in answers}) > 2  # distinct files, distinct scores: nothing mixed


def test_scans_recorded_in_the_catalog_per_token(server, served):
    ws = served["ws"]
    before = len(ws.catalog.list("scans"))
    img = png_bytes(bright(7))
    plain = Client(server.url, token=served["tokens"]["plain"]).scan(data=img, name="p.png")
    assert plain["scan_id"] is None and len(ws.catalog.list("scans")) == before
    recorded = Client(server.url, token=served["tokens"]["alpha"]).scan(data=img, name="r.png")
    rec = ws.catalog.get(recorded["scan_id"])
    assert rec.kind == "scans" and rec.parents == [served["detector"]]
    assert rec.params["files"] == 1 and rec.params["paths"] == [f"upload:r.png sha256:{recorded['upload']['sha256']}"]


def test_verify_detectors_metrics_openapi_and_the_access_log(server, served):
    client = Client(server.url, token=served["tokens"]["plain"])
    img = png_bytes(smooth_image(64, 9))
    report = client.verify(data=img, name="v.png")
    assert report["schema"] == "assay.provenance.verify.report/1" and report["file"] == "v.png"
    assert report["labelled"] is False and report["c2pa"]["present"] is False
    listed = client.detectors()
    assert listed["in_use"]["id"] == served["detector"]
    assert [d["id"] for d in listed["detectors"] if d["in_use"]] == [served["detector"]]
    text = client.metrics()
    assert "# TYPE assay_serve_requests_total counter" in text
    counted = [line for line in text.splitlines() if line.startswith('assay_serve_requests_total{route="/v1/verify"')]
    assert counted and float(counted[0].split()[-1]) >= 1
    assert 'assay_serve_request_seconds_bucket{route="/v1/scan",le="+Inf"}' in text
    schema = json.loads(__import__("urllib.request").request.urlopen(f"{server.url}/openapi.json").read())
    assert {"/v1/scan", "/v1/verify", "/v1/detectors", "/healthz", "/metrics"} <= set(schema["paths"])
    lines = [json.loads(line) for line in (served["root"] / "access.jsonl").read_text().splitlines()]
    assert any(r["path"] == "/v1/verify" and r["status"] == 200 and r["caller"] == "plain" for r in lines)
    log = (served["root"] / "access.jsonl").read_bytes()
    assert img[8:40] not in log and all(t.encode() not in log for t in served["tokens"].values())


def test_public_use_a_per_address_limit_and_the_bounded_queue(served):
    root = served["root"] / "public"
    root.mkdir()
    args = ["--tokens", str(served["root"] / "tokens.json"), "--public", "--public-rate", "3", "--queue", "1"]
    with running(served["ws"], args, root) as srv:
        anonymous = Client(srv.url, token="")
        img = png_bytes(bright(3))
        assert anonymous.scan(data=img, name="a.png")["status"] == "ok"
        # one request holds the only place in the queue while its body is still coming
        body, content_type = multipart("file", "held.png", img)
        boundary = content_type.split("boundary=")[1]
        held = raw_request_head(srv.url, "/v1/scan", len(body), served["tokens"]["alpha"], boundary)
        held.sendall(body[: len(body) // 2])
        wait_for_in_flight(Client(srv.url), 1)
        with pytest.raises(ServiceError) as busy:
            Client(srv.url, token=served["tokens"]["plain"]).scan(data=img, name="b.png")
        assert busy.value.status == 429 and "busy" in busy.value.detail
        held.sendall(body[len(body) // 2:])
        status, result = read_reply(held)
        assert status == 200 and result["path"] == "held.png"
        statuses = []
        for _ in range(3):
            try:
                statuses.append(anonymous.scan(data=img, name="a.png")["status"])
            except ServiceError as exc:
                statuses.append(exc.status)
        assert statuses == ["ok", "ok", 429]  # 3 a minute for this address; the first was spent above


def in_flight(client: Client) -> float:
    lines = [ln for ln in client.metrics().splitlines() if ln.startswith("assay_serve_in_flight{")]
    return sum(float(ln.split()[-1]) for ln in lines)


def wait_for_in_flight(client: Client, n: int, tries: int = 600) -> None:
    """Poll /metrics until ``n`` requests are in flight (the server's own count, not a guess about timing)."""
    for _ in range(tries):
        if in_flight(client) >= n:
            return
        threading.Event().wait(0.05)
    raise AssertionError("the held request never showed as in flight")


@pytest.mark.parametrize("workers", [1, 0], ids=["supervised", "in-process"])
def test_shutdown_under_load_finishes_what_it_accepted(served, workers):
    root = served["root"] / f"shutdown-{workers}"
    root.mkdir()
    img = png_bytes(bright(5))
    token = served["tokens"]["plain"]
    srv_ctx = running(served["ws"], ["--tokens", str(served["root"] / "tokens.json"), "--queue", "64"], root,
                      workers=workers)
    srv = srv_ctx.__enter__()
    try:
        body, content_type = multipart("file", "in-flight.png", img)
        held = raw_request_head(srv.url, "/v1/scan", len(body), token, content_type.split("boundary=")[1])
        held.sendall(body[:100])
        client = Client(srv.url, token=token, timeout=60)
        wait_for_in_flight(client, 1)
        outcomes: list[object] = []
        stop = threading.Event()

        def load(k: int) -> None:
            while not stop.is_set():
                try:
                    r = client.scan(data=img, name=f"load{k}.png")
                    outcomes.append(("ok", r["path"] == f"load{k}.png" and r["status"] == "ok"))
                except ServiceError as exc:
                    outcomes.append(("refused", exc.status))
                except OSError:  # the listener closed: a refusal the client sees, never a lost answer
                    outcomes.append(("closed", True))
                    return

        threads = [threading.Thread(target=load, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        while sum(1 for o in outcomes if o[0] == "ok") < 4:
            threading.Event().wait(0.05)
        srv.proc.send_signal(signal.SIGTERM)
        held.sendall(body[100:])  # the request in flight at SIGTERM still gets its whole answer
        status, result = read_reply(held)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert status == 200 and result["path"] == "in-flight.png" and result["status"] == "ok"
        assert srv.proc.wait(timeout=90) == 0
        assert all(o == ("ok", True) or o == ("closed", True) for o in outcomes), outcomes
        assert "Finished server process" in srv.log.read_text()
    finally:
        srv_ctx.__exit__(None, None, None)


def test_loopback_by_default_and_settings_out_of_range_refused():
    assert ServeConfig().host == "127.0.0.1" and is_loopback(ServeConfig().host)
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.5.0.1", "::1", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.20", "example.org"))
    for bad, words in [({"workers": -1}, "--workers"), ({"batch": 0}, "--batch"), ({"queue": 0}, "--queue"),
                       ({"port": 70000}, "--port")]:
        with pytest.raises(InputError, match=words):
            ServeConfig(**bad).check()
    assert ServeConfig(workers=0).check().workers == 0  # 0: the service in the `assay serve` process


def test_sb942_detection_tool_check_names_the_service_and_passes_on_its_verify_report(server, served, tmp_path):
    (sb942,) = get_profiles(["us-ca-sb942"])
    (tool,) = [r for r in sb942.requirements if r.id == "22757.2-detection-tool"]
    assert "assay serve" in tool.summary and "/v1/verify" in tool.summary
    ws = served["ws"]
    save(smooth_image(96, 11), tmp_path / "source.png")
    stamp_file(tmp_path / "source.png", tmp_path / "stamped.png", ensure_keys(ws), ws=ws)
    client = Client(server.url, token=served["tokens"]["plain"])
    rows = {(r["file"], r["requirement"]): r for r in comply([client.verify(tmp_path / "stamped.png"),
                                                               client.verify(data=png_bytes(smooth_image(96, 12)),
                                                                             name="plain.png")], [sb942])["rows"]}
    stamped, plain = rows[("stamped.png", tool.id)], rows[("plain.png", tool.id)]
    assert stamped["status"] == "pass" and "assay serve" in stamped["reason"]
    assert plain["status"] == "fail" and "no provenance data" in plain["reason"]
