"""Does StyleGAN 2 beat DCGAN at an equal wall-clock budget on this machine? FD-dlib on real faces.

Each family trains on the same prepared UTKFace set (32 px) for the same number of wall-clock
seconds through ``forge.train.GANTrainer``; then N samples from its EMA/plain generator and N real
faces are embedded with dlib's face recognition network, and the Fréchet distance between
Gaussian fits of the two embedding sets is reported ("FD-dlib"; not FID: no Inception network).

    .venv/bin/python benchmarks/forge_equal_budget.py --budget 300 --families dcgan,stylegan2 --set width=0.0625
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from assay.core.imagesets import open_set  # noqa: E402
from assay.core.workspace import Workspace  # noqa: E402
from benchmarks.forge_throughput import _prepare  # noqa: E402
from forge.config import make_config  # noqa: E402
from forge.data import FaceBatches, to_uint8  # noqa: E402
from forge.train import GANTrainer  # noqa: E402
from forge.upscale import face_embedding  # noqa: E402


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussian fits of two sets of row vectors."""
    from scipy.linalg import sqrtm

    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = sqrtm(ca @ cb).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(ca + cb - 2 * root))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--budget", type=float, default=300, help="training seconds per family")
    p.add_argument("--families", default="dcgan,stylegan2")
    p.add_argument("--set", action="append", default=[], help="key=value for every family")
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--images", type=int, default=2000)
    p.add_argument("--n", type=int, default=300, help="samples and real faces embedded")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "forge_equal_budget.json"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(tmp)
        dataset, source = _prepare(ws, args.images, args.size)
        data = FaceBatches(open_set(ws, dataset), args.size)
        real = to_uint8(data.batch(torch.arange(min(args.n, len(data))))[0].float() / 127.5 - 1)
        real_emb = np.stack([face_embedding(x) for x in real])
        rows = []
        for fam in args.families.split(","):
            cfg = make_config(fam, args.size, args.set, batch=args.batch, steps=10**9)
            t = GANTrainer(cfg)
            start = time.perf_counter()
            while time.perf_counter() - start < args.budget:
                t.train_step(data)
            fakes = to_uint8(t.generate(t.inputs.fixed(args.n, 123, data)))
            fd = frechet(np.stack([face_embedding(x) for x in fakes]), real_emb)
            rows.append({"family": fam, "steps": t.step, "seconds": args.budget, "fd_dlib": fd})
            print(f"{fam:10s} {t.step:6d} steps in {args.budget:.0f} s  FD-dlib {fd:.4f}", flush=True)
    report = {"benchmark": "forge_equal_budget", "size": args.size, "batch": args.batch, "sets": args.set,
              "data": source, "n": args.n, "results": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
