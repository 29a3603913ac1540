"""`assay detect` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from assay.core.clitools import err, fail, print_json, print_table, workspace
from detect.base import DETECTORS

app = typer.Typer(help="Train GAN-face detectors, evaluate them per generator, scan images and videos.", no_args_is_help=True)

REAL_OPT = typer.Option(..., "--real", help="Real (prepared) set id or name; repeat or comma-separate for several.")
FAKE_OPT = typer.Option([], "--fake", help="Fake (forge sample) set id or name; repeat or comma-separate.")
SIMULATOR_OPT = typer.Option(["transposed,nearest,bilinear"], "--simulator", help="Simulators used by --simulate.")
SIM_STEPS_OPT = typer.Option(100, "--sim-steps", help="Training steps of each simulation auto-encoder.")
CALIBRATION_OPT = typer.Option("temperature", "--calibration", help="temperature, isotonic or none (fitted on val).")
ENCODE_OPT = typer.Option("auto", "--encode", help="Encode path for both classes: auto, none, png, jpeg[:Q].")
MAX_PER_SET_OPT = typer.Option(None, "--max-per-set", help="Use at most this many images of each set.")
SEED_OPT = typer.Option(0, "--seed", help="Seed of the split and of training.")
TABLE_METRICS = ("auc", "ap", "eer", "accuracy", "acc_real", "acc_synthetic", "ece")


def _refs(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def _train_config(model: str, aug: list[str], simulate: bool, simulator: list[str], options: list[str],
                  calibration: str, encode: str, max_per_set: Optional[int], seed: int, sim_steps: int) -> Any:
    from detect.augment import AUGMENTATIONS
    from detect.calibration import CALIBRATORS
    from detect.simulate import SIMULATORS
    from detect.train import DetectTrainConfig, parse_option

    try:
        DETECTORS.get(model)
        CALIBRATORS.get(calibration)
        augs = _refs(aug)
        if augs == ["wang"]:
            augs = ["blur", "jpeg"]
        for a in augs:
            AUGMENTATIONS.get(a)
        sims = tuple(_refs(simulator)) if simulate else ()
        for s in sims:
            SIMULATORS.get(s)
        opts = dict(parse_option(o) for o in options)
    except ValueError as exc:
        fail(str(exc))
    return DetectTrainConfig(model=model, options=opts, aug=tuple(augs), simulate=sims, sim_steps=sim_steps,
                       calibration=calibration, encode=encode, max_per_set=max_per_set, seed=seed)


def _write_out(out: Optional[Path], obj: Any) -> None:
    if out is not None:
        from assay.core.fileio import atomic_write_json

        atomic_write_json(out, obj)
        err.print(f"report written to {out}")


@app.command("train")
def train_cmd(
    ctx: typer.Context,
    model: str = typer.Option("spectral", "--model", "-m", help=f"Detector: {', '.join(DETECTORS.names())}."),
    real: list[str] = REAL_OPT,
    fake: list[str] = FAKE_OPT,
    aug: list[str] = typer.Option([], "--aug", help="Augmentations: blur, jpeg, resize-crop, flip (or 'wang' = blur,jpeg)."),
    simulate: bool = typer.Option(False, "--simulate", help="Add artifact-simulation fakes made from the real images."),
    simulator: list[str] = SIMULATOR_OPT,
    sim_steps: int = SIM_STEPS_OPT,
    option: list[str] = typer.Option([], "--set", help="Detector option key=value, e.g. backbone=resnet50, epochs=20, tile=128."),
    calibration: str = CALIBRATION_OPT,
    encode: str = ENCODE_OPT,
    max_per_set: Optional[int] = MAX_PER_SET_OPT,
    robustness: bool = typer.Option(False, "--robustness/--no-robustness", help="Also measure the perturbed test split."),
    name: Optional[str] = typer.Option(None, "--name", help="Detector name [default: MODEL-DATE-TIME]."),
    seed: int = SEED_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print the test report as JSON."),
) -> None:
    """Train a detector on real and fake sets; calibrate it on val, test it, register it."""
    from assay.core.catalog import CatalogError
    from assay.core.devices import teardown
    from detect.robustness import PERTURBATIONS
    from detect.train import train

    cfg = _train_config(model, aug, simulate, simulator, option, calibration, encode, max_per_set, seed, sim_steps)
    if robustness:
        cfg.robustness = tuple(PERTURBATIONS.names())
    ws = workspace(ctx)
    err.print(f"training {model} on {len(_refs(real))} real and {len(_refs(fake))} fake set(s)"
              + (f", simulating {', '.join(cfg.simulate)}" if cfg.simulate else ""))
    try:
        rec, report = train(ws, cfg, _refs(real), _refs(fake), name)
    except (CatalogError, ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    finally:
        teardown()
    if rec is None:  # not rank 0
        return
    report = {"detector": rec.id, "name": rec.name, **report}
    if as_json:
        print_json(report)
    else:
        from detect.evaluate import report_rows

        print_table(report_rows(report), ["condition", "family", *TABLE_METRICS], title=f"{rec.id} on the test split")
    err.print(f"detector {rec.id} ({rec.name}) saved to {rec.path}")


@app.command("eval")
def eval_cmd(
    ctx: typer.Context,
    detector: str = typer.Argument(..., help="Detector id or name."),
    real: list[str] = REAL_OPT,
    fake: list[str] = FAKE_OPT,
    split: str = typer.Option("test", "--split", help="Split of the sets to score: test, val, train or all."),
    robustness: bool = typer.Option(True, "--robustness/--no-robustness", help="Also score JPEG, downscale, blur, crop, metadata strip."),
    encode: str = ENCODE_OPT,
    max_per_set: Optional[int] = MAX_PER_SET_OPT,
    seed: int = typer.Option(0, "--seed", help="Seed of the split assignment (use the training seed)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the JSON report to this file."),
) -> None:
    """Evaluate a detector: AUC, AP, EER, accuracy, ECE, overall and per generator family."""
    from assay.core.catalog import CatalogError
    from detect.eval_run import evaluate_sets
    from detect.robustness import PERTURBATIONS
    from detect.store import NoDetectorError

    ws = workspace(ctx)
    try:
        report = evaluate_sets(ws, detector, _refs(real), _refs(fake), split=split,
                               perturbations=PERTURBATIONS.names() if robustness else (), encode=encode,
                               max_per_set=max_per_set, seed=seed)
    except (CatalogError, ValueError, FileNotFoundError, NoDetectorError) as exc:
        fail(str(exc))
    _write_out(out, report)
    if as_json:
        print_json(report)
    else:
        from detect.evaluate import report_rows

        print_table(report_rows(report), ["condition", "family", *TABLE_METRICS],
                    title=f"{report['detector']} on {split} ({report['data']['encode_path']['real']['re_encoded_as']} encode)")


@app.command("loo")
def loo_cmd(
    ctx: typer.Context,
    model: str = typer.Option("spectral", "--model", "-m", help="Detector to train in every fold."),
    real: list[str] = REAL_OPT,
    fake: list[str] = FAKE_OPT,
    aug: list[str] = typer.Option([], "--aug", help="Augmentations: blur, jpeg, resize-crop, flip (or 'wang')."),
    simulate: bool = typer.Option(False, "--simulate", help="Add artifact-simulation fakes (and a simulated-only fold)."),
    simulator: list[str] = SIMULATOR_OPT,
    sim_steps: int = SIM_STEPS_OPT,
    option: list[str] = typer.Option([], "--set", help="Detector option key=value."),
    calibration: str = CALIBRATION_OPT,
    encode: str = ENCODE_OPT,
    max_per_set: Optional[int] = MAX_PER_SET_OPT,
    save_folds: bool = typer.Option(False, "--save-folds", help="Register every fold's detector in the catalog."),
    seed: int = SEED_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the JSON result to this file."),
) -> None:
    """Leave-one-generator-out: train once per held-out family, print the AUC matrix (* = unseen)."""
    from assay.core.catalog import CatalogError
    from detect.loo import leave_one_out, matrix_rows

    cfg = _train_config(model, aug, simulate, simulator, option, calibration, encode, max_per_set, seed, sim_steps)
    ws = workspace(ctx)
    try:
        result = leave_one_out(ws, cfg, _refs(real), _refs(fake), save=save_folds)
    except (CatalogError, ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    _write_out(out, result)
    if as_json:
        print_json(result)
    else:
        rows = matrix_rows(result)
        cols = ["held out"] + sorted({k for r in rows for k in r if k != "held out"})
        print_table(rows, cols, title=f"leave-one-generator-out AUC, {model} (* = family not seen in training)")
        err.print(f"lowest unseen-family AUC: {result['min_unseen_auc']:.3f}")


from detect.scan_cli import scan_command  # noqa: E402

app.command("scan")(scan_command)
