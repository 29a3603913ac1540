"""Generators and discriminators of the GAN family, built by name from the config.

Every network takes ``(x, cond)`` where ``cond`` is an N x K tensor of class indices (or None
for unconditional runs) and works at 32, 64 and 128 px. Discriminators return N raw scores
(logits); a vanilla D's sigmoid is folded into its loss for numerical safety.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from assay.core.registry import Registry
from forge.config import GanConfig
from forge.layers import NORMS, MinibatchDiscrimination, MinibatchStdDev, apply_spectral_norm

GENERATORS: Registry[Callable[..., nn.Module]] = Registry("generator")
DISCRIMINATORS: Registry[Callable[..., nn.Module]] = Registry("discriminator")


def one_hot(cond: torch.Tensor | None, classes: Sequence[int]) -> torch.Tensor | None:
    """N x K class indices as the concatenation of K one-hot vectors (N x sum(classes))."""
    if cond is None or not classes:
        return None
    return torch.cat([F.one_hot(cond[:, i], n) for i, n in enumerate(classes)], dim=1).float()


def _width(base: int, level: int) -> int:
    return base * min(8, 2 ** level)


class ConvGenerator(nn.Module):
    """DCGAN generator: z (+ one-hot condition) -> 4x4 by a transposed conv, then stride-2 transposed
    convs doubling the size, norm + ReLU between, tanh out."""

    def __init__(self, cfg: GanConfig, classes: Sequence[int] = ()) -> None:
        super().__init__()
        self.classes, self.z_dim = tuple(classes), cfg.z_dim
        n_up = int(math.log2(cfg.size)) - 2
        in_dim = cfg.z_dim + sum(self.classes)
        layers: list[nn.Module] = []
        ch = _width(cfg.g_ch, n_up - 1)
        layers += [nn.ConvTranspose2d(in_dim, ch, 4, 1, 0, bias=False), NORMS.create(cfg.g_norm, ch), nn.ReLU(True)]
        for level in range(n_up - 2, -1, -1):
            nxt = _width(cfg.g_ch, level)
            layers += [nn.ConvTranspose2d(ch, nxt, 4, 2, 1, bias=False), NORMS.create(cfg.g_norm, nxt), nn.ReLU(True)]
            ch = nxt
        layers += [nn.ConvTranspose2d(ch, 3, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        c = one_hot(cond, self.classes)
        x = z if c is None else torch.cat([z, c.to(z.dtype)], dim=1)
        return self.net(x[:, :, None, None])


class ConvDiscriminator(nn.Module):
    """DCGAN discriminator: stride-2 convs down to 4x4 (no pooling, no hidden FC layers), LeakyReLU(0.2),
    norm from the second layer on; a 4x4 conv gives the score. Options: minibatch stddev channel,
    minibatch discrimination before the score, condition by input concatenation or projection."""

    def __init__(self, cfg: GanConfig, classes: Sequence[int] = ()) -> None:
        super().__init__()
        self.classes, self.projection = tuple(classes), cfg.projection
        n_down = int(math.log2(cfg.size)) - 2
        in_ch = 3 + (sum(self.classes) if self.classes and not cfg.projection else 0)
        layers: list[nn.Module] = [nn.Conv2d(in_ch, cfg.d_ch, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        ch = cfg.d_ch
        for level in range(1, n_down):
            nxt = _width(cfg.d_ch, level)
            layers += [nn.Conv2d(ch, nxt, 4, 2, 1, bias=False), NORMS.create(cfg.d_norm, nxt), nn.LeakyReLU(0.2, True)]
            ch = nxt
        self.features = nn.Sequential(*layers)
        self.mbstd = MinibatchStdDev() if cfg.mbstd else None
        ch_out = ch + (1 if cfg.mbstd else 0)
        if cfg.mbdisc:
            self.mbdisc: nn.Module | None = MinibatchDiscrimination(ch_out * 16, cfg.mbdisc, cfg.mbdisc_dim)
            self.score: nn.Module = nn.Linear(ch_out * 16 + cfg.mbdisc, 1)
        else:
            self.mbdisc = None
            self.score = nn.Conv2d(ch_out, 1, 4, 1, 0)
        self.embed = nn.Embedding(sum(self.classes), ch) if self.classes and cfg.projection else None
        if cfg.spectral_norm:
            apply_spectral_norm(self)

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


class MLPGenerator(nn.Module):
    """Goodfellow 2014 style generator: fully connected ReLU layers, tanh out, reshaped to an image."""

    def __init__(self, cfg: GanConfig, classes: Sequence[int] = ()) -> None:
        super().__init__()
        self.classes, self.size, self.z_dim = tuple(classes), cfg.size, cfg.z_dim
        w = cfg.g_ch * 4
        self.net = nn.Sequential(
            nn.Linear(cfg.z_dim + sum(self.classes), w), nn.ReLU(True),
            nn.Linear(w, w * 2), nn.ReLU(True),
            nn.Linear(w * 2, w * 4), nn.ReLU(True),
            nn.Linear(w * 4, 3 * cfg.size * cfg.size), nn.Tanh())

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        c = one_hot(cond, self.classes)
        x = z if c is None else torch.cat([z, c.to(z.dtype)], dim=1)
        return self.net(x).view(-1, 3, self.size, self.size)


class MLPDiscriminator(nn.Module):
    """Goodfellow 2014 style discriminator: fully connected LeakyReLU layers to one score, with the
    same minibatch and conditioning options as the conv discriminator."""

    def __init__(self, cfg: GanConfig, classes: Sequence[int] = ()) -> None:
        super().__init__()
        self.classes, self.projection = tuple(classes), cfg.projection
        w = cfg.d_ch * 4
        in_dim = 3 * cfg.size * cfg.size + (sum(self.classes) if self.classes and not cfg.projection else 0)
        self.features = nn.Sequential(nn.Linear(in_dim, w * 2), nn.LeakyReLU(0.2, True),
                                      nn.Linear(w * 2, w), nn.LeakyReLU(0.2, True))
        self.mbstd = cfg.mbstd
        feat = w + (1 if cfg.mbstd else 0)
        self.mbdisc = MinibatchDiscrimination(feat, cfg.mbdisc, cfg.mbdisc_dim) if cfg.mbdisc else None
        self.score = nn.Linear(feat + cfg.mbdisc, 1)
        self.embed = nn.Embedding(sum(self.classes), w) if self.classes and cfg.projection else None
        if cfg.spectral_norm:
            apply_spectral_norm(self)

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


GENERATORS.register("conv")(ConvGenerator)
GENERATORS.register("mlp")(MLPGenerator)
DISCRIMINATORS.register("conv")(ConvDiscriminator)
DISCRIMINATORS.register("mlp")(MLPDiscriminator)


def build(cfg: GanConfig, classes: Sequence[int] = ()) -> tuple[nn.Module, nn.Module]:
    """The generator and discriminator of a config, initialised."""
    g = GENERATORS.create(cfg.generator, cfg, classes)
    d = DISCRIMINATORS.create(cfg.discriminator, cfg, classes)
    init_weights(g)
    init_weights(d)
    return g, d
