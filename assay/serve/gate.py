"""The service's front door, before any route: auth, rate limits, body size, the bounded queue, metrics, access log.

A pure ASGI middleware, so a refused request is answered before a byte of its body is read; a body
without a Content-Length (chunked) is cut off as soon as it passes the limit, answered 413 with
``Connection: close`` so that the rest is never read.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from assay.serve.state import SharedState, labels
from assay.serve.tokens import Caller, TokenStore

Scope = dict[str, Any]
Message = dict[str, Any]
ASGI = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]
#: routes that scan or verify an upload: they take a place in the queue
WORK_ROUTES = frozenset({"/v1/scan", "/v1/verify"})
#: the routes the metrics name (anything else is counted as "other", so a scanner of URLs cannot grow the metrics)
ROUTES = frozenset({"/", "/healthz", "/metrics", "/openapi.json", "/docs", "/v1/detectors", *WORK_ROUTES})

access = logging.getLogger("assay.serve.access")


@dataclass
class Policy:
    """What the gate enforces (from :class:`assay.serve.ServeConfig`)."""

    public: bool
    token_rate: float
    public_rate: float
    max_bytes: int
    queue: int


class Gate:
    """Wraps the app: refuses with 401 / 413 / 429 before the route runs, counts and logs every request."""

    def __init__(self, app: ASGI, policy: Policy, tokens: TokenStore, state: SharedState, worker: str) -> None:
        self.app, self.policy, self.tokens, self.state = app, policy, tokens, state
        self.worker = labels(worker=worker)
        self.in_flight = 0
        state.gauge("assay_serve_in_flight", self.worker, 0)

    def _caller(self, scope: Scope) -> tuple[Caller | None, tuple[int, str, dict[str, str]] | None]:
        """Who is asking, or the refusal (status, reason, headers)."""
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode("latin-1")
        if auth:
            scheme, _, token = auth.partition(" ")
            caller = self.tokens.check(token.strip()) if scheme.lower() == "bearer" else None
            if caller is None:
                return None, (401, "unknown or revoked token (Authorization: Bearer assay_...)",
                              {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            return caller, None
        if not self.policy.public:
            return None, (401, "a bearer token is required (an operator makes one with `assay serve token add "
                               "NAME`); anonymous use is off unless the service runs with --public",
                          {"WWW-Authenticate": "Bearer"})
        address = (scope.get("client") or ("unknown", 0))[0]
        return Caller("anonymous", f"address:{address}", self.policy.public_rate, False), None

    def _admit(self, scope: Scope) -> tuple[Caller | None, tuple[int, str, dict[str, str]] | None]:
        caller, refusal = self._caller(scope)
        if refusal or caller is None:
            return caller, refusal
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.policy.max_bytes):
            return caller, (413, f"request body over the limit of {self.policy.max_bytes} bytes", {})
        wait = self.state.take(caller.key, caller.rate_per_min or self.policy.token_rate)
        if wait is not None:
            return caller, (429, f"rate limit of {caller.rate_per_min or self.policy.token_rate:g} requests a minute "
                                 f"for {caller.name}; retry in {wait:.1f} s", {"Retry-After": str(max(1, round(wait)))})
        if scope["path"] in WORK_ROUTES and self.in_flight >= self.policy.queue:
            return caller, (429, f"busy: {self.in_flight} requests queued on this worker; retry shortly",
                            {"Retry-After": "1"})
        return caller, None

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, path = time.perf_counter(), scope["path"]
        route = path if path in ROUTES else "other"
        seen: dict[str, Any] = {"status": 500, "bytes": 0, "started": False, "oversize": False}

        async def sending(message: Message) -> None:
            if seen["oversize"]:  # the app's answer to a body cut short: the gate answers 413 instead
                return
            if message["type"] == "http.response.start":
                seen["status"], seen["started"] = message["status"], True
            await send(message)

        async def receiving() -> Message:
            """The body as it comes; past the limit (a chunked body has no Content-Length to refuse it by) the
            app is told the client left, so that nothing more is read."""
            if seen["oversize"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen["bytes"] += len(message.get("body", b""))
                if seen["bytes"] > self.policy.max_bytes and not seen["started"]:
                    seen["oversize"] = True
                    return {"type": "http.disconnect"}
            return message

        caller, refusal = self._admit(scope) if path.startswith("/v1/") else (None, None)
        queued = refusal is None and path in WORK_ROUTES
        try:
            if refusal is not None:
                self.state.count(("assay_serve_refused_total", labels(reason=str(refusal[0])), 1.0))
                await _refuse(sending, *refusal)
                return
            if queued:
                self._queue(+1)
            scope.setdefault("state", {})["caller"] = caller
            try:
                await self.app(scope, receiving, sending)
            except Exception:
                if not seen["oversize"]:
                    raise
            if seen["oversize"]:
                seen["oversize"] = False  # from here the gate's own answer goes out
                self.state.count(("assay_serve_refused_total", labels(reason="413"), 1.0))
                await _refuse(sending, 413, f"request body over the limit of {self.policy.max_bytes} bytes", {})
        finally:
            if queued:
                self._queue(-1)
            seconds = time.perf_counter() - start
            self.state.answered(route, seen["status"], seconds, seen["bytes"])
            access.info(json.dumps({
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "client": (scope.get("client") or ("", 0))[0],
                "method": scope["method"], "path": path, "status": seen["status"], "bytes_in": seen["bytes"],
                "seconds": round(seconds, 4), "caller": caller.name if caller else None}))

    def _queue(self, step: int) -> None:
        self.in_flight += step
        self.state.gauge("assay_serve_in_flight", self.worker, self.in_flight)


async def _refuse(send: Callable[[Message], Awaitable[None]], status: int, reason: str, headers: dict[str, str]
                  ) -> None:
    body = json.dumps({"detail": reason}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
           (b"connection", b"close")] + [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
