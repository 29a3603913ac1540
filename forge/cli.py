"""`assay forge` commands."""

from __future__ import annotations

from typing import List, Optional, Tuple

import typer

from assay.core.clitools import err, fail, out, print_json, print_table, workspace

app = typer.Typer(help="Train and run the GAN family; write labelled synthetic face sets.", no_args_is_help=True)


@app.command("presets")
def presets(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the GAN families (named presets) and the stabiliser switches."""
    from assay.core.config import to_dict
    from assay.forge.config import GanConfig, make_config
    from assay.forge.families import FAMILIES, SWITCHES
    from assay.forge.settings import entry_defaults

    fams = [{"family": n, **FAMILIES.meta(n), "settings": FAMILIES.get(n)()} for n in FAMILIES.names()]
    switches = [{"switch": n, "set": SWITCHES.get(n), **SWITCHES.meta(n)} for n in SWITCHES.names()]
    if as_json:
        print_json({"families": fams, "switches": switches, "defaults": to_dict(make_config("dcgan")),
                    "options": entry_defaults(GanConfig())})
        return
    print_table(fams, ["family", "paper", "summary"], title="GAN families (--model)")
    print_table(switches, ["switch", "set", "summary"], title="Switches (--set key=value)")
    out.print("Any config field can be set with --set key=value, a network's options with --set g.KEY=value or "
              "d.KEY=value; `assay forge presets --json` lists the fields and each network's options.")


@app.command("train")
def train_cmd(
    ctx: typer.Context,
    model: str = typer.Option("dcgan", "--model", "-m", help="GAN family (see `assay forge presets`)."),
    data: Optional[str] = typer.Option(None, "--data", "-d", help="Prepared data set (id or name)."),
    size: int = typer.Option(64, "--size", help="Image size: 32, 64 or 128."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Generator steps (default 1000)."),
    batch: Optional[int] = typer.Option(None, "--batch", help="Batch size per process (default 64)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (default 0)."),
    sets: List[str] = typer.Option([], "--set", help="Override a config field: key=value (repeatable)."),
    name: Optional[str] = typer.Option(None, "--name", help="Run name (default: the run id)."),
    resume: Optional[str] = typer.Option(None, "--resume", help="Continue this run from its latest checkpoint."),
    time_budget: Optional[str] = typer.Option(None, "--time", help="Wall-clock budget, e.g. 90s, 12m, 1.5h: stop "
                                                                    "there with a checkpoint (or at --steps, if first)."),
    no_consent_records: Optional[str] = typer.Option(None, "--no-consent-records", metavar="REASON",
                                                     help="Train although real people's faces in the set have no "
                                                          "consent records, for this reason (kept in the run's "
                                                          "lineage; its outputs then fail the consent checks)."),
) -> None:
    """Train a GAN on a prepared face set; prints the run id (torchrun-ready).

    Ctrl-C (or SIGTERM) saves a checkpoint at the current step and exits 130; --resume continues it."""
    from assay.core.devices import is_main_process, teardown
    from assay.core.errors import AssayError
    from assay.forge.config import make_config
    from assay.forge.stopping import TrainingInterrupted
    from assay.forge.training import resume as resume_run
    from assay.forge.training import train

    ws = workspace(ctx)
    if time_budget is not None:
        sets = [*sets, f"time_budget={time_budget}"]
    try:
        if resume:
            run_id = resume_run(ws, resume, sets=sets, steps=steps)
        else:
            if not data:
                fail("--data is required (a prepared data set id or name) unless --resume is given")
            cfg = make_config(model, size, sets, steps=steps, batch=batch, seed=seed)
            run_id = train(ws, data, cfg, name=name, no_consent_records=no_consent_records)
    except TrainingInterrupted as exc:
        if is_main_process():
            err.print(str(exc))
        raise typer.Exit(130)
    except (ValueError, FileNotFoundError, AssayError) as exc:
        fail(str(exc), 1)
    finally:
        teardown()
    if is_main_process():
        rec = ws.resolve(run_id)
        err.print(f"run {run_id} {rec.status}: {rec.path}")
        out.print(run_id)


@app.command("sample")
def sample_cmd(
    ctx: typer.Context,
    run: str = typer.Argument(..., help="Run id or name."),
    n: int = typer.Option(64, "--n", help="Number of images."),
    seed: int = typer.Option(0, "--seed", help="Latent seed: same seed and checkpoint give the same pixels."),
    truncation: float = typer.Option(1.0, "--truncation", help="psi in [0, 1]: pull latents toward the average "
                                                               "(w for StyleGAN, z = 0 otherwise)."),
    condition: List[str] = typer.Option([], "--condition", help="key=value for a conditional run, e.g. gender=female."),
    fmt: str = typer.Option("png", "--format", help="png or jpg."),
    name: Optional[str] = typer.Option(None, "--name", help="Sample set name (default: from run, seed, n, checkpoint)."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or auto (pixels are reproducible per device)."),
    labels: str = typer.Option("visible,watermark,xmp,c2pa", "--labels",
                               help="Labels stamped at birth (at least one). c2pa,xmp leave the pixels untouched: "
                                    "use that for detector training sets."),
    which: str = typer.Option("latest", "--checkpoint",
                              help="latest, or best: the lowest FD-dlib of the training-time eval (eval_every)."),
    engine: str = typer.Option("local", "--engine", help="local (this machine) or ray (batches sharded over a Ray "
                                                         "cluster by latent index; assay[ray])."),
    workers: int = typer.Option(1, "--workers", "-j", help="Processes or Ray actors generating (1: this process; "
                                                           "0: every core, or every CPU/GPU of the cluster)."),
    address: Optional[str] = typer.Option(None, "--address", help="--engine ray: the cluster's address (default: a new local one)."),
) -> None:
    """Write a labelled synthetic sample set from a run, every image stamped at birth; prints the sample set id."""
    from assay.core.catalog import CatalogError
    from assay.core.engines import ENGINES, Engine
    from assay.forge.sampling import sample

    if engine not in ENGINES:
        fail(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    ws = workspace(ctx)
    try:
        set_id = sample(ws, run, n, seed=seed, truncation=truncation, condition=condition, fmt=fmt, name=name,
                        labels=labels, device=device, which_checkpoint=which,
                        engine=Engine(engine, workers, address))
    except (ValueError, FileNotFoundError, CatalogError) as exc:
        fail(str(exc), 1)
    err.print(f"sample set {set_id}: {ws.resolve(set_id).path}")
    out.print(set_id)


LABELS_HELP = "Labels stamped at birth (at least one of visible, watermark, xmp, c2pa)."


@app.command("mix")
def mix_cmd(
    ctx: typer.Context,
    run: str = typer.Argument(..., help="StyleGAN run id or name."),
    rows: str = typer.Option(..., "--rows", help="Row seeds (coarse styles), comma-separated: 1,2,3."),
    cols: str = typer.Option(..., "--cols", help="Column seeds (fine styles), comma-separated."),
    layer: int = typer.Option(4, "--layer", help="First style layer taken from the column seed."),
    truncation: float = typer.Option(1.0, "--truncation", help="psi in [0, 1]."),
    out_path: str = typer.Option("mix.png", "--out", help="Output image (png or jpg)."),
    labels: str = typer.Option("visible,watermark,xmp,c2pa", "--labels", help=LABELS_HELP),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or auto."),
) -> None:
    """Write a style-mixing grid of a StyleGAN run, stamped at birth; prints its path."""
    from assay.forge.explore import mix

    ws = workspace(ctx)
    try:
        path = mix(ws, run, _seeds(rows), _seeds(cols), out_path, layer=layer, truncation=truncation,
                   labels=labels, device=device)
    except (ValueError, FileNotFoundError) as exc:
        fail(str(exc), 1)
    out.print(str(path))


@app.command("interpolate")
def interpolate_cmd(
    ctx: typer.Context,
    run: str = typer.Argument(..., help="Run id or name."),
    seeds: Tuple[int, int] = typer.Option(..., "--seeds", help="The two end seeds: --seeds A B."),
    steps: int = typer.Option(8, "--steps", help="Images in the strip."),
    truncation: float = typer.Option(1.0, "--truncation", help="psi in [0, 1]."),
    out_path: str = typer.Option("interpolate.png", "--out", help="Output image (png or jpg)."),
    labels: str = typer.Option("visible,watermark,xmp,c2pa", "--labels", help=LABELS_HELP),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or auto."),
) -> None:
    """Write a latent interpolation strip between two seeds (in W for StyleGAN), stamped at birth; prints its path."""
    from assay.forge.explore import interpolate

    ws = workspace(ctx)
    try:
        path = interpolate(ws, run, seeds, steps, out_path, truncation=truncation, labels=labels, device=device)
    except (ValueError, FileNotFoundError) as exc:
        fail(str(exc), 1)
    out.print(str(path))


@app.command("upscale")
def upscale_cmd(
    ctx: typer.Context,
    run: str = typer.Argument(..., help="SRGAN run id or name."),
    images: List[str] = typer.Argument(..., help="Image files (png, jpg, webp)."),
    out_dir: str = typer.Option(..., "--out", help="Output folder."),
    labels: str = typer.Option("visible,watermark,xmp,c2pa", "--labels", help=LABELS_HELP),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or auto."),
    subject: List[str] = typer.Option([], "--subject", help="Subject id of the person the photos show (repeatable); "
                                                           "their editing consent is required."),
) -> None:
    """Upscale face images x4 with an SRGAN run; outputs are stamped as AI edits of their parents."""
    from assay.forge.upscale import upscale

    ws = workspace(ctx)
    try:
        written, failed = upscale(ws, run, images, out_dir, labels=labels, device=device, subjects=subject)
    except (ValueError, FileNotFoundError) as exc:
        fail(str(exc), 1)
    for source, reason in failed:
        err.print(f"{source}: {reason}")
    for path in written:
        out.print(str(path))
    if failed:
        raise typer.Exit(1)


@app.command("upscale-eval")
def upscale_eval_cmd(
    ctx: typer.Context,
    run: str = typer.Argument(..., help="SRGAN run id or name."),
    data: Optional[str] = typer.Option(None, "--data", "-d", help="Prepared data set (default: the run's training set)."),
    split: str = typer.Option("test", "--split", help="Split of the data set to measure on."),
    n: int = typer.Option(64, "--n", help="Images to measure."),
    identity: bool = typer.Option(True, "--identity/--no-identity", help="Also the dlib identity distance."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or auto."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """PSNR, SSIM and identity distance of an SRGAN run against bicubic upsampling, on a set's held-out images."""
    from assay.core.catalog import CatalogError
    from assay.core.errors import AssayError
    from assay.forge.upscale import evaluate, reading

    ws = workspace(ctx)
    try:
        report = evaluate(ws, run, data, n=n, split=split, identity=identity, device=device)
    except (AssayError, ValueError, FileNotFoundError, CatalogError) as exc:
        fail(str(exc), 1)
    if as_json:
        print_json(report)
        return
    print_table([{"method": k, **v} for k, v in report.items()], ["method", "psnr", "ssim", "identity_distance", "images"]
                if identity else ["method", "psnr", "ssim", "images"], title=f"upscale-eval {run} ({split})")
    out.print("PSNR in dB and SSIM: higher is closer; identity distance: dlib embedding, lower is closer "
              "(same person below 0.6). " + reading(report))


@app.command("realign")
def realign_cmd(
    ctx: typer.Context,
    real_dir: List[str] = typer.Option(..., "--real-dir", help="Folder (or file) of real photos (repeatable)."),
    family: str = typer.Option(..., "--family", help="Decoder family: dcgan, srgan or stylegan2 "
                                                     "(its generator's up-sampling blocks)."),
    out_dir: str = typer.Option(..., "--out", help="Output root: the set is written to OUT/<family>/."),
    steps: int = typer.Option(300, "--steps", help="Autoencoder training steps."),
    size: str = typer.Option("native", "--size", help="native, or N: cut each photo's longer side to N px first."),
    patch: int = typer.Option(256, "--patch", help="Training crop size in px (native pixel scale)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Use only the first N photos."),
    train_images: int = typer.Option(64, "--train-images", help="Photos the autoencoder trains on (the first N)."),
    time_budget: Optional[str] = typer.Option(None, "--time", help="Training budget, e.g. 90s, 8m: training stops "
                                                                   "there (or at --steps, if first)."),
    tile: int = typer.Option(0, "--tile", help="Run photos larger than this many px in tiles (0: whole)."),
    sets: List[str] = typer.Option([], "--set", help="Autoencoder setting key=value: ups, latent, enc_ch, ch, "
                                                     "batch, lr, seed (repeatable)."),
    name: Optional[str] = typer.Option(None, "--name", help="Sample set name (default: from family and sources)."),
    labels: str = typer.Option("c2pa,xmp", "--labels", help="Labels stamped at birth; c2pa,xmp (default) leave the "
                                                            "pixels untouched, as a detector's training set needs."),
    subject: List[str] = typer.Option([], "--subject", help="Subject id of a person the photos show (repeatable); "
                                                            "their editing consent is required."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or auto."),
) -> None:
    """Re-synthesise real photos at their own resolution through an autoencoder with a GAN family's decoder:
    content-aligned fakes (PNG, one folder per family, a sample set with lineage); prints the set id.
    Run it again to resume."""
    from assay.core.catalog import CatalogError
    from assay.core.errors import AssayError
    from assay.forge.aligned import realign, realign_config
    from assay.forge.stopping import parse_duration

    ws = workspace(ctx)
    try:
        cfg, px = realign_config(family, size, sets, steps=steps, patch=patch)
        made = realign(ws, real_dir, out_dir, cfg, size=px, limit=limit, train_images=train_images,
                       time_budget=parse_duration(time_budget) if time_budget else None, tile=tile, name=name,
                       labels=labels, subjects=subject, device=device)
    except (ValueError, FileNotFoundError, CatalogError, AssayError) as exc:
        fail(str(exc), 1)
    for source, reason in made.failed:
        err.print(f"{source}: {reason}")
    err.print(f"sample set {made.set_id}: {made.folder} ({made.written} written now)")
    out.print(made.set_id)
    if made.failed:
        raise typer.Exit(1)


def _seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        fail(f"seeds must be comma-separated integers, got {text!r}", 2)


@app.command("eval")
def eval_cmd(
    ctx: typer.Context,
    target: str = typer.Argument(..., help="Run or sample set (id or name)."),
    n: int = typer.Option(1000, "--n", help="Images per row (fewer if the reference or held-out split is smaller)."),
    against: Optional[str] = typer.Option(None, "--against", help="Reference SET:split (default: the training set's train split)."),
    metrics: Optional[str] = typer.Option(None, "--metrics", help="Comma-separated metric names (default: all but "
                                          "fid,kid,is, which need --inception-weights)."),
    inception_weights: Optional[str] = typer.Option(None, "--inception-weights",
                                                    help="The standard pt_inception-2015-12-05 weights file (hash checked)."),
    which: str = typer.Option("latest", "--checkpoint", help="For a run: latest or best."),
    seed: int = typer.Option(0, "--seed", help="Latents and reference subsets."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or auto (generation only)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report rows as JSON."),
) -> None:
    """Sample-quality metrics of a run or sample set, beside real-vs-real and degenerate reference rows."""
    from assay.core.catalog import CatalogError
    from assay.core.errors import AssayError
    from assay.forge.evaluation import evaluate, print_eval_table
    from assay.forge.metrics import DEFAULT_METRICS

    ws = workspace(ctx)
    names = [m.strip() for m in metrics.split(",") if m.strip()] if metrics else DEFAULT_METRICS
    try:
        rows = evaluate(ws, target, n=n, metrics=names,
                        against=against, seed=seed, inception_weights=inception_weights, which_checkpoint=which,
                        device=device)
    except (AssayError, ValueError, FileNotFoundError, CatalogError) as exc:
        fail(str(exc), 1)
    if as_json:
        print_json(rows)
        return
    print_eval_table(rows)
