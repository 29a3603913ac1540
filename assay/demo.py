"""`make demo`: the whole pipeline on an offline toy face set, or on a folder of photos (--data)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from assay.catalog import CatalogError
from assay.clitools import err
from assay.imageio import save
from assay.prepare import PrepareConfig, prepare
from assay.workspace import Workspace

TOY_NOTE = ("toy set: the 100 grayscale 25x25 faces of scikit-image's LFW subset, shipped offline; "
            "fine for trying the commands, far too small for meaningful models (run `make demo DATA=folder`)")


def say(stage: str, message: str) -> None:
    err.print(f"[{stage}] {message}", markup=False, highlight=False)


def toy_faces(folder: Path) -> Path:
    """Write scikit-image's offline LFW subset faces (the first 100 of 200) as PNG files."""
    from skimage.data import lfw_subset

    folder.mkdir(parents=True, exist_ok=True)
    for i, face in enumerate(lfw_subset()[:100]):
        path = folder / f"lfw_subset_{i:03d}.png"
        if not path.exists():
            save((face * 255).round().astype(np.uint8)[..., None].repeat(3, axis=2), path)
    return folder


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
        src, cfg = toy_faces(ws.root / "toy-lfw-subset"), PrepareConfig(size=32, align="center")
    else:
        src, cfg = data, PrepareConfig(size=32, align="dlib")
    say("data", f"assay data prepare {src} --out {name} --size {cfg.size} --align {cfg.align}")
    result = prepare(ws, src, name, cfg)
    if result.record is None:
        raise SystemExit(f"nothing usable in {src}: all {result.rejected} files were skipped")
    p = result.record.params
    say("data", f"{result.kept} faces kept, {result.rejected} skipped; splits {p['splits']}; "
              f"layout {p['layout']}; {p['identities']} identity groups")
    return result.record.id


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=None, help="folder of face photos (default: the offline toy set)")
    ap.add_argument("--workspace", type=Path, default=None)
    args = ap.parse_args()
    ws = Workspace(args.workspace)
    err.print(f"workspace: {ws.root.resolve()}")
    stage_data(ws, args.data)
    err.print("done: see `assay catalog list` for everything the demo made")


if __name__ == "__main__":
    main()
