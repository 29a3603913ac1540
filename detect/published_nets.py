"""Torch modules of published detectors, with the parameter names of their authors' checkpoints.

- CNNDetection (Wang et al., CVPR 2020): torchvision's ResNet-50 with a one-logit ``fc``.
- NPR (Tan et al., CVPR 2024): a ResNet-50 cut after ``layer2`` whose stem is a 3 x 3 stride-2
  convolution, fed the neighbouring-pixel residual x - up(down(x)) (nearest, factor 0.5)
  scaled by 2/3, one logit from ``fc1`` (512 -> 1).
- UnivFD (Ojha et al., CVPR 2023): a linear ``fc`` (768 -> 1) over the image embedding of a
  frozen CLIP ViT-L/14 (OpenCLIP, from a local file).

Every module here takes images in [-1, 1] (the suite's tensor convention) and applies its
authors' normalisation itself (:class:`Normalised`).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
CLIP = ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))


class Normalised(nn.Module):
    """``net`` applied to (x01 - mean) / std, where x01 = (x + 1) / 2 for x in [-1, 1]."""

    def __init__(self, net: nn.Module, stats: tuple[tuple[float, ...], tuple[float, ...]]) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(stats[0]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(stats[1]).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(((x + 1.0) / 2.0 - self.mean.to(x.dtype)) / self.std.to(x.dtype))


def cnndetection_resnet() -> nn.Module:
    """torchvision ResNet-50, ``fc`` 2048 -> 1."""
    from torchvision.models import resnet50

    return resnet50(weights=None, num_classes=1)


def nearest_residual(x: torch.Tensor) -> torch.Tensor:
    """x - up(down(x)) with nearest interpolation at factor 0.5 (even height and width)."""
    down = F.interpolate(x, scale_factor=0.5, mode="nearest", recompute_scale_factor=True)
    return x - F.interpolate(down, scale_factor=2.0, mode="nearest", recompute_scale_factor=True)


def bottleneck_stage(cin: int, planes: int, blocks: int, stride: int) -> nn.Sequential:
    """A ResNet-50 stage of torchvision Bottlenecks (the same parameter names as ``resnet50().layerN``)."""
    from torchvision.models.resnet import Bottleneck, conv1x1

    out = planes * Bottleneck.expansion
    down = nn.Sequential(conv1x1(cin, out, stride), nn.BatchNorm2d(out)) if stride != 1 or cin != out else None
    return nn.Sequential(Bottleneck(cin, planes, stride, down), *(Bottleneck(out, planes) for _ in range(blocks - 1)))


class NPRResNet(nn.Module):
    """NPR's network: stem, ResNet-50 ``layer1`` and ``layer2`` (Bottleneck x 3, x 4), pool, ``fc1``."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=2, padding=1, bias=False)
        self.bn1, self.relu = nn.BatchNorm2d(64), nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1, self.layer2 = bottleneck_stage(64, 64, 3, 1), bottleneck_stage(256, 128, 4, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Linear(512, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, : x.shape[2] // 2 * 2, : x.shape[3] // 2 * 2]
        h = self.maxpool(self.relu(self.bn1(self.conv1(nearest_residual(x) * (2.0 / 3.0)))))
        h = self.avgpool(self.layer2(self.layer1(h)))
        return self.fc1(torch.flatten(h, 1))


def open_clip_visual(arch: str, file: str) -> nn.Module:
    """The image tower of an OpenCLIP model built as ``arch`` (a model name, or a JSON model
    config file) with the weights of the local ``file``; nothing is downloaded."""
    from assay.core.errors import MissingExtraError, ModelError

    try:
        import open_clip
    except ImportError:
        raise MissingExtraError("univfd needs OpenCLIP (open_clip_torch), which is not installed: "
                                "install assay[univfd]") from None
    if not Path(file).is_file():
        raise ModelError(f"CLIP weights file not found: {file}")
    if arch.endswith(".json"):
        if not Path(arch).is_file():
            raise ModelError(f"OpenCLIP model config not found: {arch}")
        open_clip.add_model_config(arch)
        arch = Path(arch).stem
    if arch not in open_clip.list_models():
        raise ModelError(f"unknown OpenCLIP architecture {arch!r} (e.g. ViT-L-14, or a model config .json)")
    try:
        model = open_clip.create_model(arch, pretrained=str(file), device="cpu")
    except (RuntimeError, KeyError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{file}: not an OpenCLIP {arch} checkpoint ({first})") from None
    return model.visual


class UnivFDNet(nn.Module):
    """A frozen CLIP image tower and the linear head ``fc`` over its (unnormalised) embedding."""

    def __init__(self, visual: nn.Module, dim: int = 768) -> None:
        super().__init__()
        self.visual = visual.requires_grad_(False).eval()
        self.fc = nn.Linear(dim, 1)

    def train(self, mode: bool = True) -> "UnivFDNet":
        super().train(mode)
        self.visual.eval()  # the backbone stays frozen, as UnivFD trains only the head
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.visual(x).float())
