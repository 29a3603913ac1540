"""The classic family: MLP (Goodfellow 2014) and DCGAN networks, and the presets built on them
(vanilla, dcgan, wgan, wgan-gp, cgan).

Latent generators take ``(z, cond)`` where ``cond`` is an N x K tensor of class indices (or None for
unconditional runs); discriminators take ``(x, cond)`` and return N raw scores (logits); a
vanilla D's sigmoid is folded into its loss for numerical safety.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from assay.forge.families import FAMILIES
from assay.forge.layers import (
    NORMS,
    MinibatchDiscrimination,
    MinibatchStdDev,
    apply_spectral_norm,
)
from assay.forge.networks import (
    DECODERS,
    DISCRIMINATORS,
    GENERATORS,
    LatentGenerator,
    at_least,
)


def one_hot(cond: torch.Tensor | None, classes: Sequence[int]) -> torch.Tensor | None:
    """N x K class indices as the concatenation of K one-hot vectors (N x sum(classes))."""
    if cond is None or not classes:
        return None
    return torch.cat([F.one_hot(cond[:, i], n) for i, n in enumerate(classes)], dim=1).float()


def _check_projection(projection: bool, classes: Sequence[int]) -> None:
    if projection and not classes:
        raise ValueError("projection=true needs cond_keys (e.g. cond_keys=gender,age,race)")


def _width(base: int, level: int) -> int:
    return base * min(8, 2 ** level)


def transposed_up(cin: int, cout: int, norm: str) -> list[nn.Module]:
    """DCGAN's up-sampling block: a stride-2 4x4 transposed convolution (doubling the size), norm, ReLU."""
    return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), NORMS.create(norm, cout), nn.ReLU(True)]


def transposed_to_rgb(cin: int) -> list[nn.Module]:
    """DCGAN's last layer: a stride-2 4x4 transposed convolution to RGB, tanh."""
    return [nn.ConvTranspose2d(cin, 3, 4, 2, 1), nn.Tanh()]


class ConvGenerator(LatentGenerator):
    """DCGAN generator: z (+ one-hot condition) -> 4x4 by a transposed conv, then stride-2 transposed
    convs doubling the size, norm + ReLU between, tanh out."""

    def __init__(self, size: int, z_dim: int = 100, ch: int = 64, norm: str = "batch",
                 classes: Sequence[int] = ()) -> None:
        super().__init__()
        at_least(1, ch=ch)
        self.classes, self.z_dim = tuple(classes), z_dim
        n_up = int(math.log2(size)) - 2
        in_dim = z_dim + sum(self.classes)
        layers: list[nn.Module] = []
        width = _width(ch, n_up - 1)
        layers += [nn.ConvTranspose2d(in_dim, width, 4, 1, 0, bias=False), NORMS.create(norm, width), nn.ReLU(True)]
        for level in range(n_up - 2, -1, -1):
            nxt = _width(ch, level)
            layers += transposed_up(width, nxt, norm)
            width = nxt
        self.net = nn.Sequential(*layers, *transposed_to_rgb(width))
        init_weights(self)

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        c = one_hot(cond, self.classes)
        x = z if c is None else torch.cat([z, c.to(z.dtype)], dim=1)
        return self.net(x[:, :, None, None])


class ConvDiscriminator(nn.Module):
    """DCGAN discriminator: stride-2 convs down to 4x4 (no pooling, no hidden FC layers), LeakyReLU(0.2),
    norm from the second layer on; a 4x4 conv gives the score. Options: minibatch stddev channel,
    minibatch discrimination before the score, condition by input concatenation or projection."""

    def __init__(self, size: int, ch: int = 64, norm: str = "batch", classes: Sequence[int] = (),
                 projection: bool = False, spectral_norm: bool = False, mbstd: bool = False, mbdisc: int = 0,
                 mbdisc_dim: int = 8) -> None:
        super().__init__()
        at_least(1, ch=ch, mbdisc_dim=mbdisc_dim)
        at_least(0, mbdisc=mbdisc)
        _check_projection(projection, classes)
        self.classes, self.projection = tuple(classes), projection
        n_down = int(math.log2(size)) - 2
        in_ch = 3 + (sum(self.classes) if self.classes and not projection else 0)
        layers: list[nn.Module] = [nn.Conv2d(in_ch, ch, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        width = ch
        for level in range(1, n_down):
            nxt = _width(ch, level)
            layers += [nn.Conv2d(width, nxt, 4, 2, 1, bias=False), NORMS.create(norm, nxt), nn.LeakyReLU(0.2, True)]
            width = nxt
        self.features = nn.Sequential(*layers)
        self.mbstd = MinibatchStdDev() if mbstd else None
        ch_out = width + (1 if mbstd else 0)
        if mbdisc:
            self.mbdisc: nn.Module | None = MinibatchDiscrimination(ch_out * 16, mbdisc, mbdisc_dim)
            self.score: nn.Module = nn.Linear(ch_out * 16 + mbdisc, 1)
        else:
            self.mbdisc = None
            self.score = nn.Conv2d(ch_out, 1, 4, 1, 0)
        self.embed = nn.Embedding(sum(self.classes), width) if self.classes and projection else None
        if spectral_norm:
            apply_spectral_norm(self)
        init_weights(self)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if self.classes and not self.projection:
            c = one_hot(cond, self.classes).to(x.dtype)
            x = torch.cat([x, c[:, :, None, None].expand(-1, -1, *x.shape[2:])], dim=1)
        h = self.features(x)
        out_h = self.mbstd(h) if self.mbstd is not None else h
        if self.mbdisc is not None:
            out = self.score(self.mbdisc(out_h.flatten(1)))
        else:
            out = self.score(out_h)
        out = out.flatten(1).sum(1)
        if self.embed is not None:
            out = out + _projection(self.embed, cond, self.classes, h.sum(dim=(2, 3)))
        return out


def _projection(embed: nn.Embedding, cond: torch.Tensor, classes: Sequence[int], h: torch.Tensor) -> torch.Tensor:
    """Miyato & Koyama 2018: sum over condition keys of <embed(y_k), h>."""
    offsets = torch.tensor([0, *list(classes)[:-1]], device=cond.device).cumsum(0)
    e = embed(cond + offsets).sum(1)
    return (e.to(h.dtype) * h).sum(1)


class MLPGenerator(LatentGenerator):
    """Goodfellow 2014 style generator: fully connected ReLU layers, tanh out, reshaped to an image."""

    def __init__(self, size: int, z_dim: int = 100, ch: int = 64, classes: Sequence[int] = ()) -> None:
        super().__init__()
        at_least(1, ch=ch)
        self.classes, self.size, self.z_dim = tuple(classes), size, z_dim
        w = ch * 4
        self.net = nn.Sequential(
            nn.Linear(z_dim + sum(self.classes), w), nn.ReLU(True),
            nn.Linear(w, w * 2), nn.ReLU(True),
            nn.Linear(w * 2, w * 4), nn.ReLU(True),
            nn.Linear(w * 4, 3 * size * size), nn.Tanh())
        init_weights(self)

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        c = one_hot(cond, self.classes)
        x = z if c is None else torch.cat([z, c.to(z.dtype)], dim=1)
        return self.net(x).view(-1, 3, self.size, self.size)


class MLPDiscriminator(nn.Module):
    """Goodfellow 2014 style discriminator: fully connected LeakyReLU layers to one score, with the
    same minibatch and conditioning options as the conv discriminator."""

    def __init__(self, size: int, ch: int = 64, classes: Sequence[int] = (), projection: bool = False,
                 spectral_norm: bool = False, mbstd: bool = False, mbdisc: int = 0, mbdisc_dim: int = 8) -> None:
        super().__init__()
        at_least(1, ch=ch, mbdisc_dim=mbdisc_dim)
        at_least(0, mbdisc=mbdisc)
        _check_projection(projection, classes)
        self.classes, self.projection = tuple(classes), projection
        w = ch * 4
        in_dim = 3 * size * size + (sum(self.classes) if self.classes and not projection else 0)
        self.features = nn.Sequential(nn.Linear(in_dim, w * 2), nn.LeakyReLU(0.2, True),
                                      nn.Linear(w * 2, w), nn.LeakyReLU(0.2, True))
        self.mbstd = mbstd
        feat = w + (1 if mbstd else 0)
        self.mbdisc = MinibatchDiscrimination(feat, mbdisc, mbdisc_dim) if mbdisc else None
        self.score = nn.Linear(feat + mbdisc, 1)
        self.embed = nn.Embedding(sum(self.classes), w) if self.classes and projection else None
        if spectral_norm:
            apply_spectral_norm(self)
        init_weights(self)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        x = x.flatten(1)
        if self.classes and not self.projection:
            x = torch.cat([x, one_hot(cond, self.classes).to(x.dtype)], dim=1)
        h = self.features(x)
        g = h
        if self.mbstd:
            std = torch.sqrt(h.float().var(dim=0, unbiased=False) + 1e-8).mean().to(h.dtype)
            g = torch.cat([g, std.expand(h.shape[0], 1)], dim=1)
        if self.mbdisc is not None:
            g = self.mbdisc(g)
        out = self.score(g).squeeze(1)
        if self.embed is not None:
            out = out + _projection(self.embed, cond, self.classes, h)
        return out


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: conv/linear weights N(0, 0.02), norm scales N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            weight = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            nn.init.normal_(weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class TransposedDecoder(nn.Module):
    """A decoder of DCGAN's generator tail: ``ups - 1`` :func:`transposed_up` blocks (``ch`` x 2^level feature
    maps, at most 8 ch), then :func:`transposed_to_rgb`; fully convolutional, so any input size."""

    def __init__(self, cin: int, ups: int, ch: int = 32, norm: str = "batch") -> None:
        super().__init__()
        at_least(1, ch=ch, ups=ups)
        layers: list[nn.Module] = []
        width = cin
        for level in range(ups - 2, -1, -1):
            layers += transposed_up(width, _width(ch, level), norm)
            width = _width(ch, level)
        self.net = nn.Sequential(*layers, *transposed_to_rgb(width))
        init_weights(self)

    def forward(self, x: torch.Tensor, noise: torch.Generator | None = None) -> torch.Tensor:
        return self.net(x)


DECODERS.register("dcgan", paper="Radford et al. 2015", block="stride-2 4x4 transposed conv, batch norm, ReLU")(
    TransposedDecoder)
GENERATORS.register("conv")(ConvGenerator)
GENERATORS.register("mlp")(MLPGenerator)
DISCRIMINATORS.register("conv")(ConvDiscriminator)
DISCRIMINATORS.register("mlp")(MLPDiscriminator)


@FAMILIES.register("vanilla", paper="Goodfellow et al. 2014",
                   summary="MLP G and D, minimax loss (loss=nonsaturating for the non-saturating G loss)")
def vanilla() -> dict[str, Any]:
    return {"g.name": "mlp", "d.name": "mlp", "g.norm": "none", "d.norm": "none", "loss": "minimax", "optimizer": "adam", "lr_g": 2e-4, "lr_d": 2e-4,
            "beta1": 0.5, "beta2": 0.999}


@FAMILIES.register("dcgan", paper="Radford et al. 2015",
                   summary="transposed-conv G, strided-conv D, batch norm, ReLU/LeakyReLU, Adam(2e-4, 0.5)")
def dcgan() -> dict[str, Any]:
    return {"g.name": "conv", "d.name": "conv", "g.norm": "batch", "d.norm": "batch", "loss": "nonsaturating",
            "optimizer": "adam", "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999}


@FAMILIES.register("wgan", paper="Arjovsky et al. 2017",
                   summary="critic without sigmoid, Wasserstein loss, weight clipping c=0.01, RMSprop(5e-5), n_critic=5")
def wgan() -> dict[str, Any]:
    return {"g.name": "conv", "d.name": "conv", "g.norm": "batch", "d.norm": "batch", "loss": "wasserstein",
            "optimizer": "rmsprop", "lr_g": 5e-5, "lr_d": 5e-5, "n_critic": 5, "clip": 0.01}


@FAMILIES.register("wgan-gp", paper="Gulrajani et al. 2017",
                   summary="gradient penalty lambda=10 on interpolates, no batch norm in the critic, Adam(1e-4, 0, 0.9), n_critic=5")
def wgan_gp() -> dict[str, Any]:
    return {"g.name": "conv", "d.name": "conv", "g.norm": "batch", "d.norm": "layer", "loss": "wasserstein",
            "optimizer": "adam", "lr_g": 1e-4, "lr_d": 1e-4, "beta1": 0.0, "beta2": 0.9, "n_critic": 5,
            "gp_lambda": 10.0}


@FAMILIES.register("cgan", paper="Mirza & Osindero 2014; projection D: Miyato & Koyama 2018",
                   summary="DCGAN conditioned on manifest labels (gender, age bucket, race); projection=true for a projection D")
def cgan() -> dict[str, Any]:
    return {**dcgan(), "cond_keys": ("gender", "age", "race")}
