"""The demo's detect stage: train the spectral detector on the demo's sets and print its evaluation."""

from __future__ import annotations

from assay.core.clitools import print_table, say
from assay.core.workspace import Workspace

DEMO_METRICS = ("auc", "ap", "eer", "accuracy", "acc_real", "acc_synthetic", "ece")


def run(ws: Workspace, real: str, fake: str) -> str:
    """Train ``spectral`` on one real and one fake set, print its test-split report; returns the detector id.

    The detector is named ``demo-spectral``; a second run reuses it instead of training again.
    """
    from assay.core.catalog import CatalogError
    from assay.detect import DetectTrainConfig, report_rows, train

    try:
        rec = ws.catalog.get("demo-spectral", "detectors")
        say("detect", f"reusing detector demo-spectral ({rec.id})")
        return rec.id
    except CatalogError:
        pass
    say("detect", f"assay detect train --model spectral --real {real} --fake {fake} --name demo-spectral")
    rec, report = train(ws, DetectTrainConfig(model="spectral"), [real], [fake], name="demo-spectral")
    assert rec is not None  # single process: rank 0
    print_table(report_rows(report), ["condition", "family", *DEMO_METRICS],
                title=f"detector {rec.id} (spectral) on the held-out test split")
    enc = report["data"]["encode_path"]
    say("detect", f"encode path: real {enc['real']['source_formats']} and synthetic "
                  f"{enc['synthetic']['source_formats']}, both re-encoded as {enc['real']['re_encoded_as']}")
    return rec.id
