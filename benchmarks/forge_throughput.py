"""Training throughput per GAN family, and the shared loop's cost against a textbook DCGAN step.

For each family (64 px, batch 64 by default) a fresh process trains a few steps through
``forge.train.GANTrainer`` and reports real images through D per second, G steps per second and
peak memory (process max RSS on the CPU, ``torch.cuda.max_memory_allocated`` on CUDA). Then, in
one process, blocks of the training loop (``forge.train.Loop``: metrics, health checks,
snapshots) alternate with blocks of a minimal textbook DCGAN loop written below (same networks,
batch and in-memory data); the loop cost is the median over adjacent block pairs of the ratio of
their step rates, by wall clock and by the process's CPU time (steadier where other jobs share
the machine).

    .venv/bin/python benchmarks/forge_throughput.py            # ~5 minutes on 2 CPU cores
    .venv/bin/python benchmarks/forge_throughput.py --families dcgan,stylegan,stylegan2,srgan \
        --set width=0.125 --no-loop-cost --out benchmarks/results/forge_throughput_style.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from assay.core.devices import choose_threads  # noqa: E402
from assay.core.imagesets import ImageSetWriter, open_set  # noqa: E402
from assay.core.workspace import Workspace  # noqa: E402
from assay.forge import (  # noqa: E402  # noqa: E402
    FAMILIES,  # noqa: E402
    FaceBatches,
    GANTrainer,
    Loop,
    keys_of,  # noqa: E402
    make_config,  # noqa: E402
    to_float,
)

SHARED = Path(os.environ.get("ASSAY_SHARED_DATA", REPO.parent / "shared" / "data")) / "utkface"


def prepare_utkface(ws: Workspace, images: int, size: int, holdout: int = 0) -> tuple[str, str]:
    """A prepared set of UTKFace faces (labels parsed as ``assay data prepare`` does) or, without the
    data, smooth random images; with ``holdout`` = k, every k-th image is in the ``val`` split."""
    import cv2

    from assay.core.imageio import decode
    from assay.data import (
        LAYOUTS,
        UTKFACE_GENDERS,
        UTKFACE_RACES,
        LabelError,
        age_bucket,
    )

    writer = ImageSetWriter(ws, "datasets", "bench")
    files = sorted(SHARED.glob("*.jpg"))[:images] if SHARED.is_dir() else []
    source = f"UTKFace ({len(files)} images)" if files else "random smooth images (UTKFace not found)"
    rng = np.random.default_rng(0)
    for i in range(images):
        if files:
            if i >= len(files):
                break
            try:
                labels = LAYOUTS.get("utkface")(files[i], SHARED).labels
            except LabelError:
                continue
            img = cv2.resize(decode(files[i]), (size, size), interpolation=cv2.INTER_AREA)
        else:
            img = np.kron(rng.integers(0, 255, (8, 8, 3)), np.ones((size // 8, size // 8, 1))).astype(np.uint8)
            age = int(rng.integers(1, 90))
            labels = {"age": age, "gender": UTKFACE_GENDERS[i % 2], "race": UTKFACE_RACES[i % 5],
                      "age_bucket": age_bucket(age)}
        split = "val" if holdout and i % holdout == 0 else "train"
        writer.add(img, {"label": "real", "split": split, "labels": labels}, f"{i:06d}.png")
    return writer.commit({"size": size}).id, source


def one_family(args: argparse.Namespace) -> dict:
    """Throughput of one family (run in its own process so peak memory is its own)."""
    threads, why = choose_threads(args.threads)
    torch.set_num_threads(threads)
    ws = Workspace(args.ws)
    cfg = make_config(args.one, args.size, args.set, batch=args.batch, device=args.device)
    keys = keys_of(cfg.cond_keys)
    data = FaceBatches(open_set(ws, args.dataset), cfg.size, keys)
    t = GANTrainer(cfg, [k.n for k in keys])
    cuda = t.device.type == "cuda"
    for _ in range(args.warmup):
        t.train_step(data)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(args.steps):
        t.train_step(data)
    if cuda:
        torch.cuda.synchronize()
    secs = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"family": args.one, "images_per_s": args.steps * cfg.batch * cfg.n_critic / secs,
            "g_steps_per_s": args.steps / secs, "n_critic": cfg.n_critic, "peak_memory_mb": peak,
            "memory_kind": "cuda max allocated" if cuda else "process max RSS", "threads": threads, "threads_why": why,
            "params_g": sum(p.numel() for p in t.g_net.parameters()),
            "params_d": sum(p.numel() for p in t.d_net.parameters())}


def textbook_dcgan(g: torch.nn.Module, d: torch.nn.Module, images: torch.Tensor, batch: int, z_dim: int,
                   device: torch.device):
    """The PyTorch DCGAN example's step, minimal: BCE on logits, Adam(2e-4, 0.5), one fake batch per step."""
    bce = torch.nn.BCEWithLogitsLoss()
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ones, zeros = torch.ones(batch, device=device), torch.zeros(batch, device=device)

    def step() -> None:
        real = to_float(images[torch.randint(0, len(images), (batch,))].to(device))
        d.zero_grad()
        bce(d(real), ones).backward()
        fake = g(torch.randn(batch, z_dim, device=device))
        bce(d(fake.detach()), zeros).backward()
        opt_d.step()
        g.zero_grad()
        bce(d(fake), ones).backward()
        opt_g.step()
    return step


def loop_ratio(args: argparse.Namespace, ws: Workspace, dataset: str) -> dict:
    """Alternate blocks of our loop (per-step bookkeeping included: metrics every 10 steps, health checks,
    snapshots every 50) and the textbook loop; median step rates and the median paired ratio."""
    torch.set_num_threads(choose_threads(args.threads)[0])
    cfg = make_config("dcgan", args.size, batch=args.batch, device=args.device, steps=10**9)
    data = FaceBatches(open_set(ws, dataset), cfg.size)
    ours = GANTrainer(cfg)
    device = ours.device
    torch.manual_seed(cfg.seed)
    g, d = (net.to(device) for net in cfg.networks())              # the same networks, same initial weights
    textbook = textbook_dcgan(g, d, data.images, cfg.batch, cfg.z_dim, device)
    run_dir = Path(tempfile.mkdtemp(dir=ws.root))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    loop = Loop(ours, data, run_dir, progress=False)
    loop.run_until(1)
    textbook()
    rates: dict[str, list[float]] = {"ours": [], "textbook": [], "ours_cpu": [], "textbook_cpu": []}

    def timed(name: str, fn) -> None:
        sync()
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        sync()
        rates[name].append(args.block / (time.perf_counter() - wall))
        rates[name + "_cpu"].append(args.block / (time.process_time() - cpu))

    def book_block() -> None:
        for _ in range(args.block):
            textbook()

    for _ in range(args.repeats):
        timed("ours", lambda: loop.run_until(ours.step + args.block))
        timed("textbook", book_block)
    loop.bar.close()
    med = {k: statistics.median(v) for k, v in rates.items()}
    # adjacent blocks ran under the same machine load: the median of their ratios is the estimate
    paired = {kind: statistics.median(o / b for o, b in zip(rates["ours" + kind], rates["textbook" + kind]))
              for kind in ("", "_cpu")}
    return {"ours_steps_per_s": med["ours"], "textbook_steps_per_s": med["textbook"], "ratio": paired[""],
            "ours_steps_per_cpu_s": med["ours_cpu"], "textbook_steps_per_cpu_s": med["textbook_cpu"],
            "ratio_cpu_time": paired["_cpu"], "blocks": rates, "block_steps": args.block}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=2, help="timed steps per family")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--families", default=",".join(FAMILIES.names()))
    p.add_argument("--threads", default="1", help="torch threads: a number (1 is steadiest on a shared machine) "
                                                  "or auto (what forge train picks from the free cores)")
    p.add_argument("--device", default="auto")
    p.add_argument("--images", type=int, default=512, help="images in the benchmark's prepared set")
    p.add_argument("--repeats", type=int, default=5, help="alternating blocks for the loop-cost ratio")
    p.add_argument("--block", type=int, default=4, help="steps per block")
    p.add_argument("--set", action="append", default=[], help="key=value for every family (e.g. width=0.125)")
    p.add_argument("--no-loop-cost", action="store_true", help="skip the loop-versus-textbook comparison")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "forge_throughput.json"))
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--ws", help=argparse.SUPPRESS)
    p.add_argument("--dataset", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(one_family(args)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(tmp)
        dataset, source = prepare_utkface(ws, args.images, args.size)
        results = []
        for fam in args.families.split(","):
            cmd = [sys.executable, __file__, "--one", fam, "--ws", tmp, "--dataset", dataset,
                   *sum(([f"--{k}", str(getattr(args, k))] for k in ("size", "batch", "steps", "warmup", "threads",
                                                                     "device")), []),
                   *sum((["--set", a] for a in args.set), [])]
            res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
            results.append(res)
            print(f"{fam:8s} {res['images_per_s']:8.1f} img/s  {res['g_steps_per_s']:6.3f} G steps/s  "
                  f"peak {res['peak_memory_mb']:7.0f} MB ({res['memory_kind']})  threads {res['threads']} "
                  f"({res['threads_why']})", flush=True)
        ratio = None if args.no_loop_cost else loop_ratio(args, ws, dataset)
    if ratio:
        print(f"loop cost: ours {ratio['ours_steps_per_s']:.3f} steps/s vs textbook {ratio['textbook_steps_per_s']:.3f}"
              f" steps/s -> ratio {ratio['ratio']:.3f} wall clock, {ratio['ratio_cpu_time']:.3f} per CPU second"
              f" (>= 0.95 means the shared loop costs at most 5%)")
    report = {"benchmark": "forge_throughput", "size": args.size, "batch": args.batch, "threads": args.threads,
              "device": "cuda" if torch.cuda.is_available() and args.device != "cpu" else "cpu",
              "machine": platform.platform(), "cpus": os.cpu_count(), "data": source,
              "torch": torch.__version__, "sets": args.set, "families": results, "loop_vs_textbook": ratio}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
