"""The StyleGAN family: StyleGAN (Karras et al. 2019) and StyleGAN 2 (Karras et al. 2020) networks, what
their generator is fed (``style`` inputs: a second latent for style mixing, and the noise generator),
path length regularisation, and the ``stylegan`` and ``stylegan2`` presets.

Mapping network (fully connected, learning-rate multiplier 0.01) from z to w with a tracked
average w; synthesis from a learned constant with per-layer noise of learned strength; every
layer uses the equalised learning rate. Style injection is a switch (``STYLES``: AdaIN for
StyleGAN 1, weight modulation/demodulation for StyleGAN 2), and so is the way the per-resolution
RGB outputs combine (``RGB_OUTPUTS``: progressive or skip). Both generator and the progressive
discriminator take a level of detail ``lod`` (0: full resolution; 1: half, ...; fractions fade
the next resolution in), set by the run's resolution schedule (``forge.schedule``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from assay.core.registry import Registry
from assay.forge.data import FaceBatches
from assay.forge.families import FAMILIES
from assay.forge.inputs import INPUTS, Inputs, Latent, normal
from assay.forge.layers import MinibatchStdDev
from assay.forge.networks import (
    DECODERS,
    DISCRIMINATORS,
    GENERATORS,
    LatentGenerator,
    at_least,
    mix_styles,
)
from assay.forge.regularizers import REGULARIZERS, GContext, Regularizer

SQRT2 = math.sqrt(2.0)


def _positive_width(width: float) -> None:
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")


def channels(res: int, width: float) -> int:
    """Feature maps at a resolution: 16384 / res capped at 512 (the StyleGAN 2 rule), times ``width``."""
    return max(4, int(min(16384 // res, 512) * width))


def levels(size: int) -> list[int]:
    """Resolutions from 4 up to ``size``."""
    return [2 ** i for i in range(2, int(math.log2(size)) + 1)]


class EqualLinear(nn.Module):
    """Linear layer with the equalised learning rate: weights N(0, 1) / lr_mul, scaled at run time."""

    def __init__(self, cin: int, cout: int, bias_init: float = 0.0, lr_mul: float = 1.0, act: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin) / lr_mul)
        self.bias = nn.Parameter(torch.full((cout,), float(bias_init) / lr_mul))
        self.w_gain, self.b_gain, self.act = lr_mul / math.sqrt(cin), lr_mul, act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.w_gain, self.bias * self.b_gain)
        return F.leaky_relu(x, 0.2) * SQRT2 if self.act else x


class EqualConv2d(nn.Module):
    """Convolution with the equalised learning rate (He-constant scaling at run time), 'same' padding."""

    def __init__(self, cin: int, cout: int, kernel: int, bias: bool = True, act: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.gain, self.act = 1 / math.sqrt(cin * kernel * kernel), act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.weight * self.gain, self.bias, padding=self.weight.shape[-1] // 2)
        return F.leaky_relu(x, 0.2) * SQRT2 if self.act else x


class Mapping(nn.Module):
    """z -> w: pixel-normalised z through ``layers`` fully connected LeakyReLU layers (lr multiplier 0.01)."""

    def __init__(self, z_dim: int, w_dim: int, layers: int = 8, lr_mul: float = 0.01) -> None:
        super().__init__()
        self.net = nn.Sequential(*[EqualLinear(z_dim if i == 0 else w_dim, w_dim, lr_mul=lr_mul, act=True)
                                   for i in range(layers)])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z * torch.rsqrt(z.pow(2).mean(1, keepdim=True) + 1e-8))


class Noise(nn.Module):
    """Per-pixel noise times a learned per-channel strength (initially 0). Training draws fresh noise
    from the step's generator; without one (sampling) a fixed noise map keeps outputs reproducible."""

    def __init__(self, ch: int, res: int) -> None:
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(1, ch, 1, 1))
        self.register_buffer("fixed", torch.randn(1, 1, res, res))

    def forward(self, x: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
        if gen is None:
            noise = self.fixed
        else:
            noise = torch.randn(x.shape[0], 1, *x.shape[2:], generator=gen, device=gen.device).to(x.device)
        return x + noise.to(x.dtype) * self.strength.to(x.dtype)


def modulated_conv(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True) -> torch.Tensor:
    """StyleGAN 2 convolution: per-sample weights scaled by ``styles`` (N x I) on the input channels and, with
    ``demodulate``, rescaled to unit L2 norm per output channel so unit-variance inputs give unit-variance outputs."""
    n, cin, h, w = x.shape
    cout, k = weight.shape[0], weight.shape[-1]
    wgt = weight[None] * styles[:, None, :, None, None].to(weight.dtype)
    if demodulate:
        wgt = wgt * torch.rsqrt(wgt.pow(2).sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
    out = F.conv2d(x.reshape(1, n * cin, h, w), wgt.reshape(n * cout, cin, k, k).to(x.dtype), padding=k // 2, groups=n)
    return out.reshape(n, cout, *out.shape[2:])


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class AdaINConv(nn.Module):
    """StyleGAN 1 layer: (upsample,) 3x3 conv, noise, bias, LeakyReLU, instance norm, then the style's
    per-channel scale and bias (adaptive instance normalisation)."""

    def __init__(self, cin: int, cout: int, w_dim: int, res: int, up: bool = False) -> None:
        super().__init__()
        self.up = up
        self.conv = EqualConv2d(cin, cout, 3, bias=False)
        self.noise = Noise(cout, res)
        self.bias = nn.Parameter(torch.zeros(cout))
        self.style = EqualLinear(w_dim, 2 * cout, bias_init=0.0)

    def forward(self, x: torch.Tensor, w: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
        x = self.conv(_up(x) if self.up else x)
        x = F.leaky_relu(self.noise(x, gen) + self.bias.to(x.dtype)[None, :, None, None], 0.2) * SQRT2
        x = F.instance_norm(x.float()).to(x.dtype)
        scale, shift = self.style(w).to(x.dtype)[:, :, None, None].chunk(2, dim=1)
        return x * (1 + scale) + shift


class AdaINToRGB(nn.Module):
    """StyleGAN 1 output: a 1x1 convolution to RGB."""

    def __init__(self, cin: int, w_dim: int) -> None:
        super().__init__()
        self.conv = EqualConv2d(cin, 3, 1)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class ModulatedConv(nn.Module):
    """StyleGAN 2 layer: (upsample,) modulated and demodulated 3x3 conv, noise, bias, LeakyReLU."""

    def __init__(self, cin: int, cout: int, w_dim: int, res: int, up: bool = False) -> None:
        super().__init__()
        self.up = up
        self.weight = nn.Parameter(torch.randn(cout, cin, 3, 3))
        self.style = EqualLinear(w_dim, cin, bias_init=1.0)
        self.noise = Noise(cout, res)
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x: torch.Tensor, w: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
        x = modulated_conv(_up(x) if self.up else x, self.weight, self.style(w))
        return F.leaky_relu(self.noise(x, gen) + self.bias.to(x.dtype)[None, :, None, None], 0.2) * SQRT2


class ModulatedToRGB(nn.Module):
    """StyleGAN 2 output: a modulated 1x1 convolution to RGB without demodulation."""

    def __init__(self, cin: int, w_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(3, cin, 1, 1))
        self.style = EqualLinear(w_dim, cin, bias_init=1.0)
        self.bias = nn.Parameter(torch.zeros(3))
        self.gain = 1 / math.sqrt(cin)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x = modulated_conv(x, self.weight, self.style(w) * self.gain, demodulate=False)
        return x + self.bias.to(x.dtype)[None, :, None, None]


@dataclass(frozen=True)
class Style:
    """How styles enter the synthesis network: its conv layer and its RGB output layer."""

    conv: Callable[..., nn.Module]
    to_rgb: Callable[[int, int], nn.Module]


STYLES: Registry[Style] = Registry("style injection")
STYLES.register("adain", summary="StyleGAN 1: adaptive instance normalisation")(Style(AdaINConv, AdaINToRGB))
STYLES.register("modulated", summary="StyleGAN 2: weight modulation and demodulation")(
    Style(ModulatedConv, ModulatedToRGB))

#: combine the image so far (previous resolution) with this resolution's RGB output ``rgb``;
#: ``t`` in [0, 1] is how far this resolution is still faded out (1: not yet in)
Combine = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]
RGB_OUTPUTS: Registry[Combine] = Registry("generator output")


@RGB_OUTPUTS.register("progressive", summary="StyleGAN 1 / ProGAN: the last resolution's RGB, faded in from "
                                              "the previous one upsampled")
def progressive(img: torch.Tensor, rgb: torch.Tensor, t: float) -> torch.Tensor:
    return torch.lerp(rgb, F.interpolate(img, scale_factor=2, mode="nearest").to(rgb.dtype), t)


@RGB_OUTPUTS.register("skip", summary="StyleGAN 2: the sum of every resolution's RGB output, upsampled")
def skip(img: torch.Tensor, rgb: torch.Tensor, t: float) -> torch.Tensor:
    return _up(img).to(rgb.dtype) + rgb * (1.0 - t)


def _fade(lod: float, level_lod: int) -> float:
    """How far a resolution whose own level of detail is ``level_lod`` is faded out at ``lod``."""
    return min(1.0, max(0.0, lod - level_lod))


class Synthesis(nn.Module):
    """A learned 4x4 constant, then two styled conv layers per resolution (the first of each upsamples),
    an RGB output per resolution, combined by ``arch``. Takes N x num_ws x w_dim styles."""

    def __init__(self, size: int, w_dim: int, width: float, style: str, arch: str) -> None:
        super().__init__()
        kind, self.combine = STYLES.get(style), RGB_OUTPUTS.get(arch)
        res = levels(size)
        self.const = nn.Parameter(torch.randn(1, channels(4, width), 4, 4))
        self.convs, self.rgbs = nn.ModuleList(), nn.ModuleList()
        cin = channels(4, width)
        for i, r in enumerate(res):
            ch = channels(r, width)
            self.convs.append(nn.ModuleList([kind.conv(cin, ch, w_dim, r, up=i > 0), kind.conv(ch, ch, w_dim, r)]))
            self.rgbs.append(kind.to_rgb(ch, w_dim))
            cin = ch
        self.num_ws = 2 * len(res)
        self.lod = 0.0

    def forward(self, ws: torch.Tensor, noise: torch.Generator | None = None) -> torch.Tensor:
        x = self.const.expand(ws.shape[0], -1, -1, -1).to(ws.dtype)
        img: torch.Tensor | None = None
        top = len(self.convs) - 1
        for i, ((conv0, conv1), to_rgb) in enumerate(zip(self.convs, self.rgbs)):
            x = conv1(conv0(x, ws[:, 2 * i], noise), ws[:, 2 * i + 1], noise)
            rgb = to_rgb(x, ws[:, 2 * i + 1])
            img = rgb if img is None else self.combine(img, rgb, _fade(self.lod, top - i))
        return img


class SynthesisDecoder(nn.Module):
    """StyleGAN 2's synthesis layers fed encoder features instead of the learned constant: one modulated conv
    at the input's scale, then per doubling the two modulated convs of a synthesis block (the first up-samples
    by the blur filter, :func:`_up`), each scale's RGB output summed by the skip architecture. Its styles are
    learned (one w per layer) and its per-pixel noise is drawn from ``noise``, so it works at any size.
    Feature maps: ``ch`` x 2^(ups - level), at most 16 ch."""

    def __init__(self, cin: int, ups: int, ch: int = 16, w_dim: int = 64, res: int = 64) -> None:
        super().__init__()
        at_least(1, ch=ch, ups=ups, w_dim=w_dim)
        kind, self.combine = STYLES.get("modulated"), RGB_OUTPUTS.get("skip")
        widths = [ch * min(16, 2 ** (ups - level)) for level in range(ups + 1)]
        self.head = kind.conv(cin, widths[0], w_dim, res // 2 ** ups)
        self.convs = nn.ModuleList([nn.ModuleList([kind.conv(widths[i], widths[i + 1], w_dim, res // 2 ** (ups - i - 1),
                                                             up=True),
                                                   kind.conv(widths[i + 1], widths[i + 1], w_dim,
                                                             res // 2 ** (ups - i - 1))])
                                    for i in range(ups)])
        self.rgbs = nn.ModuleList([kind.to_rgb(w, w_dim) for w in widths])
        self.ws = nn.Parameter(torch.randn(2 * ups + 1, w_dim))

    def forward(self, x: torch.Tensor, noise: torch.Generator | None = None) -> torch.Tensor:
        ws = self.ws.to(x.dtype)[:, None].expand(-1, x.shape[0], -1)
        x = self.head(x, ws[0], noise)
        img = self.rgbs[0](x, ws[0])
        for i, (conv0, conv1) in enumerate(self.convs):
            x = conv1(conv0(x, ws[2 * i + 1], noise), ws[2 * i + 2], noise)
            img = self.combine(img, self.rgbs[i + 1](x, ws[2 * i + 2]), 0.0)
        return img


DECODERS.register("stylegan2", paper="Karras et al. 2020",
                  block="modulated/demodulated 3x3 convs, bilinear [1, 3, 3, 1] up-sampling, skip RGB outputs")(
    SynthesisDecoder)


class StyleGenerator(LatentGenerator):
    """StyleGAN generator: mapping network, tracked average w, style-mixing, synthesis."""

    def __init__(self, size: int, z_dim: int = 512, width: float = 1.0, mapping_layers: int = 8,
                 style: str = "modulated", arch: str = "skip", w_avg_beta: float = 0.995) -> None:
        super().__init__()
        _positive_width(width)
        at_least(1, mapping_layers=mapping_layers)
        self.z_dim, self.w_avg_beta = z_dim, w_avg_beta
        self.mapping = Mapping(z_dim, z_dim, mapping_layers)
        self.synthesis = Synthesis(size, z_dim, width, style, arch)
        self.num_ws = self.synthesis.num_ws
        self.register_buffer("w_avg", torch.zeros(z_dim))

    @property
    def lod(self) -> float:
        return self.synthesis.lod

    @lod.setter
    def lod(self, value: float) -> None:
        self.synthesis.lod = value

    def styles(self, z: torch.Tensor, psi: float = 1.0) -> torch.Tensor:
        """N x num_ws x w_dim styles of latents, truncated toward the average w by ``psi``."""
        w = self.mapping(z)
        if self.training:
            with torch.no_grad():
                self.w_avg.lerp_(w.detach().float().mean(0), 1.0 - self.w_avg_beta)
        if psi != 1.0:
            w = torch.lerp(self.w_avg.to(w.dtype), w, psi)
        return w[:, None].expand(-1, self.num_ws, -1)

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None, z2: torch.Tensor | None = None,
                noise: torch.Generator | None = None) -> torch.Tensor:
        """Images of latents ``z``; with ``z2`` (style mixing regularisation) the styles switch to ``z2``'s
        at a layer drawn from ``noise``, the generator that also draws the per-layer noise."""
        ws = self.styles(z)
        if z2 is not None:
            cut = int(torch.randint(1, self.num_ws, (1,), generator=noise, device=noise.device))
            ws = mix_styles(ws, self.styles(z2), cut)
        return self.synthesis(ws, noise)

    def truncated(self, z: torch.Tensor, cond: torch.Tensor | None, psi: float) -> torch.Tensor:
        """Truncation in W: w_avg + psi * (w - w_avg)."""
        return self.synthesis(self.styles(z, psi))

    def interpolate(self, z_a: torch.Tensor, z_b: torch.Tensor, t: torch.Tensor, psi: float = 1.0,
                    cond: torch.Tensor | None = None) -> torch.Tensor:
        """Images along the straight line in W between the styles of ``z_a`` and ``z_b`` (unconditional)."""
        return self.synthesis(torch.lerp(self.styles(z_a, psi), self.styles(z_b, psi), t[:, None, None]))


class DEpilogue(nn.Module):
    """The 4x4 end of a StyleGAN discriminator: minibatch standard deviation, conv, two dense layers."""

    def __init__(self, ch: int, mbstd: bool) -> None:
        super().__init__()
        self.mbstd = MinibatchStdDev() if mbstd else nn.Identity()
        self.conv = EqualConv2d(ch + int(mbstd), ch, 3, act=True)
        self.fc = EqualLinear(ch * 16, ch, act=True)
        self.out = EqualLinear(ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.fc(self.conv(self.mbstd(x)).flatten(1))).squeeze(1)


class ProgressiveDiscriminator(nn.Module):
    """StyleGAN 1 / ProGAN discriminator: an RGB input layer at every resolution, two convs and a 2x
    downsample per resolution; at a level of detail ``lod`` the input enters at the matching resolution,
    faded in with the next lower one."""

    def __init__(self, size: int, width: float = 1.0, mbstd: bool = True) -> None:
        super().__init__()
        _positive_width(width)
        res = levels(size)[::-1]                                             # size, ..., 4
        self.from_rgb = nn.ModuleList([EqualConv2d(3, channels(r, width), 1, act=True) for r in res])
        self.blocks = nn.ModuleList([
            nn.Sequential(EqualConv2d(channels(r, width), channels(r, width), 3, act=True),
                          EqualConv2d(channels(r, width), channels(r // 2, width), 3, act=True), nn.AvgPool2d(2))
            for r in res[:-1]])
        self.epilogue = DEpilogue(channels(4, width), mbstd)
        self.lod = 0.0

    def forward(self, img: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        x = self.from_rgb[0](img)
        for i, block in enumerate(self.blocks):
            img = F.avg_pool2d(img, 2)
            x = torch.lerp(block(x), self.from_rgb[i + 1](img), _fade(self.lod, i))
        return self.epilogue(x)


class ResBlock(nn.Module):
    """StyleGAN 2 residual discriminator block: two convs then a 2x downsample, plus a 1x1 skip; sum / sqrt(2)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.main = nn.Sequential(EqualConv2d(cin, cin, 3, act=True), EqualConv2d(cin, cout, 3, act=True),
                                  nn.AvgPool2d(2))
        self.skip = nn.Sequential(nn.AvgPool2d(2), EqualConv2d(cin, cout, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.main(x) + self.skip(x)) / SQRT2


class ResnetDiscriminator(nn.Module):
    """StyleGAN 2 residual discriminator: one RGB input layer, residual blocks down to 4x4."""

    def __init__(self, size: int, width: float = 1.0, mbstd: bool = True) -> None:
        super().__init__()
        _positive_width(width)
        res = levels(size)[::-1]
        self.from_rgb = EqualConv2d(3, channels(size, width), 1, act=True)
        self.blocks = nn.Sequential(*[ResBlock(channels(r, width), channels(r // 2, width)) for r in res[:-1]])
        self.epilogue = DEpilogue(channels(4, width), mbstd)

    def forward(self, img: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.epilogue(self.blocks(self.from_rgb(img)))


GENERATORS.register("style")(StyleGenerator)
DISCRIMINATORS.register("progressive")(ProgressiveDiscriminator)
DISCRIMINATORS.register("resnet")(ResnetDiscriminator)


@INPUTS.register("style", summary="z, a second z for style mixing with probability `mixing`, and the noise generator")
class StyleLatent(Latent):
    def __init__(self, z_dim: int, mixing: float = 0.9) -> None:
        super().__init__(z_dim)
        if not 0 <= mixing <= 1:
            raise ValueError(f"mixing must be in [0, 1], got {mixing}")
        self.mixing = mixing

    def __call__(self, real: torch.Tensor, cond: torch.Tensor | None, gen: torch.Generator) -> Inputs:
        n = real.shape[0]
        mix = float(torch.rand(1, generator=gen, device=gen.device)) < self.mixing
        return {"z": normal(n, self.z_dim, gen, real), "z2": normal(n, self.z_dim, gen, real) if mix else None,
                "noise": gen}

    def fixed(self, n: int, seed: int, data: FaceBatches) -> Inputs:
        return {"z": super().fixed(n, seed, data)["z"]}


@REGULARIZERS.register("path_length")
class PathLength(Regularizer):
    """Karras et al. 2020: E[(||J_w^T y||_2 - a)^2] for random image-space directions y, with a the
    running mean of the lengths; pulls G toward a mapping from W with a fixed Jacobian norm. The
    gradient is taken w.r.t. the mapping network's output w (StyleGAN 2's pl_reg on ws), so the
    penalty trains the mapping network as well as the synthesis."""

    key, every_key, side = "pl_weight", "pl_every", "G"
    decay = 0.01

    def __init__(self, strength: float, every: int = 1) -> None:
        super().__init__(strength, every)
        self.mean = torch.zeros(())

    def g_penalty(self, ctx: GContext) -> torch.Tensor:
        g, gen = ctx.g_net, ctx.gen
        z = ctx.inputs["z"][: max(1, ctx.inputs["z"].shape[0] // 2)]
        ws = g.mapping(z)[:, None].repeat(1, g.num_ws, 1)      # the graph runs through the mapping network
        img = g.synthesis(ws, gen)
        y = torch.randn(img.shape, generator=gen, device=gen.device).to(img.device, img.dtype)
        y = y / math.sqrt(img.shape[2] * img.shape[3])
        (grad,) = torch.autograd.grad((img * y).sum(), ws, create_graph=True)
        lengths = grad.float().pow(2).sum(2).mean(1).sqrt()
        self.mean = self.mean.to(lengths.device)
        self.mean = self.mean.lerp(lengths.mean().detach(), self.decay)
        return self.strength * (lengths - self.mean).pow(2).mean()

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"mean": self.mean.detach().cpu()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.mean = state["mean"].clone()


def _stylegan_common() -> dict[str, Any]:
    return {"g.name": "style", "g.inputs": "style", "z_dim": 512, "g.mapping_layers": 8, "d.mbstd": True,
            "g.mixing": 0.9, "loss": "nonsaturating", "optimizer": "adam", "beta1": 0.0, "beta2": 0.99, "ema": 0.999,
            "g.norm": "none", "d.norm": "none"}


@FAMILIES.register("stylegan", paper="Karras et al. 2019",
                   summary="mapping network, AdaIN styles, per-layer noise, progressive growing with fade-in "
                           "(grow steps per phase from 8 px), style mixing, R1, EMA; width=... scales it")
def stylegan() -> dict[str, Any]:
    return {**_stylegan_common(), "d.name": "progressive", "g.style": "adain", "g.arch": "progressive",
            "grow": 100, "grow_from": 8, "lr_g": 1e-3, "lr_d": 1e-3, "r1_gamma": 10.0}


@FAMILIES.register("stylegan2", paper="Karras et al. 2020",
                   summary="weight modulation/demodulation, skip generator, residual D, lazy R1 (every 16), "
                           "style mixing, EMA; path length with pl_weight=2; width=... scales it")
def stylegan2() -> dict[str, Any]:
    return {**_stylegan_common(), "d.name": "resnet", "g.style": "modulated", "g.arch": "skip",
            "lr_g": 2e-3, "lr_d": 2e-3, "r1_gamma": 1.0, "r1_every": 16}
