"""The forge part of ``make demo``: a short DCGAN run at 32 px and a labelled sample set from it, and a
tiny StyleGAN 2 trained for a few steps with a style-mixing grid from it."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from assay.core.clitools import say
from assay.core.workspace import Workspace
from assay.forge import DEFAULT_LABELS, make_config, mix, sample, train

DEMO_STEPS = 300
STYLEGAN_STEPS = 20
#: wall-clock caps of the two training runs, so that the demo stays within minutes on a busy machine
DEMO_TIME = "75s"
STYLEGAN_TIME = "30s"


def run(ws: Workspace, dataset: str, *, steps: int | None = None, labels: Sequence[str] = DEFAULT_LABELS) -> str:
    """Train a DCGAN briefly at 32 px on ``dataset`` (``steps``, at most :data:`DEMO_TIME` of wall clock), sample
    64 images from it, stamped at birth with ``labels``, and return the sample set id."""
    # one thread: these small convolutions gain nothing from more, and on a busy 2-core machine
    # a second thread made each step an order of magnitude slower (measured)
    cfg = make_config("dcgan", 32, steps=steps or DEMO_STEPS, batch=64, g_ch=32, d_ch=32, sample_every=100,
                      checkpoint_every=100, ema=0.99, threads=1, time_budget=DEMO_TIME)
    say("forge", f"assay forge train --model dcgan --data {dataset} --size 32 --steps {cfg.steps} --time {DEMO_TIME} "
                 "(demo settings)")
    run_id = train(ws, dataset, cfg)
    _stopped_early(ws, run_id, cfg.steps)
    say("forge", f"run {run_id}; assay forge sample {run_id} --n 64")
    return sample(ws, run_id, 64, seed=0, labels=labels)


def stylegan(ws: Workspace, dataset: str, *, steps: int | None = None) -> Path:
    """Train a tiny StyleGAN 2 (width 1/32, 32 px) for a few steps and write a 3 x 4 style-mixing grid into the
    workspace; returns its path. A few steps make blobs, not faces: it shows the commands, not the quality."""
    cfg = make_config("stylegan2", 32, steps=steps or STYLEGAN_STEPS, batch=16, width=1 / 32, z_dim=64,
                      mapping_layers=4, sample_every=10, checkpoint_every=10, threads=1, time_budget=STYLEGAN_TIME)
    say("forge", f"assay forge train --model stylegan2 --data {dataset} --size 32 --steps {cfg.steps} "
                 f"--time {STYLEGAN_TIME} --set width=0.03125 (demo settings)")
    run_id = train(ws, dataset, cfg)
    _stopped_early(ws, run_id, cfg.steps)
    out = ws.root / "stylegan-mix.png"
    say("forge", f"assay forge mix {run_id} --rows 1,2,3 --cols 4,5,6,7 --out {out}")
    return mix(ws, run_id, [1, 2, 3], [4, 5, 6, 7], out)


def _stopped_early(ws: Workspace, run_id: str, steps: int) -> None:
    """Say so when the wall-clock cap, not the step count, ended the run (a busy machine)."""
    params = ws.resolve(run_id).params
    if params.get("stopped") == "time_budget":
        say("forge", f"run {run_id} stopped at step {params['final_step']} of {steps}: the demo's time cap "
                     f"({params['time_budget']}) came first on this machine")
