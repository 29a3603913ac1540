"""`assay detect import`: a published checkpoint from a local file into the detector registry.

A format names the detector it becomes and where its weights sit in the file:

- ``cnndetection``: a torchvision ResNet-50 state dict with ``fc`` [1, 2048] (``conv1.weight``,
  ``layer1.0.conv1.weight``, ..., ``fc.weight``), bare or wrapped as ``{"model": ...}``;
- ``npr``: NPR's ResNet (``conv1.weight`` [64, 3, 3, 3], ``layer1.*``, ``layer2.*``, ``fc1.weight`` [1, 512]);
- ``univfd``: the linear head ``fc.weight`` [1, 768] and ``fc.bias`` [1] (or ``weight`` / ``bias``,
  as the authors' ``fc_weights.pth``), over the CLIP ViT-L/14 of a local OpenCLIP file (``clip``).

The file is read without executing code (safetensors, or ``torch.load(weights_only=True)``);
its keys must be exactly the format's, with the same shapes (a ``module.`` prefix from
DataParallel and missing BatchNorm ``num_batches_tracked`` counters are tolerated): anything
else is refused with one line naming the missing, unexpected or misshapen keys.

The imported detector is calibrated on labelled folders of the user's (``real_dirs`` and
``fake_dirs``, both needed) or saved uncalibrated and marked so (``calibrated: false`` in its
catalog row: its probability is the checkpoint's own sigmoid). Its training domain is the
published recipe's (image sizes and codecs of the authors' training data), so a scan marks
inputs far from it "uncertain", as for every detector. Nothing is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from assay.core.catalog import Record
from assay.core.errors import InputError, ModelError
from assay.core.fileio import sha256_file
from assay.core.registry import Registry
from assay.core.workspace import Workspace
from assay.detect.base import DETECTORS
from assay.detect.domain import DomainProfile

#: keys a checkpoint may lack (BatchNorm's step counter, absent from files saved by old torch)
OPTIONAL_SUFFIXES = ("num_batches_tracked",)
#: wrappers published training scripts put around the state dict
WRAPPERS = ("model", "state_dict", "net")


@dataclass(frozen=True)
class ImportFormat:
    """A published checkpoint layout: the detector it becomes, and how to read its state dict."""

    detector: str
    #: the file's raw tensors -> the state dict of the detector's published module
    select: Callable[[dict[str, Any]], dict[str, Any]]


IMPORT_FORMATS: Registry[ImportFormat] = Registry("checkpoint format")


def _as_is(state: dict[str, Any]) -> dict[str, Any]:
    return state


def _linear_head(state: dict[str, Any]) -> dict[str, Any]:
    """UnivFD's head: ``weight``/``bias`` (``model.fc.load_state_dict``) or ``fc.weight``/``fc.bias``."""
    return {k.removeprefix("fc."): v for k, v in state.items()}


IMPORT_FORMATS.register("cnndetection")(ImportFormat("cnndetection", _as_is))
IMPORT_FORMATS.register("npr")(ImportFormat("npr-resnet", _as_is))
IMPORT_FORMATS.register("univfd")(ImportFormat("univfd", _linear_head))


def read_state_dict(file: Path) -> dict[str, Any]:
    """The tensors of a checkpoint file (safetensors or a torch pickle read with ``weights_only``),
    unwrapped from ``{"model": ...}`` and stripped of a ``module.`` prefix."""
    import torch

    if not file.is_file():
        raise InputError(f"checkpoint file not found: {file}")
    try:
        if file.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(file))
        else:
            state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file: one line, whatever the reader raised
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{file}: not a readable checkpoint ({first})") from None
    while isinstance(state, dict) and not any(torch.is_tensor(v) for v in state.values()):
        inner = next((state[k] for k in WRAPPERS if isinstance(state.get(k), dict)), None)
        if inner is None:
            break
        state = inner
    if not isinstance(state, dict) or not any(torch.is_tensor(v) for v in state.values()):
        raise InputError(f"{file}: holds no state dict of tensors")
    tensors = {k: v for k, v in state.items() if torch.is_tensor(v)}
    if tensors and all(k.startswith("module.") for k in tensors):
        tensors = {k.removeprefix("module."): v for k, v in tensors.items()}
    return tensors


def _listed(keys: Sequence[str], limit: int = 5) -> str:
    keys = sorted(keys)
    more = f", ... (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def check_keys(state: dict[str, Any], expected: dict[str, Any], what: str) -> None:
    """Raise one line naming the missing, unexpected and misshapen keys, if any."""
    missing = [k for k in expected if k not in state and not k.endswith(OPTIONAL_SUFFIXES)]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k} {list(state[k].shape)} (expected {list(expected[k].shape)})"
              for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    problems = ([f"missing {len(missing)} key(s): {_listed(missing)}"] if missing else []) + \
        ([f"unexpected {len(unexpected)} key(s): {_listed(unexpected)}"] if unexpected else []) + \
        ([f"wrong shape: {_listed(shapes, 3)}"] if shapes else [])
    if problems:
        raise ModelError(f"not a {what} checkpoint: " + "; ".join(problems))


def build_imported(fmt: str, file: str | Path, options: dict[str, Any] | None = None) -> Any:
    """The detector of format ``fmt`` with the checkpoint's weights (not calibrated, no domain yet)."""
    spec = IMPORT_FORMATS.get(fmt)
    file = Path(file)
    state = spec.select(read_state_dict(file))
    cls = DETECTORS.get(spec.detector)
    if spec.detector == "univfd" and "clip" not in (options or {}):
        raise InputError("univfd needs the CLIP backbone: give --clip FILE (a local OpenCLIP ViT-L/14 weights file)")
    try:
        det = cls(**(options or {}))
    except TypeError as exc:  # an option the detector does not take
        raise InputError(f"{spec.detector}: {exc}".replace("__init__() ", "")) from None
    check_keys(state, det.published_module().state_dict(), f"{fmt} ({file.name})")
    det.load_published(state)
    det.domain = DomainProfile(tuple(cls.trained_sizes), {}, dict(cls.trained_codecs))
    return det


def import_checkpoint(ws: Workspace, fmt: str, file: str | Path, *, options: dict[str, Any] | None = None,
                      name: str | None = None, real_dirs: Sequence[Path] = (), fake_dirs: Sequence[Path] = (),
                      calibration: str = "temperature", max_per_folder: int | None = None,
                      seed: int = 0) -> tuple[Record, dict[str, Any]]:
    """Import a published checkpoint as a workspace detector; returns (record, import report)."""
    from assay.detect.folders import load_folders
    from assay.detect.store import save_detector

    if bool(real_dirs) != bool(fake_dirs):
        raise InputError("calibration needs both classes: give --calibrate-real and --calibrate-fake folders, "
                         "or neither (the detector is then saved uncalibrated)")
    if name and any(r.name == name for r in ws.catalog.list("detectors")):
        raise InputError(f"a detector named {name!r} already exists; choose another --name")
    file = Path(file)
    det = build_imported(fmt, file, options)
    source = {"format": fmt, "file": str(file.resolve()), "sha256": sha256_file(file)}
    if getattr(det, "clip", None):
        source["clip"] = {"file": str(Path(det.clip).resolve()), "arch": det.clip_arch}
    report: dict[str, Any] = {"imported": source, "calibrated": False}
    if real_dirs:
        items, rejects = load_folders(real_dirs, fake_dirs, (), "none", max_per_folder, seed)
        labels = [i.label for i in items]
        if len(set(labels)) < 2:
            raise InputError("the calibration folders hold images of one class only")
        import numpy as np

        cal = det.calibrate([i.image for i in items], np.array(labels), calibration)
        report.update(calibrated=True, calibration={
            "method": cal.name, "real_dirs": [str(d) for d in real_dirs], "fake_dirs": [str(d) for d in fake_dirs],
            "n_real": labels.count(0), "n_synthetic": labels.count(1), "rejects": len(rejects), **cal.state()})
    name = name or f"{fmt}-{source['sha256'][:8]}"
    params = {"imported": source, "calibrated": report["calibrated"], "families": [],
              "calibration": report.get("calibration", {}).get("method", "uncalibrated")}
    rec = save_detector(ws, det, name, params, (), training=report)
    return rec, report
