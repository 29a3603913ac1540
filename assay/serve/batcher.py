"""Micro-batching: the uploads of concurrent scan requests scored together, in one detector call.

A request's upload joins a waiting list; a drain scans up to ``size`` waiting uploads in one
call (faces found together, every region scored in one forward pass) in a thread, hands each
request its own result, and goes on while uploads wait. Nothing waits for a batch to fill: a
lone request is scanned at once, and the uploads that arrive while a batch runs form the next.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable, Sequence

import anyio

ScanMany = Callable[[Sequence[Path]], list[dict[str, Any]]]


class Batcher:
    """Scans uploads through ``scan_many`` in batches of up to ``size``, at most ``limiter``'s tokens batches at once."""

    def __init__(self, scan_many: ScanMany, size: int, limiter: anyio.CapacityLimiter,
                 on_batch: Callable[[int], None] = lambda n: None) -> None:
        self.scan_many, self.size, self.limiter, self.on_batch = scan_many, size, limiter, on_batch
        self.waiting: list[tuple[Path, asyncio.Future[dict[str, Any]]]] = []
        self.running = 0  #: drains at work (counted in step with the list, so no upload is left without one)
        self.tasks: set[asyncio.Task[None]] = set()  #: references to the drains' tasks while they run

    async def scan(self, path: Path) -> dict[str, Any]:
        """The scan result of the upload at ``path``, scanned with whatever else waits."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        self.waiting.append((path, future))
        if self.running < self.limiter.total_tokens:
            self.running += 1
            task = loop.create_task(self._drain())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return await future

    async def _drain(self) -> None:
        try:
            await self._batches()
        finally:
            self.running -= 1

    async def _batches(self) -> None:
        while self.waiting:
            self.waiting = [(path, future) for path, future in self.waiting if not future.done()]  # cancelled: gone
            live, self.waiting = self.waiting[: self.size], self.waiting[self.size:]
            if not live:
                return
            self.on_batch(len(live))
            try:
                results = await anyio.to_thread.run_sync(self.scan_many, [p for p, _ in live], limiter=self.limiter)
            except Exception as exc:  # the batch's failure is each of its requests' failure
                for _, future in live:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(live, results, strict=True):
                if not future.done():
                    future.set_result(result)
