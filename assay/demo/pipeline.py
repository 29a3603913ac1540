"""The demo's stages in order: data, consent, forge, detect, provenance, comply."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from assay.core.catalog import CatalogError
from assay.core.clitools import err, say
from assay.core.fileio import atomic_write_text
from assay.core.imageio import save
from assay.core.workspace import Workspace
from assay.data import PrepareConfig, prepare

#: images per forge eval row in the demo (the toy set holds out about 20)
DEMO_EVAL_N = 16
TOY_NOTE = ("toy set: the 100 grayscale 25x25 faces of scikit-image's LFW subset, shipped offline; "
            "fine for trying the commands, far too small for meaningful models (run `make demo DATA=folder`)")


def toy_faces(folder: Path) -> Path:
    """Write scikit-image's offline LFW subset faces (the first 100 of 200) as PNG files."""
    from skimage.data import lfw_subset

    folder.mkdir(parents=True, exist_ok=True)
    for i, face in enumerate(lfw_subset()[:100]):
        path = folder / f"lfw_subset_{i:03d}.png"
        if not path.exists():
            save((face * 255).round().astype(np.uint8)[..., None].repeat(3, axis=2), path)
    return folder


def toy_subjects(folder: Path) -> Path:
    """A consent file linking the toy faces to ten demo subjects (ten files each)."""
    path = folder / "demo-subjects.csv"
    rows = [f"subj-demo{d},lfw_subset_0{d}*.png" for d in range(10)]
    atomic_write_text(path, "subject_id,files\n" + "\n".join(rows) + "\n")
    return path


def stage_data(ws: Workspace, data: Path | None) -> str:
    name = "demo-faces"
    try:
        rec = ws.catalog.get(name, "datasets")
        say("data", f"reusing prepared set {name} ({rec.id})")
        return rec.id
    except CatalogError:
        pass
    if data is None:
        say("data", TOY_NOTE)
        src = toy_faces(ws.root / "toy-lfw-subset")
        cfg = PrepareConfig(size=32, align="center", consent_file=str(toy_subjects(ws.root)))
    else:
        src, cfg = data, PrepareConfig(size=32, align="dlib", subjects_from_layout=True)
    link = f"--consent {cfg.consent_file}" if cfg.consent_file else "--subjects-from-layout"
    say("data", f"assay data prepare {src} --out {name} --size {cfg.size} --align {cfg.align} {link}")
    result = prepare(ws, src, name, cfg)
    if result.record is None:
        raise SystemExit(f"nothing usable in {src}: all {result.rejected} files were skipped")
    p = result.record.params
    say("data", f"{result.kept} faces kept, {result.rejected} skipped; splits {p['splits']}; "
              f"layout {p['layout']}; {p['identities']} identity groups; {len(p['subjects'])} subjects linked")
    return result.record.id


def stage_consent(ws: Workspace, dataset: str) -> None:
    from assay.demo.consent import grant_demo_consent

    added = grant_demo_consent(ws, dataset)
    say("consent", f"demo consent records (training, generation, editing, publication) for {added} subjects; "
                   "forge refuses to train on subjects without one")


def stage_forge(ws: Workspace, dataset: str, steps: int | None = None) -> tuple[str, str]:
    """A short DCGAN run; a sample set with every label, and one with metadata labels only for training detectors."""
    from assay.demo import forge as forge_demo
    from assay.forge import evaluate, print_eval_table, sample

    stamped = forge_demo.run(ws, dataset, steps=steps)
    rec = ws.resolve(stamped)
    run_id = rec.params["run_id"]
    say("forge", f"assay forge eval {run_id} --n {DEMO_EVAL_N}: too few images for stable numbers; it shows the "
                 "report with its reference rows (real vs real: the floor; one repeated image: a collapsed generator)")
    print_eval_table(evaluate(ws, run_id, n=DEMO_EVAL_N))
    say("forge", f"sample set {rec.name} ({stamped}): {rec.params['count']} faces, each stamped at birth "
                 "(visible mark, watermark, XMP, signed C2PA manifest)")
    say("forge", "a second set from the same run with metadata labels only (C2PA, XMP; pixels untouched) "
                 "trains the detector, so that it learns the generator rather than the visible mark")
    training = sample(ws, rec.params["run_id"], 100, seed=1, labels="c2pa,xmp")
    grid = forge_demo.stylegan(ws, dataset, steps=min(steps, forge_demo.STYLEGAN_STEPS) if steps else None)
    say("forge", f"style-mixing grid (coarse styles from the row seeds, fine from the column seeds): {grid}")
    return stamped, training


def stage_detect(ws: Workspace, real: str, training_fakes: str, stamped: str) -> None:
    from assay.demo import detect as detect_demo
    from assay.demo import scan as scan_demo

    detector = detect_demo.run(ws, real, training_fakes)
    scan_demo.run(ws, detector, real, stamped)


def stage_provenance(ws: Workspace, stamped: str) -> None:
    from assay.core.imagesets import open_set
    from assay.demo import provenance as provenance_demo

    samples = open_set(ws, stamped)
    say("provenance", "verify three stamped samples, then strip one by re-saving it with Pillow")
    provenance_demo.run(ws, [samples.path(r) for r in samples.rows[:3]])


def stage_comply(ws: Workspace, dataset: str, stamped: str) -> None:
    from assay.core.imagesets import open_set
    from assay.demo import consent as consent_demo

    samples = open_set(ws, stamped)
    say("consent", "assay provenance comply on three samples with every regulation profile, then one subject "
                   "withdraws consent")
    consent_demo.run(ws, dataset, [samples.path(r) for r in samples.rows[:3]])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=None, help="folder of face photos (default: the offline toy set)")
    ap.add_argument("--workspace", type=Path, default=None)
    ap.add_argument("--steps", type=int, default=None, help="forge training steps (default: the demo's 300)")
    args = ap.parse_args(argv)
    ws = Workspace(args.workspace)
    err.print(f"workspace: {ws.root.resolve()}")
    dataset = stage_data(ws, args.data)
    stage_consent(ws, dataset)
    stamped, training_fakes = stage_forge(ws, dataset, args.steps)
    stage_detect(ws, dataset, training_fakes, stamped)
    stage_provenance(ws, stamped)
    stage_comply(ws, dataset, stamped)
    err.print("done: see `assay catalog list` for everything the demo made; review it in the dashboard with")
    err.print(f"  assay --workspace {ws.root.resolve()} dashboard", markup=False, highlight=False)

