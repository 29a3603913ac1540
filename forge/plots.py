"""The metrics-over-training plot of a run (``metrics.png`` beside ``metrics.jsonl``)."""

from __future__ import annotations

import io
from pathlib import Path

from assay.core.fileio import atomic_write_bytes, read_jsonl
from assay.forge.checkpoint import METRICS

PLOT = "metrics.png"
#: panels: title -> the metrics.jsonl keys drawn in it
PANELS = {"losses": ("d_loss", "g_loss"), "FD-dlib (eval)": ("fd_dlib",), "face rate (eval)": ("face_rate",)}


def plot_run(run_dir: Path) -> Path:
    """Draw every panel's series from the run's ``metrics.jsonl`` against the step; returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_jsonl(run_dir / METRICS)
    fig, axes = plt.subplots(1, len(PANELS), figsize=(4 * len(PANELS), 3))
    for ax, (title, keys) in zip(axes, PANELS.items()):
        for key in keys:
            pts = [(r["step"], r[key]) for r in rows if isinstance(r.get(key), (int, float))]
            if pts:
                ax.plot(*zip(*pts), marker="o" if len(pts) < 30 else None, label=key)
        ax.set_title(title)
        ax.set_xlabel("step")
        if len(keys) > 1 and ax.lines:
            ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    atomic_write_bytes(run_dir / PLOT, buf.getvalue())
    return run_dir / PLOT
