"""`assay detect train`: assemble the data, fit a detector, calibrate it, test it, save it.

The detector is fitted on the balanced train split, calibrated on the balanced val split
and measured on the test split; every set it saw becomes a parent in the catalog.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from assay.core.catalog import Record
from assay.core.config import to_dict
from assay.core.registry import Registry
from assay.core.workspace import Workspace
from assay.detect.base import DETECTORS
from assay.detect.data import Assembled, Item, assemble, balanced


@dataclass
class DetectTrainConfig:
    """Everything a training run is made from; saved next to the weights as ``training.json``."""

    model: str = "spectral"
    options: dict[str, Any] = field(default_factory=dict)  # detector constructor arguments
    aug: tuple[str, ...] = ()  # names from detect.augment.AUGMENTATIONS
    simulate: tuple[str, ...] = ()  # names from detect.simulate.SIMULATORS
    sim_steps: int = 100
    sim_stages: tuple[int, ...] = (1,)  # up-sampling stages of the simulators: 1 (x2), 3 (the zoo's x8)
    calibration: str = "temperature"
    encode: str = "auto"
    max_per_set: int | None = None
    robustness: tuple[str, ...] = ()  # perturbations measured on the test split after training
    #: fake families never trained on: their train and val images calibrate the probabilities, so
    #: the calibrator sees how the detector scores a generator it does not know
    calibrate_on: tuple[str, ...] = ()
    seed: int = 0


#: named training recipes: DetectTrainConfig fields (``assay detect train --preset NAME``)
PRESETS: Registry[dict[str, Any]] = Registry("training preset")
PRESETS.register("general")({
    # noise-residual statistics at native pixels and boosted trees, against real GAN output (the fake
    # sets and folders given), both classes re-encoded alike as JPEG 75 and flipped.
    # benchmarks/detect_in_the_wild.py chose it on generators held out: NPR at a 256 px view ranked
    # held-out faces by image size (0.41-0.61 against real photos at their resolution); ``reencode``
    # (JPEG 60-100, random downscale) helped one held-out family and cost the other 0.16 AUC
    "model": "residual", "options": {"max_side": 1024, "trees": 200, "learning_rate": 0.05, "leaves": 15},
    "aug": ("flip",), "encode": "jpeg:75",
})


def preset_config(name: str, **overrides: Any) -> DetectTrainConfig:
    """The preset's config, with fields given explicitly taking precedence."""
    return DetectTrainConfig(**{**PRESETS.get(name), **overrides})


def parse_option(item: str) -> tuple[str, Any]:
    """``key=value`` -> (key, value); the value is read as JSON when it parses, a comma list, or a string."""
    if "=" not in item:
        raise ValueError(f"expected key=value, got {item!r}")
    key, value = item.split("=", 1)
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value.split(",") if "," in value else value


def validate_config(cfg: DetectTrainConfig) -> None:
    """Refuse, before any work, a model that does not exist or options it does not take."""
    from assay.detect.augment import AUGMENTATIONS
    from assay.detect.calibration import CALIBRATORS
    from assay.detect.simulate import SIMULATORS

    takes = DETECTORS.get(cfg.model).param_names()
    unknown = sorted(set(cfg.options) - set(takes))
    if unknown:
        raise ValueError(f"detector {cfg.model} takes no option {', '.join(unknown)} (it takes: {', '.join(takes)}); "
                         "a preset's options are for its own model: pick that model or set the options anew")
    CALIBRATORS.get(cfg.calibration)
    for name in cfg.aug:
        AUGMENTATIONS.get(name)
    for name in cfg.simulate:
        SIMULATORS.get(name)


def build_detector(cfg: DetectTrainConfig) -> Any:
    """The detector ``cfg.model`` made with ``cfg.options``; one that takes a seed gets the run's by default."""
    options = dict(cfg.options)
    cls = DETECTORS.get(cfg.model)
    if "seed" in cls.param_names():
        options.setdefault("seed", cfg.seed)
    try:
        return cls(**options)
    except TypeError as exc:  # an option the detector does not take
        raise ValueError(f"{cfg.model}: {exc}".replace("__init__() ", "")) from None


def training_codecs(data: Assembled, aug: Sequence[str]) -> dict[str, list[int] | None]:
    """The codecs (and JPEG quality ranges) the training images carried: the encode path, or each
    class's source formats, widened by the augmentations' ``codecs`` metadata."""
    from assay.detect.augment import AUGMENTATIONS
    from assay.detect.data import parse_encode
    from assay.detect.domain import LOSSLESS

    path = parse_encode(data.encode)
    if path is not None:
        found: dict[str, list[int] | None] = {"jpeg": [path[1], path[1]]} if path[0] == "jpeg" else {LOSSLESS: None}
    else:
        formats = {i.source_format for items in data.splits.values() for i in items}
        found = {("jpeg" if f == "jpeg" else LOSSLESS): None for f in formats}
    for name in aug:
        for codec, (lo, hi) in AUGMENTATIONS.meta(name).get("codecs", {}).items():
            have = found.get(codec)
            found[codec] = [min(lo, have[0]), max(hi, have[1])] if have else ([lo, hi] if codec not in found else None)
    return found


def _arrays(items: Sequence[Item]) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    return [i.image for i in items], np.array([i.label for i in items], dtype=np.int64), [i.family for i in items]


def fit_and_test(cfg: DetectTrainConfig, data: Assembled, exclude_family: str | None = None
                 ) -> tuple[Any, dict[str, Any]]:
    """Fit on train, calibrate on val, evaluate on test; ``exclude_family`` leaves one family out of train/val."""
    from assay.detect.augment import compose
    from assay.detect.evaluate import evaluate

    det = build_detector(cfg)
    det.augment = compose(cfg.aug)
    held = set(cfg.calibrate_on) | ({exclude_family} if exclude_family else set())
    families = {i.family for items in data.splits.values() for i in items if i.label == 1}
    missing = set(cfg.calibrate_on) - families
    if missing:
        raise ValueError(f"--calibrate-on names no fake family of the data: {', '.join(sorted(missing))} "
                         f"(families: {', '.join(sorted(families))})")
    train_items = balanced([i for i in data.splits["train"] if i.family not in held], cfg.seed)
    val_pool = data.splits["val"] + [i for i in data.splits["train"] if i.family in set(cfg.calibrate_on)]
    val_items = balanced([i for i in val_pool if i.family != exclude_family], cfg.seed + 1)
    if not any(i.label == 1 for i in train_items):
        raise ValueError("no fake images left to train on")
    x_val, y_val, _ = _arrays(val_items)
    if hasattr(det, "eval_set"):
        det.eval_set = (x_val, y_val)
    t0 = time.perf_counter()
    det.fit(*_arrays(train_items)[:2])
    fit_s = time.perf_counter() - t0
    det.eval_set = None
    det.calibrate(x_val, y_val, cfg.calibration)
    from assay.detect.domain import DomainProfile

    x_train, y_train, _ = _arrays(train_items)
    det.domain = DomainProfile.build([det.view(img) for img in x_train], y_train, training_codecs(data, cfg.aug),
                                     [img.shape[:2] for img in x_train])
    x_test, y_test, fam_test = _arrays(data.splits["test"])
    report = evaluate(det, x_test, y_test, fam_test, cfg.robustness, progress=True)
    report["trained_on"] = sorted({i.family for i in train_items if i.label == 1})
    report["calibrated_on"] = sorted({i.family for i in val_items if i.label == 1})
    report["calibration"] = {"method": cfg.calibration, "images": len(val_items),
                             "families_never_trained_on": sorted(set(cfg.calibrate_on))}
    report["fit_seconds"] = fit_s
    return det, report


def train(ws: Workspace, cfg: DetectTrainConfig, real: Sequence[str], fake: Sequence[str],
          name: str | None = None, *, real_dirs: Sequence[str] = (), fake_dirs: Sequence[str] = (),
          layout_dirs: Sequence[str] = ()) -> tuple[Record | None, dict[str, Any]]:
    """Train, test and register a detector; returns (record, test report). Only rank 0 saves.

    Folders (``real_dirs``, ``fake_dirs`` as ``FOLDER`` or ``NAME=FOLDER``, ``layout_dirs`` in
    the ``0_real``/``1_fake`` layout) are registered as image sets first and join ``real``/``fake``.
    """
    from assay.core.devices import is_main_process, pick_device, setup
    from assay.detect.folders import register_folders
    from assay.detect.store import save_detector

    validate_config(cfg)
    if name and any(r.name == name for r in ws.catalog.list("detectors")):
        raise ValueError(f"a detector named {name!r} already exists; choose another --name")
    more_real, more_fake = register_folders(ws, real_dirs, fake_dirs, layout_dirs)
    real, fake = [*real, *more_real], [*fake, *more_fake]
    setup(pick_device("auto"))
    data = assemble(ws, real, fake, max_per_set=cfg.max_per_set, encode=cfg.encode, simulate=cfg.simulate,
                    sim_steps=cfg.sim_steps, seed=cfg.seed, sim_stages=cfg.sim_stages)
    det, report = fit_and_test(cfg, data)
    report["data"] = data.summary()
    if not is_main_process():
        return None, report
    name = name or f"{cfg.model}-{time.strftime('%Y%m%d-%H%M%S')}"
    o = report["overall"]
    params = {"sets": data.sets, "families": sorted(report["trained_on"]), "encode": data.encode,
              "test": {k: o[k] for k in ("auc", "ap", "eer", "accuracy", "ece")},
              "test_per_family_auc": {f: v["auc"] for f, v in report["per_family"].items()}}
    rec = save_detector(ws, det, name, params, data.sets["real"] + data.sets["fake"],
                        training={"config": to_dict(cfg), "data": report["data"]}, evaluation=report)
    if data.rejects:
        ws.catalog.add_rejects(rec.id, data.rejects)
    return rec, report
