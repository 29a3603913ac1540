"""Where batch work runs: ``local`` (this machine's processes) or ``ray`` (a Ray cluster).

A batch job is a :class:`Task` (set up once per worker, then called once per item) and a
sequence of items; every engine yields the results in the items' order, as they come, so
callers journal and resume alike whatever the engine. Engines are looked up by name in
:data:`ENGINES`; an engine's module (and Ray) is imported only when it is chosen.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Protocol, Sequence

from assay.core import memory
from assay.core.errors import InputError
from assay.core.registry import load_entry
from assay.core.workers import die_with_parent

_log = logging.getLogger(__name__)

#: engine name -> "module:function(task, items, engine)" yielding results in order
ENGINES: dict[str, str] = {
    "local": "assay.core.engines:run_local",
    "ray": "assay.core.ray_engine:run_ray",
}
#: engine name -> "module:function(engine, wants_gpu)": how many workers it runs when ``workers`` is 0
SIZES: dict[str, str] = {
    "local": "assay.core.engines:local_size",
    "ray": "assay.core.ray_engine:ray_size",
}


class Task(Protocol):
    """One kind of batch work; pickled to each worker, which calls :meth:`setup` once.

    Items and results are plain JSON values (dicts of str, numbers, lists), so that any
    engine can move them between machines.
    """

    #: ask each worker for a GPU when the engine has GPUs
    wants_gpu: bool

    def setup(self) -> None:
        """Load what every item needs (a model), once per worker."""

    def __call__(self, item: dict[str, Any]) -> dict[str, Any]:
        """The result of one item."""


def check_engine(name: str) -> None:
    """Refuse an engine name that is not in :data:`ENGINES`, with a one-line reason."""
    if name not in ENGINES:
        raise InputError(f"--engine must be one of {', '.join(ENGINES)}, got {name!r}")


@dataclass(frozen=True)
class Engine:
    """An engine by name: ``workers`` processes or actors (0: the engine's default), ``address`` of a cluster."""

    name: str = "local"
    workers: int = 0
    address: str | None = None

    def __post_init__(self) -> None:
        check_engine(self.name)

    def map(self, task: Task, items: Sequence[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """``task(item)`` for each item, in order, as the results come."""
        return load_entry(ENGINES, self.name, "engine")(task, items, self)

    def size(self, wants_gpu: bool = False) -> int:
        """How many workers :meth:`map` runs (``workers``, or the engine's default for 0): callers
        that split work into batches per worker split it alike on every engine."""
        return self.workers or load_entry(SIZES, self.name, "engine")(self, wants_gpu)


# -- local: this process, or a pool of processes on this machine ----------------------
_TASK: Task | None = None


def init_worker(task: Task) -> None:
    """A pool process: torch on one thread (several one-thread processes use the cores better
    than one process whose threads wait on each other; dlib's face finding is single-threaded too)."""
    global _TASK
    import torch

    torch.set_num_threads(1)
    task.setup()
    _TASK = task


def _init_pool_worker(task: Task, parent_pid: int, share: int | None) -> None:
    """A local pool's process: it ends with the process that made the pool, keeps to its ``share`` of the
    memory budget (bytes, None for no limit), then sets the task up."""
    die_with_parent(parent_pid)
    if share is not None:
        memory.set_share(share)
    init_worker(task)


def _call(item: dict[str, Any]) -> dict[str, Any]:
    assert _TASK is not None
    return _TASK(item)


def _cuda() -> bool:
    """Is CUDA present for work that uses torch? Work that has not imported torch (a classical detector) uses no
    GPU, and is spared torch's import (gigabytes of address space: it fails under a 1 GiB ``ulimit -v``)."""
    torch = sys.modules.get("torch")
    return torch is not None and torch.cuda.is_available()


def local_workers(workers: int, wants_gpu: bool = False) -> int:
    """``workers``, or for 0: every core on the CPU, and one process (feeding the GPU) where CUDA is present."""
    if workers > 0:
        return workers
    return 1 if wants_gpu and _cuda() else (os.cpu_count() or 1)


def local_size(engine: Engine, wants_gpu: bool = False) -> int:
    """The local engine's default: every core, one process where a GPU is wanted and present."""
    return local_workers(engine.workers, wants_gpu)


def run_local(task: Task, items: Sequence[dict[str, Any]], engine: Engine) -> Iterable[dict[str, Any]]:
    """In this process for one worker (or one item), else in a pool: forked where that is possible
    and CUDA is not in use (fork is quick and shares what is loaded), spawned otherwise; the pool's
    processes end with this one (:func:`assay.core.workers.die_with_parent`). The pool has no more processes
    than the memory budget holds (:func:`assay.core.memory.pool_size`), each given an equal share of it."""
    wanted = min(local_workers(engine.workers, task.wants_gpu), max(1, len(items)))
    workers, limit = memory.pool_size(wanted)
    if workers < wanted and limit is not None:
        _log.warning("memory: %d of %d worker processes fit in the %s left under %s", workers, wanted,
                     memory.size(limit.headroom), limit.source)
    if workers <= 1:
        task.setup()
        yield from map(task, items)
        return
    fork = "fork" in multiprocessing.get_all_start_methods() and not _cuda()
    ctx = multiprocessing.get_context("fork" if fork else "spawn")
    share = limit.headroom // workers if limit is not None else None
    with ctx.Pool(workers, initializer=_init_pool_worker, initargs=(task, os.getpid(), share)) as pool:
        yield from pool.imap(_call, items, chunksize=1)
