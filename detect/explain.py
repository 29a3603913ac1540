"""``scan --explain``: why a region got its score, as images. One explainer per kind of detector.

- ``gradcam``: for torch detectors exposing ``model``, ``gradcam_layer()`` and ``to_tensor(tiles)``
  whose convolutions see image positions (cnn, npr; not dct-cnn, which sees DCT coefficients):
  Grad-CAM of the synthetic logit over the crop, overlaid on it.
- ``spectrum``: for detectors exposing ``spectrum(image)`` and ``real_mean_spectrum`` (the
  spectral detector): the crop's azimuthal spectrum plotted against the real-class mean.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from assay.core.imageio import save
from assay.core.registry import Registry
from assay.detect.base import Detector
from assay.detect.regions import Region

#: name -> function(detector, region) -> RGB uint8 image; meta ``applies``: predicate on a detector
EXPLAINERS: Registry[Callable[[Any, Region], np.ndarray]] = Registry("explainer")


def explainer_for(detector: Detector) -> str | None:
    """The first explainer that can explain ``detector``, or None."""
    for name in EXPLAINERS.names():
        if EXPLAINERS.meta(name)["applies"](detector):
            return name
    return None


def explain_regions(detector: Detector, regions: Sequence[Region], out_dir: Path, stem: str) -> list[str]:
    """Write one explanation PNG per region as ``<stem>_<k>-<kind>.png``; returns their paths."""
    name = explainer_for(detector)
    if name is None:
        return []
    explain = EXPLAINERS.get(name)
    paths = []
    for k, region in enumerate(regions):
        path = out_dir / f"{stem}_{k}-{region.kind}-{name}.png"
        save(explain(detector, region), path)
        paths.append(str(path))
    return paths


def _pad_reflect(image: np.ndarray, side: int) -> np.ndarray:
    """Pad (reflected, at the bottom and right) to at least ``side`` on both axes."""
    import cv2

    while image.shape[0] < side or image.shape[1] < side:
        h, w = image.shape[:2]
        if min(h, w) < 2:
            return cv2.copyMakeBorder(image, 0, max(0, side - h), 0, max(0, side - w), cv2.BORDER_REPLICATE)
        ph, pw = min(max(0, side - h), h - 1), min(max(0, side - w), w - 1)
        image = cv2.copyMakeBorder(image, 0, ph, 0, pw, cv2.BORDER_REFLECT_101)
    return image


def _is_image_space_cnn(detector: Any) -> bool:
    """A torch detector whose convolutions see image positions (``frequency_domain`` ones see a
    frequency map: a Grad-CAM of them would not point at a place in the face)."""
    return (all(hasattr(detector, a) for a in ("model", "gradcam_layer", "to_tensor"))
            and not getattr(detector, "frequency_domain", False))


def gradcam_map(detector: Any, pixels: np.ndarray) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017) of the synthetic logit at the detector's last conv layer.

    The network sees the whole crop at native resolution (padded up to its tile size, never
    resized); returns an H x W map in [0, 1] over ``pixels``, high where the evidence for
    "synthetic" is.
    """
    import cv2
    import torch

    h, w = pixels.shape[:2]
    x = detector.to_tensor([_pad_reflect(pixels, int(getattr(detector, "tile", 0) or 0))])
    model, layer = detector.model, detector.gradcam_layer()
    captured: dict[str, Any] = {}
    hook = layer.register_forward_hook(lambda _m, _i, out: captured.__setitem__("act", out))
    try:
        model.eval()
        with torch.enable_grad():
            x.requires_grad_(True)
            out = model(x).float().reshape(x.shape[0], -1)
            logit = out[0, 1] - out[0, 0] if out.shape[1] == 2 else out[0, 0]
            act = captured["act"]
            grad = torch.autograd.grad(logit, act)[0]
    finally:
        hook.remove()
    weights = grad.float().mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * act.float()).sum(dim=1))[0].detach().cpu().numpy()
    cam = cam / cam.max() if cam.max() > 0 else cam
    return cv2.resize(cam.astype(np.float32), (x.shape[3], x.shape[2]), interpolation=cv2.INTER_LINEAR)[:h, :w]


@EXPLAINERS.register("gradcam", applies=_is_image_space_cnn)
def gradcam(detector: Any, region: Region) -> np.ndarray:
    """The Grad-CAM map blended over the crop (jet colours: red pushed towards synthetic)."""
    import cv2

    cam = gradcam_map(detector, region.pixels)
    heat = cv2.cvtColor(cv2.applyColorMap(np.uint8(255 * cam), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    return np.uint8(np.clip(0.55 * region.pixels + 0.45 * heat, 0, 255))


def _has_spectrum(detector: Any) -> bool:
    return hasattr(detector, "spectrum") and getattr(detector, "real_mean_spectrum", None) is not None


@EXPLAINERS.register("spectrum", applies=_has_spectrum)
def spectrum_plot(detector: Any, region: Region) -> np.ndarray:
    """The crop (left) and its azimuthal log spectrum (red) against the real-class mean (green)
    and, where known, the synthetic-class mean (orange), frequency from 0 to the corner."""
    import cv2

    curves = [("real mean", np.asarray(detector.real_mean_spectrum, dtype=np.float64), (40, 160, 40))]
    fake = getattr(detector, "fake_mean_spectrum", None)
    if fake is not None:
        curves.append(("synthetic mean", np.asarray(fake, dtype=np.float64), (230, 140, 20)))
    curves.append(("this region", np.asarray(detector.spectrum(detector.view(region.pixels)), dtype=np.float64), (210, 30, 30)))
    side, pw, ph, pad = 256, 420, 256, 36
    canvas = np.full((side + 2 * pad + 30, side + pw + 3 * pad, 3), 255, dtype=np.uint8)
    thumb = region.pixels
    scale = min(side / thumb.shape[0], side / thumb.shape[1], 1.0)  # shrink to fit, never enlarge
    if scale < 1.0:
        thumb = cv2.resize(thumb, (max(1, int(thumb.shape[1] * scale)), max(1, int(thumb.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
    canvas[pad:pad + thumb.shape[0], pad:pad + thumb.shape[1]] = thumb
    x0, y0 = side + 2 * pad, pad
    lo = min(c.min() for _, c, _ in curves)
    hi = max(c.max() for _, c, _ in curves)
    span = hi - lo if hi > lo else 1.0
    cv2.rectangle(canvas, (x0, y0), (x0 + pw, y0 + ph), (0, 0, 0), 1)
    for label, curve, colour in curves:
        xs = x0 + np.linspace(0, pw, len(curve))
        ys = y0 + ph - (curve - lo) / span * ph
        pts = np.stack([xs, ys], axis=1).round().astype(np.int32)
        cv2.polylines(canvas, [pts], False, colour, 2, cv2.LINE_AA)
    for i, (label, _, colour) in enumerate(curves):
        cv2.putText(canvas, label, (x0 + 140 * i, y0 + ph + 48), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)
    cv2.putText(canvas, "log power (centred) vs frequency 0 .. corner", (x0, y0 + ph + 22),
                cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas
