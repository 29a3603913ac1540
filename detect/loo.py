"""Leave-one-generator-out: train once per held-out fake family, test on every family.

The result is a matrix of AUCs (rows: the family held out of training; columns: the family
tested against the same real test images), each cell marked seen or unseen. The diagonal
is the figure of merit: how the detector does on a generator it never saw. With artifact
simulation on, one extra row trains on no GAN family at all (simulated fakes only).
"""

from __future__ import annotations

import secrets
import time
from typing import Any, Sequence

from tqdm import tqdm

from assay.core.fileio import atomic_write_json
from assay.core.workspace import Workspace
from assay.detect.data import Assembled, assemble
from assay.detect.training import DetectTrainConfig, fit_and_test

ALL_HELD_OUT = "(all: simulated only)"
LOO_FILE = "loo.json"


def folds(data: Assembled, cfg: DetectTrainConfig) -> list[str]:
    """Families to hold out, one fold each (plus the simulated-only fold when simulating)."""
    fams = data.families
    if len(fams) < 2 and not cfg.simulate:
        raise ValueError(f"leave-one-generator-out needs two or more fake families; found {fams or 'none'}")
    return fams + ([ALL_HELD_OUT] if cfg.simulate else [])


def leave_one_out(ws: Workspace, cfg: DetectTrainConfig, real: Sequence[str], fake: Sequence[str],
                  save: bool = False, data: Assembled | None = None) -> dict[str, Any]:
    """Run every fold; returns {"matrix": {held_out: {family: {"auc", "seen"}}}, "unseen_auc": ...}.

    With ``save`` each fold's detector is registered (params ``loo_study``, ``held_out_family``,
    ``loo_unseen_auc``, ``loo_matrix``; the whole result in ``loo.json`` in its folder).
    """
    from assay.detect.store import save_detector

    data = data or assemble(ws, real, fake, max_per_set=cfg.max_per_set, encode=cfg.encode,
                            simulate=cfg.simulate, sim_steps=cfg.sim_steps, seed=cfg.seed,
                            sim_stages=cfg.sim_stages)
    study = f"loo-{secrets.token_hex(4)}"
    matrix: dict[str, dict[str, dict[str, Any]]] = {}
    trained_on: dict[str, list[str]] = {}
    fold_ids: dict[str, str] = {}
    for held in tqdm(folds(data, cfg), desc=f"leave-one-out {cfg.model}", leave=False):
        excluded = data.families if held == ALL_HELD_OUT else [held]
        fold_data = Assembled({s: [i for i in items if not (s != "test" and i.family in excluded)]
                               for s, items in data.splits.items()}, data.sets, data.encode)
        det, report = fit_and_test(cfg, fold_data)
        leaked = set(excluded) & set(report["trained_on"] + report["calibrated_on"])
        if leaked:
            raise RuntimeError(f"held-out families {sorted(leaked)} reached training")
        trained_on[held] = report["trained_on"]
        matrix[held] = {fam: {"auc": vals["auc"], "ap": vals["ap"], "seen": fam in report["trained_on"]}
                        for fam, vals in report["per_family"].items() if fam in data.families}
        if save:
            rec = save_detector(ws, det, f"{study}-{cfg.model}-without-{held}"[:120],
                                {"loo_study": study, "held_out_family": held},
                                data.sets["real"] + data.sets["fake"], evaluation=report)
            fold_ids[held] = rec.id
    unseen = {held: row[held]["auc"] for held, row in matrix.items() if held in row}
    simulated_only = matrix.get(ALL_HELD_OUT, {})
    result = {"study": study, "model": cfg.model, "matrix": matrix, "trained_on": trained_on,
            "unseen_auc": unseen, "min_unseen_auc": min(unseen.values()) if unseen else None,
            "simulated_only_auc": {f: v["auc"] for f, v in simulated_only.items()} or None,
            "detectors": fold_ids, "data": data.summary(), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    for fold_id in fold_ids.values():  # the whole matrix with every fold, for the dashboard
        atomic_write_json(ws.path_of(ws.resolve(fold_id)) / LOO_FILE, result)
        ws.catalog.update(fold_id, {"loo_unseen_auc": unseen, "loo_matrix": matrix})
    return result


def matrix_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows for a printed table: one per held-out family, a column per tested family ('*' = unseen)."""
    rows = []
    for held, row in result["matrix"].items():
        cells = {fam: f"{v['auc']:.3f}{'' if v['seen'] else '*'}" for fam, v in row.items()}
        rows.append({"held out": held, **cells})
    return rows
