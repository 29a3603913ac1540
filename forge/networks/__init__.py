"""The network registries, filled by the family modules of this package, and how a network is built.

Each module here is one family (``classic``, ``stylegan``, ``srgan``): its generators and
discriminators, and what else it needs (what its generator is fed, its own regularisers and
option registries, its presets). The registries import every module of the package on their
first lookup, so nothing imports a family to fill them and a new family is one new module.

A network is constructed with the keyword arguments its signature names (as StyleGAN2-ADA builds
its networks from ``G_kwargs``): the run's own settings (:data:`RUN_OPTIONS`) and its component's
options (``--set g.width=0.5``), so a network never sees the whole run config.
"""

from __future__ import annotations

import inspect
import typing
from typing import Any, Callable, Mapping

import torch
from torch import nn

from assay.core.registry import Registry

__all__ = ["DECODERS", "DISCRIMINATORS", "GENERATORS", "RUN_OPTIONS", "LatentGenerator", "at_least", "build", "construct",
           "mix_styles", "parameters"]

GENERATORS: Registry[Callable[..., nn.Module]] = Registry("generator", modules=["assay.forge.networks"])
DISCRIMINATORS: Registry[Callable[..., nn.Module]] = Registry("discriminator", modules=["assay.forge.networks"])
#: image decoders built from a family's own up-sampling blocks (content-aligned re-synthesis,
#: ``assay.forge.autoencoder``): ``DECODERS.create(name, cin=..., ups=..., ch=...)`` takes
#: N x cin x h x w features (and ``noise``, a torch.Generator or None) to N x 3 x h 2^ups x w 2^ups
DECODERS: Registry[Callable[..., nn.Module]] = Registry("decoder", modules=["assay.forge.networks"])
#: what the run itself gives every network (and generator input) whose signature names it
RUN_OPTIONS = ("size", "z_dim", "classes")


class LatentGenerator(nn.Module):
    """A generator of images from latents ``z``: truncation and interpolation are its own methods.

    One with per-layer styles (StyleGAN) has ``num_ws`` > 0 style layers and offers ``styles(z, psi)``
    (N x num_ws x w_dim) and ``synthesis(ws)``, so its styles can be mixed (:func:`mix_styles`)."""

    num_ws = 0

    def truncated(self, z: torch.Tensor, cond: torch.Tensor | None, psi: float) -> torch.Tensor:
        """Images from latents pulled toward the average latent by ``psi`` (1: untouched, 0: the average)."""
        return self(z * psi, cond)

    def interpolate(self, z_a: torch.Tensor, z_b: torch.Tensor, t: torch.Tensor, psi: float = 1.0,
                    cond: torch.Tensor | None = None) -> torch.Tensor:
        """Images along the straight line from ``z_a`` to ``z_b`` (1 x Z each) at the fractions ``t``
        (``cond``: one condition row per fraction, for a conditional generator)."""
        return self.truncated(torch.lerp(z_a, z_b, t[:, None]), cond, psi)


def mix_styles(ws_a: torch.Tensor, ws_b: torch.Tensor, layer: int) -> torch.Tensor:
    """Styles of layers below ``layer`` (coarse) from ``ws_a``, the rest (fine) from ``ws_b``."""
    out = ws_b.clone()
    out[:, :layer] = ws_a[:, :layer]
    return out


def at_least(minimum: int, **values: float) -> None:
    """A ValueError naming the first of ``values`` below ``minimum`` (networks check their options when built)."""
    for key, value in values.items():
        if value < minimum:
            raise ValueError(f"{key} must be >= {minimum}, got {value}")


def parameters(factory: Callable[..., Any]) -> dict[str, tuple[Any, Any]]:
    """The keyword parameters of a registry entry (a class's constructor or a function): name ->
    (annotated type, default; ``inspect.Parameter.empty`` when it has none)."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    hints = typing.get_type_hints(target)
    return {name: (hints.get(name, Any), p.default) for name, p in inspect.signature(factory).parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def construct(registry: Registry[Callable[..., Any]], name: str, options: Mapping[str, Any]) -> Any:
    """``registry[name](**kwargs)`` with the options its signature names; a condition it cannot take is an error."""
    factory = registry.get(name)
    params = inspect.signature(factory).parameters
    if options.get("classes") and "classes" not in params:
        raise ValueError(f"{registry.kind} {name!r} is unconditional; drop cond_keys")
    return factory(**{k: v for k, v in options.items() if k in params})


def build(generator: str, g_options: Mapping[str, Any], discriminator: str,
          d_options: Mapping[str, Any]) -> tuple[nn.Module, nn.Module]:
    """A generator and a discriminator by name, each initialised as its architecture prescribes."""
    return construct(GENERATORS, generator, g_options), construct(DISCRIMINATORS, discriminator, d_options)
