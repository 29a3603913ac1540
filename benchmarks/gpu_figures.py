"""GPU figures for the scan's detectors: tiles/s at fp32 and bf16, per inference batch, and bf16's agreement.

A prepared script for a machine that has a GPU (``--device cuda``, the default where CUDA is present);
``--device cpu --quick`` runs the same code on the CPU in seconds (a test does, so the script stays working).
For each CNN detector (random weights: speed does not depend on what they learned, agreement is
measured on them alike) it times the detector's own inference path (:meth:`TorchDetector.forward_tiles`:
folded BatchNorm, channels_last) on random 64 px tiles at each precision and inference batch, and
compares bf16 logits with fp32 ones on the same tiles. With ``--data`` (a folder of JPEGs) it also
scans those files with one process on the device (BlazeFace finds the faces on the CPU) and records
files/s and faces/s at each precision.

    python benchmarks/gpu_figures.py [--device cuda] [--detectors cnn,npr] [--batches 64,256,1024]
        [--tiles 4096] [--data ../shared/data/lfw --files 200] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assay.detect import DETECTORS  # noqa: E402

#: each detector as the scan benchmark builds it (benchmarks/scan_throughput.py)
BUILD = {"cnn": {"backbone": "resnet18"}, "npr": {}}
PRECISIONS = ("fp32", "bf16")


def sync(dev: Any) -> None:
    import torch

    if dev.type == "cuda":
        torch.cuda.synchronize()


def tiles_per_s(det: Any, tiles: list[np.ndarray], dev: Any, repeat: int) -> float:
    """The best of ``repeat`` timed passes over ``tiles`` (one pass first, untimed: the inference copy, kernels)."""
    det.forward_tiles(tiles[: det.inference_batch], dev)
    best = float("inf")
    for _ in range(repeat):
        sync(dev)
        start = time.perf_counter()
        det.forward_tiles(tiles, dev)
        sync(dev)
        best = min(best, time.perf_counter() - start)
    return len(tiles) / best


def unfolded_tiles_per_s(det: Any, tiles: list[np.ndarray], dev: Any, batch: int, repeat: int) -> float:
    """The reference: the network as trained (BatchNorm not folded, the training layout), fp32."""
    import torch

    model = det.model.to(dev).eval()

    def run() -> None:
        with torch.inference_mode():
            for start in range(0, len(tiles), batch):
                model(det.to_tensor(tiles[start:start + batch], dev=dev))

    run()
    best = float("inf")
    for _ in range(repeat):
        sync(dev)
        start = time.perf_counter()
        run()
        sync(dev)
        best = min(best, time.perf_counter() - start)
    return len(tiles) / best


def model_figures(name: str, dev: Any, batches: list[int], n_tiles: int, repeat: int) -> dict[str, Any]:
    """tiles/s per precision and inference batch (and of the unfolded fp32 network), and bf16 against
    fp32 on the same tiles."""
    rng = np.random.default_rng(0)
    tiles = list(rng.integers(0, 256, (n_tiles, 64, 64, 3), dtype=np.uint8))
    det = DETECTORS.create(name, tile=64, **BUILD.get(name, {}))
    speed: dict[str, dict[str, float]] = {"fp32-unfolded": {str(b): round(unfolded_tiles_per_s(det, tiles, dev, b, repeat), 1)
                                                            for b in batches}}
    for precision in PRECISIONS:
        det.precision = precision
        speed[precision] = {}
        for batch in batches:
            det.inference_batch = batch
            speed[precision][str(batch)] = round(tiles_per_s(det, tiles, dev, repeat), 1)
    det.inference_batch = max(batches)
    logits = {}
    for precision in PRECISIONS:
        det.precision = precision
        logits[precision] = det.forward_tiles(tiles, dev).numpy().astype(np.float64)
    diff = np.abs(logits["bf16"] - logits["fp32"])
    spread = float(logits["fp32"].max() - logits["fp32"].min())
    best = {k: max(v.values()) for k, v in speed.items()}
    return {"tiles_per_s": speed,
            "folded_fp32_vs_unfolded": round(best["fp32"] / best["fp32-unfolded"], 2),
            "bf16_vs_fp32": {"best": round(best["bf16"] / best["fp32"], 2),
                             "max_abs_logit_diff": float(diff.max()), "fp32_logit_spread": spread,
                             "sign_agreement": float(np.mean(np.sign(logits["bf16"]) == np.sign(logits["fp32"])))}}


def scan_figures(name: str, files: list[Path], dev: Any) -> dict[str, Any]:
    """One process on the device scans ``files`` at each precision: files/s and faces/s."""
    from assay.core.imageio import decode
    from assay.core.workspace import Workspace
    from assay.detect import scan_paths

    real = [decode(p)[61:189, 61:189] for p in files[:16]]
    fake = [np.repeat(np.repeat(img[::2, ::2], 2, axis=0), 2, axis=1) for img in real]
    det = DETECTORS.create(name, tile=64, epochs=1, **BUILD.get(name, {}))
    det.fit(real + fake, np.array([0] * len(real) + [1] * len(fake)))
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(tmp)
        for precision in PRECISIONS:
            det.precision = precision
            list(scan_paths(ws, files[:4], detector=det, record=False, workers=1))  # warm-up
            start = time.perf_counter()
            results = list(scan_paths(ws, files, detector=det, record=False, workers=1))
            wall = time.perf_counter() - start
            faces = sum(r["faces_found"] or 0 for r in results)
            out[precision] = {"files_per_s": round(len(results) / wall, 2), "faces_per_s": round(faces / wall, 2),
                              "faces": faces, "errors": sum(r["status"] != "ok" for r in results)}
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    import torch

    from assay.core.devices import pick_device

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", help="auto, cuda or cpu")
    ap.add_argument("--detectors", default="cnn,npr")
    ap.add_argument("--batches", default="64,256,1024", help="inference batches (tiles a forward pass)")
    ap.add_argument("--tiles", type=int, default=4096, help="random 64 px tiles timed per setting")
    ap.add_argument("--repeat", type=int, default=3, help="timed passes per setting; the fastest counts")
    ap.add_argument("--data", type=Path, default=None, help="a folder of JPEGs to scan on the device as well")
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="a few tiles and one pass: checks the script runs")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "gpu_figures.json")
    args = ap.parse_args(argv)
    dev = pick_device(args.device)
    threads = torch.get_num_threads()
    if dev.type == "cpu":
        torch.set_num_threads(1)  # as each of a scan's pool processes runs
    try:
        return figures(args, dev)
    finally:
        torch.set_num_threads(threads)


def figures(args: argparse.Namespace, dev: Any) -> dict[str, Any]:
    """The report :func:`main` writes, for the parsed ``args`` on ``dev``."""
    import torch

    from assay.core.devices import pick_device

    batches = [int(b) for b in args.batches.split(",")]
    n_tiles, repeat = (16, 1) if args.quick else (args.tiles, args.repeat)
    if args.quick:
        batches = [min(b, 8) for b in batches[:2]]
    report: dict[str, Any] = {
        "machine": {"platform": platform.platform(), "torch": torch.__version__, "device": str(dev),
                    "gpu": torch.cuda.get_device_name(0) if dev.type == "cuda" else None},
        "tiles": n_tiles, "tile": 64, "repeat": repeat, "detectors": {},
    }
    # a scan runs on this process's own device (CUDA where present): only where that is the one asked for
    scan_here = args.data is not None and dev == pick_device("auto")
    files = sorted(args.data.glob("*.jpg"))[: 8 if args.quick else args.files] if scan_here else []
    for name in args.detectors.split(","):
        entry = model_figures(name, dev, batches, n_tiles, repeat)
        if files:
            entry["scan"] = scan_figures(name, files, dev)
        report["detectors"][name] = entry
        print(f"{name}: tiles/s {entry['tiles_per_s']}; bf16 vs fp32 {entry['bf16_vs_fp32']}"
              + (f"; scan {entry['scan']}" if files else ""))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
