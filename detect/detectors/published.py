"""Published detectors whose checkpoints ``assay detect import`` reads: cnndetection, npr-resnet, univfd.

Each keeps its authors' network and preprocessing (:mod:`detect.published_nets`). At test
time CNNDetection and NPR see the whole image at its native size (``crop=None``, the
authors' no-resize test) or, when asked, ``crop``-pixel tiles averaged over a grid of at most
``max_tiles``; UnivFD's ViT takes 224 x 224 (its centre crop, ``max_tiles=1``, by default).
Images smaller than a crop are reflect-padded, never enlarged. ``fit`` fine-tunes on random
crops with the suite's one loop (UnivFD: the linear head only, the CLIP tower frozen).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from assay.detect.base import DETECTORS, Images
from assay.detect.detectors.torchdet import TorchDetector, device


class PublishedDetector(TorchDetector):
    """A published network wrapped in its normalisation; ``load_published`` takes the authors' state dict."""

    #: the published recipe's training domain: short sides seen, codecs (see detect.domain)
    trained_sizes: ClassVar[tuple[int, int]]
    trained_codecs: ClassVar[dict[str, list[int] | None]]

    def __init__(self, crop: int | None = None, tile: int = 224, max_tiles: int = 1, **kwargs: Any) -> None:
        self.crop = crop
        super().__init__(tile=crop or tile, max_tiles=max_tiles, **kwargs)

    def published_module(self) -> Any:
        """The module whose state dict the authors' checkpoint holds."""
        return self.model.net

    def load_published(self, state: dict[str, Any]) -> None:
        self.published_module().load_state_dict(state, strict=False)
        self.model.eval()

    def decision_function(self, images: Images) -> np.ndarray:
        if self.crop is not None:
            return super().decision_function(images)
        dev = device()
        # native sizes differ: one image per forward pass
        return np.array([float(self.forward_tiles([img], dev)[0]) for img in images])


@DETECTORS.register("cnndetection")
class CNNDetectionDetector(PublishedDetector):
    """Wang et al. 2020: ResNet-50 on ImageNet-normalised pixels (ProGAN, 256 px, blur + JPEG augmentation)."""

    name = "cnndetection"
    trained_sizes = (256, 256)
    trained_codecs = {"lossless": None, "jpeg": [30, 100]}

    def build_module(self) -> Any:
        from assay.detect.published_nets import (
            IMAGENET,
            Normalised,
            cnndetection_resnet,
        )

        return Normalised(cnndetection_resnet(), IMAGENET)


@DETECTORS.register("npr-resnet")
class NPRResNetDetector(PublishedDetector):
    """Tan et al. 2024: the NPR residual into a two-stage ResNet-50 (ProGAN, 256 px, no JPEG augmentation)."""

    name = "npr-resnet"
    trained_sizes = (256, 256)
    trained_codecs = {"lossless": None}

    def build_module(self) -> Any:
        from assay.detect.published_nets import IMAGENET, Normalised, NPRResNet

        return Normalised(NPRResNet(), IMAGENET)


@DETECTORS.register("univfd")
class UnivFDDetector(PublishedDetector):
    """Ojha et al. 2023: a linear head over CLIP ViT-L/14 image features (ProGAN, 224 px centre crops).

    ``clip`` is the local OpenCLIP weights file and ``clip_arch`` its architecture (an OpenCLIP
    model name or a model config ``.json``); the detector folder keeps only the head.
    """

    name = "univfd"
    trained_sizes = (256, 256)
    trained_codecs = {"lossless": None}
    HEAD = "head.safetensors"

    def __init__(self, clip: str = "", clip_arch: str = "ViT-L-14", crop: int | None = 224, **kwargs: Any) -> None:
        if not clip:
            raise ValueError("univfd needs the CLIP backbone: clip=PATH of a local OpenCLIP ViT-L/14 weights file")
        if crop is None:
            raise ValueError("univfd's ViT takes fixed-size crops: crop must be set (224 for ViT-L/14)")
        self.clip, self.clip_arch = str(clip), clip_arch
        super().__init__(crop=crop, **kwargs)

    def build_module(self) -> Any:
        from assay.detect.published_nets import (
            CLIP,
            Normalised,
            UnivFDNet,
            open_clip_visual,
        )

        visual = open_clip_visual(self.clip_arch, self.clip)
        return Normalised(UnivFDNet(visual, int(getattr(visual, "output_dim", 768))), CLIP)

    def published_module(self) -> Any:
        return self.model.net.fc

    def save_weights(self, folder: Path) -> None:
        from safetensors.torch import save_model

        from assay.core.fileio import atomic_path

        with atomic_path(folder / self.HEAD) as tmp:
            save_model(self.model.net.fc.cpu(), str(tmp))

    def load_weights(self, folder: Path) -> None:
        from safetensors.torch import load_model

        load_model(self.model.net.fc, str(folder / self.HEAD))
        self.model.eval()
