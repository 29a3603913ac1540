"""The SRGAN family (Ledig et al. 2017): an SRResNet generator (residual blocks, PixelShuffle upsampling)
fed low-resolution images (``lowres`` inputs), a VGG-style discriminator, the content losses (pixel MSE
and a perceptual loss, with VGG19 features from a local weights file) and the ``srgan`` preset.

Older runs named the generator's ``factor`` and ``blocks`` ``sr_factor`` and ``sr_blocks``; those
names still set them (``aliases`` in the registry entries)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from assay.core.errors import AssayError
from assay.forge.data import FaceBatches, to_float
from assay.forge.families import FAMILIES
from assay.forge.inputs import INPUTS, Inputs
from assay.forge.networks import DECODERS, DISCRIMINATORS, GENERATORS, at_least
from assay.forge.regularizers import REGULARIZERS, GContext, Regularizer

#: VGG19 up to relu5_4 ("VGG54" in the paper): the layers of torchvision's ``vgg19().features`` used
VGG54 = 36
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class WeightsError(AssayError, ValueError):
    """A weights file the user gave is missing or does not fit the network."""


def downsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Antialiased bicubic downsampling by ``factor`` (the low-resolution inputs of training and evaluation)."""
    return F.interpolate(x, scale_factor=1 / factor, mode="bicubic", antialias=True, align_corners=False)


def bicubic_up(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Bicubic upsampling by ``factor``, clamped to [-1, 1]: the baseline an SR model must beat."""
    return F.interpolate(x, scale_factor=factor, mode="bicubic", align_corners=False).clamp(-1, 1)


class ResidualBlock(nn.Module):
    """conv3-BN-PReLU-conv3-BN plus the input."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(ch, ch, 3, 1, 1), nn.BatchNorm2d(ch), nn.PReLU(ch),
                                  nn.Conv2d(ch, ch, 3, 1, 1), nn.BatchNorm2d(ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def pixel_shuffle_up(ch: int, factor: int) -> list[nn.Module]:
    """SRGAN's up-sampling tail: per doubling a 3x3 conv to 4 ch, PixelShuffle(2), PReLU; then a 9x9 conv
    to RGB and tanh."""
    ups: list[nn.Module] = []
    for _ in range(int(math.log2(factor))):
        ups += [nn.Conv2d(ch, ch * 4, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(ch)]
    return [*ups, nn.Conv2d(ch, 3, 9, 1, 4), nn.Tanh()]


class SRResNet(nn.Module):
    """Low-resolution image x (N x 3 x h x w in [-1, 1]) -> N x 3 x (factor h) x (factor w), tanh out."""

    def __init__(self, factor: int = 4, ch: int = 64, blocks: int = 16) -> None:
        super().__init__()
        at_least(1, ch=ch, blocks=blocks)
        if factor < 2 or factor & (factor - 1):
            raise ValueError(f"sr_factor must be a power of 2 >= 2, got {factor}")
        self.factor = factor
        self.head = nn.Sequential(nn.Conv2d(3, ch, 9, 1, 4), nn.PReLU(ch))
        self.body = nn.Sequential(*[ResidualBlock(ch) for _ in range(blocks)], nn.Conv2d(ch, ch, 3, 1, 1),
                                  nn.BatchNorm2d(ch))
        self.up = nn.Sequential(*pixel_shuffle_up(ch, factor))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        return self.up(h + self.body(h))


class PixelShuffleDecoder(nn.Module):
    """A decoder of SRResNet's shape: a 3x3 conv head with PReLU, ``blocks`` residual blocks, then
    :func:`pixel_shuffle_up` by 2^ups; fully convolutional, so any input size."""

    def __init__(self, cin: int, ups: int, ch: int = 32, blocks: int = 1) -> None:
        super().__init__()
        at_least(1, ch=ch, ups=ups)
        self.head = nn.Sequential(nn.Conv2d(cin, ch, 3, 1, 1), nn.PReLU(ch))
        self.body = nn.Sequential(*[ResidualBlock(ch) for _ in range(blocks)])
        self.up = nn.Sequential(*pixel_shuffle_up(ch, 2 ** ups))

    def forward(self, x: torch.Tensor, noise: torch.Generator | None = None) -> torch.Tensor:
        h = self.head(x)
        return self.up(h + self.body(h))


DECODERS.register("srgan", paper="Ledig et al. 2017", block="3x3 conv to 4 ch, PixelShuffle(2), PReLU")(
    PixelShuffleDecoder)


class VGGDiscriminator(nn.Module):
    """Eight 3x3 convs (64 to 512 channels times ch/64, stride 2 every second), BN from the second,
    LeakyReLU(0.2); dense 1024 and dense 1 on the pooled features. ``features`` is the conv trunk
    (the space of the default feature-matching content loss)."""

    def __init__(self, ch: int = 64) -> None:
        super().__init__()
        at_least(1, ch=ch)
        layers: list[nn.Module] = [nn.Conv2d(3, ch, 3, 1, 1), nn.LeakyReLU(0.2, True)]
        cin = ch
        for i, mult in enumerate((1, 2, 2, 4, 4, 8, 8)):
            cout, stride = ch * mult, 2 if i % 2 == 0 else 1
            layers += [nn.Conv2d(cin, cout, 3, stride, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, True)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.score = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(cin * 16, 1024),
                                   nn.LeakyReLU(0.2, True), nn.Linear(1024, 1))

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.score(self.features(x)).squeeze(1)


def vgg19_features(path: str | Path) -> nn.Module:
    """VGG19's conv layers up to relu5_4 from a local weights file (torchvision's ``vgg19`` state dict,
    ``.safetensors`` or a torch file; ``features.*`` keys suffice), frozen, taking images in [-1, 1]."""
    from torchvision.models import vgg19

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"VGG19 weights file {path} not found (give a local torchvision vgg19 state dict)")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"cannot read VGG19 weights {path}: {str(exc).splitlines()[0]}") from None
    net = vgg19(weights=None).features[:VGG54]
    wanted = {k: v for k, v in state.items() if k.startswith("features.") and int(k.split(".")[1]) < VGG54}
    try:
        net.load_state_dict({k.removeprefix("features."): v for k, v in wanted.items()})
    except RuntimeError as exc:
        raise WeightsError(f"{path} is not a VGG19 state dict: {str(exc).splitlines()[0]}") from None
    return _Normalised(net).eval().requires_grad_(False)


class _Normalised(nn.Module):
    """Maps [-1, 1] images to ImageNet statistics before the wrapped network."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN)[None, :, None, None])
        self.register_buffer("std", torch.tensor(IMAGENET_STD)[None, :, None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(((x + 1) / 2 - self.mean.to(x.dtype)) / self.std.to(x.dtype))


GENERATORS.register("srresnet", aliases={"sr_factor": "factor", "sr_blocks": "blocks"})(SRResNet)
DISCRIMINATORS.register("vgg")(VGGDiscriminator)


@INPUTS.register("lowres", summary="the real batch downsampled by the generator's `factor` (antialiased bicubic)",
                 aliases={"sr_factor": "factor"})
class LowRes:
    def __init__(self, factor: int = 4) -> None:
        self.factor = factor

    def __call__(self, real: torch.Tensor, cond: torch.Tensor | None, gen: torch.Generator) -> Inputs:
        return {"x": downsample(real, self.factor)}

    def fixed(self, n: int, seed: int, data: FaceBatches) -> Inputs:
        """The first ``n`` training images, downsampled."""
        images, _ = data.batch(torch.arange(min(n, len(data))))
        return {"x": downsample(to_float(images), self.factor)}


@REGULARIZERS.register("pixel")
class PixelLoss(Regularizer):
    """Content loss: mean squared error between the generated and the real image (super-resolution)."""

    key, side = "pixel_weight", "G"

    def g_penalty(self, ctx: GContext) -> torch.Tensor:
        return self.strength * F.mse_loss(ctx.fake.float(), ctx.real.float())


@REGULARIZERS.register("perceptual")
class PerceptualLoss(Regularizer):
    """Content loss: mean squared error between features of the generated and the real image, in VGG19's
    space (relu5_4, Ledig 2017) when ``vgg_weights`` names a local file, else in the discriminator's."""

    key, side = "perceptual_weight", "G"

    def __init__(self, strength: float, every: int = 1, vgg_weights: str = "") -> None:
        super().__init__(strength, every)
        self.vgg = vgg19_features(vgg_weights) if vgg_weights else None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> "Regularizer":
        return cls(float(settings[cls.key]), vgg_weights=str(settings.get("vgg_weights", "")))

    def g_penalty(self, ctx: GContext) -> torch.Tensor:
        features = ctx.d_net.features if self.vgg is None else self.vgg.to(ctx.fake.device)
        with torch.no_grad():
            target = features(ctx.real)
        return self.strength * F.mse_loss(features(ctx.fake).float(), target.float())


@FAMILIES.register("srgan", paper="Ledig et al. 2017",
                   summary="x4 face super-resolution: SRResNet G fed size/4 px, VGG-style D, pixel MSE + feature "
                           "loss (D features; VGG19 with vgg_weights=FILE) + 1e-3 adversarial")
def srgan() -> dict[str, Any]:
    return {"g.name": "srresnet", "d.name": "vgg", "g.inputs": "lowres", "g.ch": 64, "d.ch": 64, "g.factor": 4,
            "g.blocks": 16, "loss": "nonsaturating", "optimizer": "adam", "lr_g": 1e-4, "lr_d": 1e-4, "beta1": 0.9,
            "beta2": 0.999, "adv_weight": 1e-3, "pixel_weight": 1.0, "perceptual_weight": 0.006}
