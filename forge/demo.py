"""The forge part of ``make demo``: a short DCGAN run at 32 px and a labelled sample set from it."""

from __future__ import annotations

from typing import Sequence

from assay.core.clitools import say
from assay.core.workspace import Workspace
from forge.config import make_config
from forge.sample import DEFAULT_LABELS, sample
from forge.train import train

DEMO_STEPS = 300


def run(ws: Workspace, dataset: str, *, steps: int | None = None, labels: Sequence[str] = DEFAULT_LABELS) -> str:
    """Train a DCGAN briefly at 32 px on ``dataset`` (about two minutes on 2 CPU cores), sample 64 images
    from it, stamped at birth with ``labels``, and return the sample set id."""
    # one thread: these small convolutions gain nothing from more, and on a busy 2-core machine
    # a second thread made each step an order of magnitude slower (measured)
    cfg = make_config("dcgan", 32, steps=steps or DEMO_STEPS, batch=64, g_ch=32, d_ch=32, sample_every=100,
                      checkpoint_every=100, ema=0.99, threads=1)
    say("forge", f"assay forge train --model dcgan --data {dataset} --size 32 --steps {cfg.steps} (demo settings)")
    run_id = train(ws, dataset, cfg)
    say("forge", f"run {run_id}; assay forge sample {run_id} --n 64")
    return sample(ws, run_id, 64, seed=0, labels=labels)
