"""Every network family in one place, built by name from explicit keyword arguments.

Importing this module fills the ``GENERATORS`` and ``DISCRIMINATORS`` registries (classic, StyleGAN,
SRGAN). A network is constructed with the keyword arguments its signature names, taken from the
options a run offers (as StyleGAN2-ADA builds its networks from ``G_kwargs``), so a network never
sees the whole run config.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping

from torch import nn

from assay.core.registry import Registry
from assay.forge import srgan, stylegan  # noqa: F401  (registers their networks)
from assay.forge.nets import DISCRIMINATORS, GENERATORS, LatentGenerator

__all__ = ["DISCRIMINATORS", "GENERATORS", "LatentGenerator", "build", "construct"]


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
