"""The service's routes: ``POST /v1/scan``, ``POST /v1/verify``, ``GET /v1/detectors``, ``/healthz``, ``/metrics``, ``/``.

One :class:`Worker` per process loads the detector once (at start-up); its :class:`Batcher`
scans the uploads of concurrent requests together in a thread, so the event loop keeps
answering while files are scanned.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Sequence

import anyio
import numpy as np
from fastapi import FastAPI, File, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse

from assay import __version__
from assay.core.imageio import save
from assay.core.workspace import Workspace
from assay.detect import Scan, ScanOptions, load_detector
from assay.provenance import verify_file, workspace_trust_anchors
from assay.serve.batcher import Batcher
from assay.serve.gate import Gate, Policy
from assay.serve.settings import ServeConfig
from assay.serve.state import SharedState, labels
from assay.serve.tokens import Caller, TokenStore
from assay.serve.uploads import Refused, Upload, received

PAGE = Path(__file__).with_name("page.html")
log = logging.getLogger("assay.serve")


def torch_threads(workers: int) -> int:
    """torch CPU threads for one of ``workers`` processes (0: this process alone): the usable cores shared out, at
    least one (more threads than a process's share of the cores wait on each other's)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // max(1, workers))


class Worker:
    """What one worker process holds: the workspace, the loaded detector, its scan and the batcher in front of it."""

    def __init__(self, cfg: ServeConfig, state: SharedState) -> None:
        self.cfg, self.state = cfg, state
        self.ws = Workspace(cfg.workspace, catalog_url=cfg.catalog_url)
        self.detector, self.record = load_detector(self.ws, cfg.detector)
        torch = sys.modules.get("torch")  # imported by a detector that runs on torch (and only then: it is large)
        if torch is not None:
            torch.set_num_threads(torch_threads(cfg.workers))
        self.detector_info = {"id": self.record.id, "name": self.record.name,
                              "type": getattr(self.detector, "name", type(self.detector).__name__)}
        self.options = ScanOptions(workers=1, batch=cfg.batch)
        self.scanning = Scan(self.ws, (self.detector, self.record), self.options, record=False)
        self.trust = workspace_trust_anchors(self.ws)
        self.limiter = anyio.CapacityLimiter(cfg.threads)
        self.batcher = Batcher(self.scan_many, cfg.batch, self.limiter, state.batched)
        self._warm_up()

    def _warm_up(self) -> None:
        """Scan one grey picture, so that the face finder and the detector's lazy parts load before the first request."""
        with tempfile.TemporaryDirectory(prefix="assay-serve-warm-") as folder:
            path = Path(folder) / "warm.png"
            save(np.full((64, 64, 3), 128, np.uint8), path)
            self.scan_many([path])

    def scan_many(self, paths: Sequence[Path]) -> list[dict[str, Any]]:
        """The scan results of several uploads, scored in one batch."""
        return self.scanning.scan_now([(p, None) for p in paths])

    async def scan(self, upload: Upload, caller: Caller, with_verify: bool) -> dict[str, Any]:
        """The scan result of one upload, batched with others' (recorded in the catalog when the caller's token says so)."""
        result = dict(await self.batcher.scan(upload.path))
        result.update(path=upload.name, upload=upload.describe(), scan_id=None)
        if caller.record:
            result["scan_id"] = await anyio.to_thread.run_sync(self._record, result, upload, caller)
        verdict = result["verdict"] if result["status"] == "ok" else "error"
        self.state.count(("assay_serve_results_total", labels(verdict=str(verdict)), 1.0))
        if with_verify:
            result["verify"] = await anyio.to_thread.run_sync(self.verify, upload, limiter=self.limiter)
        return result

    def _record(self, result: dict[str, Any], upload: Upload, caller: Caller) -> str | None:
        """Record one request's result in the catalog as a scan of its own, like a CLI scan of one file."""
        scan = Scan(self.ws, (self.detector, self.record), self.options, record=True,
                    name=f"serve-{caller.name}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}")
        record = scan.record_results([result], [f"upload:{upload.name} sha256:{upload.sha256}"])
        return record.id if record else None

    def verify(self, upload: Upload) -> dict[str, Any]:
        """The provenance verify report of one upload."""
        report = verify_file(upload.path, self.ws, self.trust)
        report.update(file=upload.name, upload=upload.describe())
        return report

    async def run(self, file: UploadFile, work: str, caller: Caller, with_verify: bool = False) -> JSONResponse:
        """Save and check the upload, then scan or verify it in a thread; refusals as 413 / 415 / 422."""
        cfg = self.cfg
        try:
            with received(file.file, file.filename, cfg.max_bytes, cfg.max_pixels, cfg.max_video_s) as upload:
                if work == "verify":
                    body = await anyio.to_thread.run_sync(self.verify, upload, limiter=self.limiter)
                    return JSONResponse(body, status_code=422 if body["error"] else 200)
                body = await self.scan(upload, caller, with_verify)
                if body["status"] != "ok":
                    return JSONResponse({**body, "detail": body["error"]}, status_code=422)
                return JSONResponse(body)
        except Refused as exc:
            return JSONResponse({"detail": str(exc)}, status_code=exc.status)
        finally:
            await file.close()


def create_app(cfg: ServeConfig) -> FastAPI:
    """The service as an ASGI app for ``cfg`` (its ``state_dir`` must exist); the detector loads at start-up."""
    state = SharedState(cfg.state_dir)
    holder: dict[str, Worker] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        holder["worker"] = await anyio.to_thread.run_sync(Worker, cfg, state)
        info = holder["worker"].detector_info
        torch = sys.modules.get("torch")
        log.info("worker %d ready: detector %s (%s)%s", os.getpid(), info["id"], info["type"],
                 f", {torch.get_num_threads()} torch thread(s)" if torch else "")
        yield
        state.drop_gauges(labels(worker=str(os.getpid())))
        state.close()

    app = FastAPI(title="assay serve", version=__version__, lifespan=lifespan,
                  description="GAN-face detection and provenance verification of uploaded images and short videos. "
                              "Every /v1 route needs `Authorization: Bearer <token>` unless the service runs with "
                              "--public.")

    def worker() -> Worker:
        return holder["worker"]

    @app.post("/v1/scan", summary="Scan an image or short video: detector score, verdict, domain, provenance signals")
    async def scan(request: Request, file: UploadFile = File(..., description="The image or video"),
                   verify: bool = Query(False, description="Add the full provenance verify report as `verify`")
                   ) -> JSONResponse:
        return await worker().run(file, "scan", request.state.caller, verify)

    @app.post("/v1/verify", summary="Verify the provenance of an image or video: C2PA, AI labels, watermark")
    async def verify_upload(request: Request, file: UploadFile = File(..., description="The image or video")
                            ) -> JSONResponse:
        return await worker().run(file, "verify", request.state.caller)

    @app.get("/v1/detectors", summary="The workspace's detectors, and which one this service uses")
    def detectors() -> dict[str, Any]:
        w = worker()
        rows = [{"id": r.id, "name": r.name, "status": r.status, "created_at": r.created_at,
                 "type": (r.params or {}).get("model"), "in_use": r.id == w.record.id}
                for r in w.ws.catalog.list("detectors")]
        return {"in_use": w.detector_info, "detectors": rows}

    @app.get("/healthz", summary="Liveness: the worker is up and its detector loaded")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "worker": os.getpid(), "detector": worker().detector_info,
                "public": cfg.public}

    @app.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics of all workers")
    def metrics() -> PlainTextResponse:
        return PlainTextResponse(state.render(), media_type="text/plain; version=0.0.4")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        html = PAGE.read_text(encoding="utf-8").replace("__PUBLIC__", "true" if cfg.public else "false")
        return HTMLResponse(html.replace("__MAX_BYTES__", str(cfg.max_bytes)))

    tokens = TokenStore(cfg.tokens)
    policy = Policy(cfg.public, cfg.token_rate, cfg.public_rate, cfg.max_bytes, cfg.queue)
    app.add_middleware(Gate, policy=policy, tokens=tokens, state=state, worker=str(os.getpid()))
    return app


def from_env() -> FastAPI:
    """The app of the settings in the environment: what each uvicorn worker process builds."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    cfg = ServeConfig.from_env()
    if cfg.access_log:
        handler = logging.FileHandler(cfg.access_log, encoding="utf-8")
        logging.getLogger("assay.serve.access").addHandler(handler)
        logging.getLogger("assay.serve.access").propagate = False
    return create_app(cfg)
