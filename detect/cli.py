"""`assay detect` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from assay.core.clitools import err, fail, print_json, print_table, say, workspace
from assay.detect.base import DETECTORS

app = typer.Typer(help="Train GAN-face detectors, evaluate them per generator, scan images and videos.", no_args_is_help=True)

REAL_OPT = typer.Option(..., "--real", help="Real (prepared) set id or name; repeat or comma-separate for several.")
FAKE_OPT = typer.Option([], "--fake", help="Fake (forge sample) set id or name; repeat or comma-separate.")
SIMULATOR_OPT = typer.Option(["transposed,nearest,bilinear"], "--simulator", help="Simulators used by --simulate.")
SIM_STEPS_OPT = typer.Option(100, "--sim-steps", help="Training steps of each simulation auto-encoder.")
CALIBRATION_OPT = typer.Option("temperature", "--calibration", help="temperature, isotonic or none (fitted on val).")
ENCODE_OPT = typer.Option("auto", "--encode", help="Encode path for both classes: auto, none, png, jpeg[:Q].")
MAX_PER_SET_OPT = typer.Option(None, "--max-per-set", help="Use at most this many images of each set.")
SEED_OPT = typer.Option(0, "--seed", help="Seed of the split and of training.")
AUG_OPT = typer.Option([], "--aug", help="Augmentations: blur, jpeg, resize-crop, reencode, flip (or 'wang' = blur,jpeg).")
TABLE_METRICS = ("auc", "ap", "eer", "accuracy", "acc_real", "acc_synthetic", "ece")


def _refs(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def _train_config(model: str, aug: list[str], simulate: bool, simulator: list[str], options: list[str],
                  calibration: str, encode: str, max_per_set: Optional[int], seed: int, sim_steps: int) -> Any:
    from assay.detect.augment import AUGMENTATIONS
    from assay.detect.calibration import CALIBRATORS
    from assay.detect.simulate import SIMULATORS
    from assay.detect.training import DetectTrainConfig, parse_option

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


DIR_HELP = {
    "real": "Folder of real images (recursive); repeatable. Registered as a data set with its file hashes.",
    "fake": "Folder of generated images (recursive), one family per folder (its name, or NAME=FOLDER); repeatable.",
    "layout": "Folder in the 0_real/1_fake layout (CNNDetection), searched recursively; each generator sub-folder "
              "is a family.",
}


def _with_preset(ctx: typer.Context, preset: str, cfg: Any) -> Any:
    """The preset's config; options given on the command line override it (detector options merge)."""
    from assay.detect.training import PRESETS, preset_config

    try:
        base = PRESETS.get(preset)
    except ValueError as exc:
        fail(str(exc))
    def typed(name: str) -> bool:  # typer vendors click: compare the source by name
        return getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"

    given = {p for p in ("model", "aug", "calibration", "encode", "max_per_set", "sim_steps") if typed(p)}
    if typed("simulate") or typed("simulator"):
        given.add("simulate")
    overrides = {k: getattr(cfg, k) for k in given}
    overrides["options"] = {**base.get("options", {}), **cfg.options}
    overrides["seed"] = cfg.seed
    return preset_config(preset, **overrides)


def _write_out(out: Optional[Path], obj: Any) -> None:
    if out is not None:
        from assay.core.fileio import atomic_write_json

        atomic_write_json(out, obj)
        err.print(f"report written to {out}")


@app.command("train")
def train_cmd(
    ctx: typer.Context,
    model: str = typer.Option("spectral", "--model", "-m", help=f"Detector: {', '.join(DETECTORS.names())}."),
    preset: Optional[str] = typer.Option(None, "--preset", help="A training recipe (general: the recommended "
                                         "detector for GAN faces the suite never made); other options add to it."),
    real: list[str] = typer.Option([], "--real", help="Real (prepared) set id or name; repeat or comma-separate."),
    fake: list[str] = FAKE_OPT,
    real_dir: list[Path] = typer.Option([], "--real-dir", help=DIR_HELP["real"]),
    fake_dir: list[str] = typer.Option([], "--fake-dir", help=DIR_HELP["fake"]),
    layout_dir: list[Path] = typer.Option([], "--dir", help=DIR_HELP["layout"]),
    calibrate_on: list[str] = typer.Option([], "--calibrate-on", help="Fake family never trained on, used only to "
                                           "calibrate the probabilities (a generator the detector does not know)."),
    aug: list[str] = AUG_OPT,
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
    """Train a detector on real and fake sets or folders; calibrate it on val, test it, register it."""
    from assay.core.catalog import CatalogError
    from assay.core.devices import teardown
    from assay.core.errors import AssayError
    from assay.detect.robustness import PERTURBATIONS
    from assay.detect.training import train, validate_config

    cfg = _train_config(model, aug, simulate, simulator, option, calibration, encode, max_per_set, seed, sim_steps)
    if preset:
        cfg = _with_preset(ctx, preset, cfg)
    if robustness:
        cfg.robustness = tuple(PERTURBATIONS.names())
    cfg.calibrate_on = tuple(_refs(calibrate_on))
    if not (real or real_dir or layout_dir):
        fail("no real images: give --real SET, --real-dir FOLDER or --dir ROOT")
    try:
        validate_config(cfg)
    except ValueError as exc:
        fail(str(exc))
    if not (fake or fake_dir or layout_dir or cfg.simulate):
        fail("no fake images: give --fake SET, --fake-dir [FAMILY=]FOLDER, --dir ROOT or --simulate")
    ws = workspace(ctx)
    n_real, n_fake = len(_refs(real)) + len(real_dir), len(_refs(fake)) + len(fake_dir)
    err.print(f"training {cfg.model} on {n_real} real and {n_fake} fake set(s)"
              + (f" and {len(layout_dir)} 0_real/1_fake folder(s)" if layout_dir else "")
              + (f", simulating {', '.join(cfg.simulate)}" if cfg.simulate else ""))
    try:
        rec, report = train(ws, cfg, _refs(real), _refs(fake), name, real_dirs=[str(d) for d in real_dir],
                            fake_dirs=fake_dir, layout_dirs=[str(d) for d in layout_dir])
    except (AssayError, CatalogError, ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    finally:
        teardown()
    if rec is None:  # not rank 0
        return
    report = {"detector": rec.id, "name": rec.name, **report}
    if as_json:
        print_json(report)
    else:
        from assay.detect.evaluate import report_rows

        print_table(report_rows(report), ["condition", "family", *TABLE_METRICS], title=f"{rec.id} on the test split")
    err.print(f"detector {rec.id} ({rec.name}) saved to {rec.path}")


@app.command("eval")
def eval_cmd(
    ctx: typer.Context,
    detector: str = typer.Argument(..., help="Detector id or name."),
    real: list[str] = typer.Option([], "--real", help="Real (prepared) set id or name; repeat or comma-separate."),
    fake: list[str] = FAKE_OPT,
    real_dir: list[Path] = typer.Option([], "--real-dir", help="Folder of real images (recursive); repeatable."),
    fake_dir: list[Path] = typer.Option([], "--fake-dir", help="Folder of generated images (recursive), one family per folder."),
    layout_dir: list[Path] = typer.Option([], "--dir", help="Folder in the 0_real/1_fake layout (CNNDetection), "
                                          "searched recursively; each generator sub-folder is a family."),
    split: str = typer.Option("test", "--split", help="Split of the sets to score: test, val, train or all."),
    robustness: bool = typer.Option(True, "--robustness/--no-robustness", help="Also score JPEG, downscale, blur, crop, metadata strip."),
    encode: str = typer.Option("auto", "--encode", help="Encode path for both classes: auto, none, png, jpeg[:Q] "
                               "(folders: auto means none, the images as they are)."),
    max_per_set: Optional[int] = typer.Option(None, "--max-per-set", help="At most this many images per set or folder."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split assignment (use the training seed)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the JSON report to this file."),
) -> None:
    """Evaluate a detector on sets or folders: AUC, AP, EER, accuracy, ECE, overall and per generator family."""
    from assay.core.catalog import CatalogError
    from assay.core.errors import AssayError
    from assay.detect.eval_run import evaluate_folders, evaluate_sets
    from assay.detect.robustness import PERTURBATIONS

    ws = workspace(ctx)
    perturbations = PERTURBATIONS.names() if robustness else ()
    folders = bool(real_dir or fake_dir or layout_dir)
    if folders and (real or fake):
        fail("give sets (--real/--fake) or folders (--real-dir/--fake-dir/--dir), not both")
    if not folders and not real:
        fail("nothing to evaluate: give --real SET (and --fake SET), or --real-dir/--fake-dir, or --dir")
    try:
        if folders:
            report = evaluate_folders(ws, detector, real_dirs=real_dir, fake_dirs=fake_dir, layout_dirs=layout_dir,
                                      perturbations=perturbations, encode="none" if encode == "auto" else encode,
                                      max_per_folder=max_per_set, seed=seed)
        else:
            report = evaluate_sets(ws, detector, _refs(real), _refs(fake), split=split, perturbations=perturbations,
                                   encode=encode, max_per_set=max_per_set, seed=seed)
    except (AssayError, CatalogError, ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    _say_unreadable(report["data"].get("unreadable", []))
    _write_out(out, report)
    if as_json:
        print_json(report)
    else:
        from assay.detect.evaluate import report_rows

        print_table(report_rows(report), ["condition", "family", *TABLE_METRICS],
                    title=f"{report['detector']} on {report['split']} ({report['data']['encode_path']['real']['re_encoded_as']} encode)")


def _say_unreadable(unreadable: list[dict[str, str]]) -> None:
    """One stderr line per file that could not be read, then their count."""
    for u in unreadable:
        say("unreadable", f"{u['file']}: {u['reason']}")
    if unreadable:
        say("unreadable", f"{len(unreadable)} file(s) could not be read and were left out")


@app.command("calibrate")
def calibrate_cmd(
    ctx: typer.Context,
    detector: str = typer.Argument(..., help="Detector id or name."),
    real: Path = typer.Option(..., "--real", help="Folder of your own real photos (searched recursively)."),
    target_fpr: float = typer.Option(0.01, "--target-fpr", help="False-positive rate to keep on such photos."),
    margin: float = typer.Option(0.25, help="Face crop margin, as in `assay detect scan`."),
    as_json: bool = typer.Option(False, "--json", help="Print the threshold and its check as JSON."),
) -> None:
    """Set the detector's threshold on your own real photos; `assay detect scan` uses it from then on."""
    from assay.core.errors import AssayError
    from assay.detect.operating import calibrate_on_folder

    ws = workspace(ctx)
    if not real.is_dir():
        fail(f"--real must be a folder of photos, got {real}")
    try:
        point = calibrate_on_folder(ws, detector, real, target_fpr, margin=margin)
    except (AssayError, ValueError) as exc:
        fail(str(exc))
    if as_json:
        print_json(point)
        return
    check = "n/a" if point["check_fpr"] is None else f"{point['check_fpr']:.3f}"
    err.print(f"{point['detector']} ({point['name']}): threshold P(synthetic) >= {point['probability']:.4f} "
              f"(raw score {point['raw']:.4f}) from {point['n_fit']} photos; false-positive rate on the other "
              f"{point['n_check']}: {check} (target {target_fpr:g})", highlight=False)


@app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The published checkpoint (a local .pth/.pt/.safetensors file)."),
    fmt: str = typer.Option(..., "--format", help="cnndetection, npr or univfd."),
    clip: Optional[Path] = typer.Option(None, "--clip", help="univfd: local OpenCLIP ViT-L/14 weights file."),
    clip_arch: str = typer.Option("ViT-L-14", "--clip-arch", help="univfd: OpenCLIP architecture name or model config .json."),
    crop: Optional[int] = typer.Option(None, "--crop", help="Score CROP-pixel tiles (e.g. 224) instead of the whole "
                                       "image [default: whole image; univfd: 224]."),
    calibrate_real: list[Path] = typer.Option([], "--calibrate-real", help="Folder of real photos to calibrate on (repeatable)."),
    calibrate_fake: list[Path] = typer.Option([], "--calibrate-fake", help="Folder of generated faces to calibrate on (repeatable)."),
    calibration: str = CALIBRATION_OPT,
    max_per_set: Optional[int] = typer.Option(None, "--max-per-set", help="At most this many images per calibration folder."),
    name: Optional[str] = typer.Option(None, "--name", help="Detector name [default: FORMAT-SHA256 prefix]."),
    as_json: bool = typer.Option(False, "--json", help="Print the import report as JSON."),
) -> None:
    """Import a published detector checkpoint (CNNDetection, NPR, UnivFD) into the workspace; nothing is downloaded."""
    from assay.core.errors import AssayError
    from assay.detect.importing import import_checkpoint

    options: dict[str, Any] = {"crop": crop} if crop else {}
    if clip is not None:
        options.update(clip=str(clip), clip_arch=clip_arch)
    ws = workspace(ctx)
    try:
        rec, report = import_checkpoint(ws, fmt, file, options=options, name=name, real_dirs=calibrate_real,
                                        fake_dirs=calibrate_fake, calibration=calibration, max_per_folder=max_per_set)
    except (AssayError, ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    if as_json:
        print_json({"detector": rec.id, "name": rec.name, **report})
    if not report["calibrated"]:
        err.print("uncalibrated: P(synthetic) is the checkpoint's own sigmoid; give --calibrate-real/--calibrate-fake "
                  "folders, or set a threshold on your photos with `assay detect calibrate`", highlight=False)
    err.print(f"detector {rec.id} ({rec.name}, format {report['imported']['format']}) saved to {rec.path}", highlight=False)


@app.command("loo")
def loo_cmd(
    ctx: typer.Context,
    model: str = typer.Option("spectral", "--model", "-m", help="Detector to train in every fold."),
    real: list[str] = REAL_OPT,
    fake: list[str] = FAKE_OPT,
    aug: list[str] = AUG_OPT,
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
    from assay.detect.loo import leave_one_out, matrix_rows

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


from assay.detect.scan_cli import scan_command  # noqa: E402

app.command("scan")(scan_command)
