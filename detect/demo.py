"""The demo's detect stage: train the spectral detector on the demo's sets and print its evaluation."""

from __future__ import annotations

from assay.clitools import err, print_table
from assay.workspace import Workspace

DEMO_METRICS = ("auc", "ap", "eer", "accuracy", "acc_real", "acc_synthetic", "ece")


def run(ws: Workspace, real: str, fake: str) -> str:
    """Train ``spectral`` on one real and one fake set, print its test-split report; returns the detector id.

    The detector is named ``demo-spectral``; a second run reuses it instead of training again.
    """
    from assay.catalog import CatalogError
    from detect.evaluate import report_rows
    from detect.train import TrainConfig, train

    try:
        rec = ws.catalog.get("demo-spectral", "detectors")
        err.print(f"[detect] reusing detector demo-spectral ({rec.id})", highlight=False)
        return rec.id
    except CatalogError:
        pass
    err.print(f"[detect] assay detect train --model spectral --real {real} --fake {fake} --name demo-spectral",
              highlight=False)
    rec, report = train(ws, TrainConfig(model="spectral"), [real], [fake], name="demo-spectral")
    assert rec is not None  # single process: rank 0
    print_table(report_rows(report), ["condition", "family", *DEMO_METRICS],
                title=f"detector {rec.id} (spectral) on the held-out test split")
    enc = report["data"]["encode_path"]
    err.print(f"[detect] encode path: real {enc['real']['source_formats']} and synthetic "
              f"{enc['synthetic']['source_formats']}, both re-encoded as {enc['real']['re_encoded_as']}",
              highlight=False)
    return rec.id
