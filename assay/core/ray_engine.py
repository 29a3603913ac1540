"""The ``ray`` engine: a batch job on a Ray cluster, through Ray Data.

Items are streamed through a pool of actors (each sets the task up once: the detector or
generator is loaded once per actor), with one GPU per actor when the cluster has GPUs and
one CPU per actor otherwise; results stream back in the items' order while later items are
still being worked on. Items and results travel as JSON text, so nothing about them changes
on the way. Files are read by the actors: on several machines, the paths must be readable
on every node (a shared file system). Imported only when ``--engine ray`` is chosen.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterator, Sequence

from assay.core.engines import Engine, Task, init_worker
from assay.core.errors import MissingExtraError

try:
    import ray
    import ray.data
except ImportError:
    raise MissingExtraError("the ray engine needs Ray: install 'assay[ray]'") from None

#: items handed to an actor at a time: small, so that the first results come back early
BATCH = 4


def connect(address: str | None) -> dict[str, float]:
    """Join the cluster at ``address`` (``auto``: the one this node belongs to; None: a new one on
    this machine, as ``ray.init()`` makes it) unless already joined; returns its resources."""
    if not ray.is_initialized():
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(address=address, log_to_driver=False, include_dashboard=False if address is None else None)
    return ray.cluster_resources()


class _Actor:
    """One worker: the task, set up once; JSON items in, JSON results out."""

    def __init__(self, task: Task) -> None:
        init_worker(task)
        self.task = task

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        return {"result": [json.dumps(self.task(json.loads(item))) for item in batch["item"]]}


def ray_size(engine: Engine, wants_gpu: bool = False) -> int:
    """The actors a job gets (``engine.workers``, else one per GPU where a GPU is wanted and the
    cluster has GPUs, else one per CPU); joins the cluster to count them."""
    resources = connect(engine.address)
    gpus = int(resources.get("GPU", 0)) if wants_gpu else 0
    return engine.workers or gpus or max(1, int(resources.get("CPU", 1)))


def run_ray(task: Task, items: Sequence[dict[str, Any]], engine: Engine) -> Iterator[dict[str, Any]]:
    """``task(item)`` for each item on the cluster, in order, streamed back as they come."""
    if not items:
        return
    resources = connect(engine.address)
    gpus = int(resources.get("GPU", 0)) if task.wants_gpu else 0
    actors = ray_size(engine, task.wants_gpu)
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    # one block per batch: a block's results come back when its batch is done, so results stream
    # instead of waiting for a block that holds a slow file; batch_size None: each block is one batch, never
    # bundled with the next (a bundle that reached the slow file would hold the results before it)
    dataset = ray.data.from_items([{"item": json.dumps(item)} for item in items],
                                  override_num_blocks=-(-len(items) // BATCH))
    results = dataset.map_batches(_Actor, fn_constructor_args=(task,), batch_size=None, batch_format="numpy",
                                  compute=ray.data.ActorPoolStrategy(size=min(actors, len(items))),
                                  num_gpus=1 if gpus else 0,
                                  num_cpus=0 if gpus else 1)
    for row in results.iter_rows():
        yield json.loads(row["result"])
