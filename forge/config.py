"""The training configuration: plain dataclasses; family presets and ``key=value`` settings fill them.

:class:`GanConfig` holds the run and the one loop's settings (steps, losses, regularisers, stabilisers,
schedule, eval, devices) and one component per network, as StyleGAN2-ADA keeps ``G_kwargs`` and
``D_kwargs`` apart: ``g`` (:class:`GeneratorOptions`) and ``d`` (:class:`DiscriminatorOptions`), each a
registry name and the keyword options its entry takes (``--set g.width=0.5``; ``forge.settings`` says
how names, flat ones included, resolve).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, Mapping, Sequence

import torch
from torch import nn

from assay.core.config import from_dict
from assay.core.registry import Registry
from assay.forge.conditions import CONDITIONS, keys_of
from assay.forge.diffaug import AUGMENTS
from assay.forge.families import FAMILIES
from assay.forge.inputs import INPUTS
from assay.forge.losses import LOSSES
from assay.forge.networks import DISCRIMINATORS, GENERATORS, build, construct
from assay.forge.optim import OPTIMIZERS
from assay.forge.schedule import check_growable
from assay.forge.settings import apply, assignments, components, resolve
from assay.forge.stopping import parse_duration

SIZES = (32, 64, 128, 256)


@dataclass
class GeneratorOptions:
    """The generator: a ``GENERATORS`` entry, what the loop feeds it (an ``INPUTS`` entry), and the keyword
    options of both (e.g. ``ch``, ``norm``; StyleGAN's ``width``, ``style``, ``mixing``; SRGAN's ``factor``)."""

    registries: ClassVar[dict[str, Registry]] = {"name": GENERATORS, "inputs": INPUTS}

    name: str = field(default="conv", metadata={"flat": "generator"})
    inputs: str = field(default="latent", metadata={"flat": "inputs"})
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class DiscriminatorOptions:
    """The discriminator: a ``DISCRIMINATORS`` entry and its keyword options (e.g. ``ch``, ``norm``,
    ``spectral_norm``, ``mbstd``, ``mbdisc``, ``projection``; StyleGAN's ``width``)."""

    registries: ClassVar[dict[str, Registry]] = {"name": DISCRIMINATORS}

    name: str = field(default="conv", metadata={"flat": "discriminator"})
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class GanConfig:
    """Every setting of a training run. Families (``forge.families``) are named presets of these settings."""

    model: str = "dcgan"
    size: int = 64
    steps: int = 1000
    batch: int = 64
    seed: int = 0
    # networks: the latent size (G, its inputs and sampling share it) and one component per network
    z_dim: int = 100
    g: GeneratorOptions = field(default_factory=GeneratorOptions)
    d: DiscriminatorOptions = field(default_factory=DiscriminatorOptions)
    # conditioning (conditional GAN): label keys read from the manifest rows' ``labels``
    cond_keys: tuple[str, ...] = ()
    # resolution schedule (progressive growing, for networks with a level of detail)
    grow: int = 0                      # steps per fade-in and per stable phase (0 = off)
    grow_from: int = 8                 # first resolution
    # losses and optimisers
    loss: str = "nonsaturating"        # LOSSES registry
    optimizer: str = "adam"            # OPTIMIZERS registry
    lr_g: float = 2e-4
    lr_d: float = 2e-4                 # two-timescale update rule: set lr_d != lr_g (e.g. 4e-4 / 1e-4)
    beta1: float = 0.5
    beta2: float = 0.999
    n_critic: int = 1                  # discriminator steps per generator step
    adv_weight: float = 1.0            # weight of the adversarial G loss (SRGAN: 1e-3)
    # regularisers (REGULARIZERS; active when their strength is > 0)
    clip: float = 0.0                  # WGAN weight clipping to [-clip, clip]
    gp_lambda: float = 0.0             # WGAN-GP gradient penalty on interpolates
    r1_gamma: float = 0.0              # R1 penalty on real data
    r1_every: int = 1                  # lazy R1: every k-th step, scaled by k
    pl_weight: float = 0.0             # path length regularisation of G (StyleGAN 2)
    pl_every: int = 4
    pixel_weight: float = 0.0          # content loss: pixel MSE to the real image (SRGAN)
    perceptual_weight: float = 0.0     # content loss: feature MSE (VGG19 with vgg_weights, else D's features)
    vgg_weights: str = ""              # local VGG19 weights file for the perceptual loss (nothing is downloaded)
    # stabilisers of the loop (the networks' own, e.g. d.spectral_norm, are component options)
    unroll: int = 0                    # unrolled GAN: discriminator look-ahead steps for the G update
    diffaug: str = ""                  # DiffAugment policy, e.g. "color,translation,cutout"
    ema: float = 0.0                   # EMA decay of generator weights (0 = off), e.g. 0.999
    ema_rampup: float = 0.05           # EMA half-life at most this share of the images seen (StyleGAN 2; 0 = off)
    # health
    lr_backoff: float = 0.1            # on a non-finite loss: restore the last good state, scale lr once
    snapshot_every: int = 50           # in-memory last-good-state interval (steps)
    collapse_ratio: float = 0.25       # warn when the fixed batch's diversity falls below this share of its peak
    collapse_floor: float = 0.1        # ... or below this share of the training images' diversity (near-constant)
    # bookkeeping
    log_every: int = 10
    sample_every: int = 200
    checkpoint_every: int = 200
    keep_checkpoints: int = 2
    time_budget: str = ""              # wall-clock budget of one invocation: 90s, 12m, 1.5h ("" = none)
    grid: int = 36                     # images in each progress grid (fixed latents)
    eval_every: int = 0                # FD-dlib and face rate every K steps on rank 0 (0 = off); keeps the best checkpoint
    eval_n: int = 256                  # samples (and training images) for that eval
    # devices
    device: str = "auto"               # auto | cpu | cuda
    compile: bool = False              # torch.compile the networks (CUDA)
    threads: str = "auto"              # CPU threads for torch: auto (from the free cores) or a number
    memory_budget_mb: int = 2048       # load the data set into RAM as uint8 when it fits, stream otherwise

    def validate(self) -> "GanConfig":
        """Check value ranges and names, and that the networks build (on PyTorch's meta device: shapes only,
        no memory), so a network's checks of its options fail here; raise ValueError (or UnknownNameError)
        with what was expected and what came."""
        if self.size not in SIZES:
            raise ValueError(f"size must be one of {SIZES}, got {self.size}")
        for key in ("steps", "batch", "z_dim", "n_critic", "log_every", "sample_every", "checkpoint_every",
                    "snapshot_every", "grid", "keep_checkpoints", "r1_every", "pl_every"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.unroll < 0 or self.eval_every < 0 or self.grow < 0:
            raise ValueError("unroll, eval_every and grow must be >= 0")
        if self.eval_every and self.eval_n < 2:
            raise ValueError(f"eval_n must be >= 2, got {self.eval_n}")
        if not 0 <= self.ema < 1 or self.ema_rampup < 0:
            raise ValueError(f"ema must be in [0, 1) and ema_rampup >= 0, got ema={self.ema}, ema_rampup={self.ema_rampup}")
        if self.grow and (self.grow_from not in (4, 8, 16, 32, 64, 128) or self.grow_from >= self.size):
            raise ValueError(f"grow_from must be a power of 2 from 4 below size {self.size}, got {self.grow_from}")
        if not (str(self.threads) == "auto" or str(self.threads).isdigit()):
            raise ValueError(f"threads must be auto or a number of threads, got {self.threads!r}")
        parse_duration(self.time_budget)
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, got {self.device!r}")
        self._check_names()
        classes = [k.n for k in keys_of(self.cond_keys)]
        with torch.device("meta"):
            nets = self.networks(classes)
            construct(INPUTS, self.g.inputs, self.input_options(classes))
        if self.grow:
            check_growable(nets)
        return self

    def _check_names(self) -> None:
        """Every registry name the config uses exists (a KeyError listing the known names otherwise)."""
        LOSSES.get(self.loss)
        OPTIMIZERS.get(self.optimizer)
        for name in self.cond_keys:
            CONDITIONS.get(name)
        for name in filter(None, (s.strip() for s in self.diffaug.split(","))):
            AUGMENTS.get(name)

    def _run_options(self, classes: Sequence[int]) -> dict[str, Any]:
        return {"size": self.size, "z_dim": self.z_dim, "classes": tuple(classes)}

    def g_options(self, classes: Sequence[int] = ()) -> dict[str, Any]:
        """The keyword arguments a generator may take (each takes those its signature names)."""
        return {**self._run_options(classes), **self.g.options}

    def d_options(self, classes: Sequence[int] = ()) -> dict[str, Any]:
        """The keyword arguments a discriminator may take."""
        return {**self._run_options(classes), **self.d.options}

    def input_options(self, classes: Sequence[int] = ()) -> dict[str, Any]:
        """The keyword arguments of the generator-input maker (it shares the generator's options)."""
        return self.g_options(classes)

    def networks(self, classes: Sequence[int] = ()) -> tuple[nn.Module, nn.Module]:
        """The run's generator and discriminator, freshly initialised."""
        return build(self.g.name, self.g_options(classes), self.d.name, self.d_options(classes))


def make_config(model: str, size: int | None = None, sets: Iterable[str] = (), **fields: Any) -> GanConfig:
    """A family preset with ``fields`` and then ``key=value`` strings applied on top, resolved and validated.
    Keys are as ``--set`` takes them (``forge.settings``): ``make_config("stylegan2", 64, ["g.width=0.5"])``,
    ``make_config("dcgan", g_ch=32)`` or ``make_config("dcgan", **{"d.spectral_norm": True})``."""
    if size is not None:
        fields["size"] = size
    given = [(k, v) for k, v in fields.items() if v is not None]
    cfg = apply(GanConfig(model=model), [*FAMILIES.get(model)().items(), *given, *assignments(sets)])
    return resolve(cfg).validate()


def override(cfg: GanConfig, sets: Iterable[str]) -> GanConfig:
    """A copy of ``cfg`` with ``key=value`` strings applied, resolved and validated (``--resume ... --set``)."""
    return resolve(apply(cfg, assignments(sets))).validate()


def load_config(saved: Mapping[str, Any]) -> GanConfig:
    """The config of a run's ``config.json``: nested (``g``, ``d`` components) or flat, as runs saved it
    before per-component options (``generator``, ``g_ch``, ``width``, ...); keys neither knows (``dataset``,
    ``threads_used``, options since retired) are ignored."""
    parts = components(GanConfig())
    if all(isinstance(saved.get(part), Mapping) for part in parts):
        cfg = from_dict(GanConfig, {k: v for k, v in saved.items() if k not in parts})
        for part, component in parts.items():
            setattr(cfg, part, from_dict(type(component), dict(saved[part])))
    else:
        cfg = apply(GanConfig(), saved.items(), ignore_unknown=True)
    return resolve(cfg)
