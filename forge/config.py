"""The training configuration: one plain dataclass; family presets and ``key=value`` overrides fill it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from torch import nn

from assay.core.config import override
from assay.forge.conditions import CONDITIONS
from assay.forge.diffaug import AUGMENTS
from assay.forge.families import FAMILIES
from assay.forge.inputs import INPUTS
from assay.forge.layers import NORMS
from assay.forge.losses import LOSSES
from assay.forge.models import DISCRIMINATORS, GENERATORS, build
from assay.forge.optim import OPTIMIZERS
from assay.forge.stopping import parse_duration
from assay.forge.stylegan import RGB_OUTPUTS, STYLES

SIZES = (32, 64, 128, 256)


@dataclass
class GanConfig:
    """Every setting of a training run. Families (``forge.families``) are named presets of these fields."""

    model: str = "dcgan"
    size: int = 64
    steps: int = 1000
    batch: int = 64
    seed: int = 0
    # networks
    generator: str = "conv"            # GENERATORS registry name
    discriminator: str = "conv"        # DISCRIMINATORS registry name
    z_dim: int = 100
    g_ch: int = 64                     # base width (conv channels; MLP widths are 8x this)
    d_ch: int = 64
    g_norm: str = "batch"              # NORMS registry: batch | layer | none
    d_norm: str = "batch"
    inputs: str = "latent"             # INPUTS registry: what G is fed (latent | style | lowres)
    # StyleGAN
    width: float = 1.0                 # StyleGAN feature maps: min(16384 / res, 512) x width
    mapping_layers: int = 8
    style: str = "modulated"           # STYLES registry: adain (StyleGAN 1) | modulated (StyleGAN 2)
    g_arch: str = "skip"               # RGB_OUTPUTS registry: progressive | skip
    mixing: float = 0.0                # style mixing regularisation: probability of a second latent
    grow: int = 0                      # progressive growing: steps per fade-in and per stable phase (0 = off)
    grow_from: int = 8                 # progressive growing: first resolution
    # SRGAN
    sr_factor: int = 4                 # upscaling factor; G sees size / sr_factor px
    sr_blocks: int = 16                # SRResNet residual blocks
    # conditioning (conditional GAN): label keys read from the manifest rows' ``labels``
    cond_keys: tuple[str, ...] = ()
    projection: bool = False           # projection discriminator (Miyato 2018) instead of input concatenation
    # losses and optimisers
    loss: str = "nonsaturating"        # LOSSES registry
    optimizer: str = "adam"            # OPTIMIZERS registry
    lr_g: float = 2e-4
    lr_d: float = 2e-4                 # two-timescale update rule: set lr_d != lr_g (e.g. 4e-4 / 1e-4)
    beta1: float = 0.5
    beta2: float = 0.999
    n_critic: int = 1                  # discriminator steps per generator step
    adv_weight: float = 1.0            # weight of the adversarial G loss (SRGAN: 1e-3)
    # regularisers (active when their strength is > 0)
    clip: float = 0.0                  # WGAN weight clipping to [-clip, clip]
    gp_lambda: float = 0.0             # WGAN-GP gradient penalty on interpolates
    r1_gamma: float = 0.0              # R1 penalty on real data
    r1_every: int = 1                  # lazy R1: every k-th step, scaled by k
    pl_weight: float = 0.0             # path length regularisation of G (StyleGAN 2)
    pl_every: int = 4
    pixel_weight: float = 0.0          # content loss: pixel MSE to the real image (SRGAN)
    perceptual_weight: float = 0.0     # content loss: feature MSE (VGG19 with vgg_weights, else D's features)
    vgg_weights: str = ""              # local VGG19 weights file for the perceptual loss (nothing is downloaded)
    # stabilisers
    spectral_norm: bool = False
    mbdisc: int = 0                    # minibatch discrimination: number of kernels (0 = off)
    mbdisc_dim: int = 8
    mbstd: bool = False                # minibatch standard deviation layer
    unroll: int = 0                    # unrolled GAN: discriminator look-ahead steps for the G update
    diffaug: str = ""                  # DiffAugment policy, e.g. "color,translation,cutout"
    ema: float = 0.0                   # EMA decay of generator weights (0 = off), e.g. 0.999
    # health
    lr_backoff: float = 0.1            # on a non-finite loss: restore the last good state, scale lr once
    snapshot_every: int = 50           # in-memory last-good-state interval (steps)
    collapse_ratio: float = 0.25       # warn when the fixed batch's diversity falls below this share of its peak
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
        """Check value ranges; raise ValueError with what was expected and what came."""
        if self.size not in SIZES:
            raise ValueError(f"size must be one of {SIZES}, got {self.size}")
        for key in ("steps", "batch", "z_dim", "g_ch", "d_ch", "n_critic", "log_every", "sample_every",
                    "checkpoint_every", "snapshot_every", "grid", "keep_checkpoints", "r1_every", "pl_every",
                    "mapping_layers", "sr_factor", "sr_blocks"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.unroll < 0 or self.mbdisc < 0 or self.eval_every < 0:
            raise ValueError("unroll, mbdisc and eval_every must be >= 0")
        if self.eval_every and self.eval_n < 2:
            raise ValueError(f"eval_n must be >= 2, got {self.eval_n}")
        if self.projection and not self.cond_keys:
            raise ValueError("projection=true needs cond_keys (e.g. cond_keys=gender,age,race)")
        if self.width <= 0 or not 0 <= self.mixing <= 1 or self.grow < 0:
            raise ValueError("width must be > 0, mixing in [0, 1] and grow >= 0")
        if self.grow and (self.grow_from not in (4, 8, 16, 32, 64, 128) or self.grow_from >= self.size):
            raise ValueError(f"grow_from must be a power of 2 from 4 below size {self.size}, got {self.grow_from}")
        if not (str(self.threads) == "auto" or str(self.threads).isdigit()):
            raise ValueError(f"threads must be auto or a number of threads, got {self.threads!r}")
        parse_duration(self.time_budget)
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, got {self.device!r}")
        self._check_names()
        return self

    def _check_names(self) -> None:
        """Every registry name the config uses exists (a KeyError listing the known names otherwise)."""
        GENERATORS.get(self.generator)
        DISCRIMINATORS.get(self.discriminator)
        NORMS.get(self.g_norm)
        NORMS.get(self.d_norm)
        INPUTS.get(self.inputs)
        STYLES.get(self.style)
        RGB_OUTPUTS.get(self.g_arch)
        LOSSES.get(self.loss)
        OPTIMIZERS.get(self.optimizer)
        for name in self.cond_keys:
            CONDITIONS.get(name)
        for name in filter(None, (s.strip() for s in self.diffaug.split(","))):
            AUGMENTS.get(name)

    def g_options(self, classes: Sequence[int] = ()) -> dict[str, Any]:
        """The keyword arguments a generator may take (each takes those its signature names)."""
        return dict(size=self.size, z_dim=self.z_dim, ch=self.g_ch, norm=self.g_norm, classes=tuple(classes),
                    width=self.width, mapping_layers=self.mapping_layers, style=self.style, arch=self.g_arch,
                    factor=self.sr_factor, blocks=self.sr_blocks)

    def d_options(self, classes: Sequence[int] = ()) -> dict[str, Any]:
        """The keyword arguments a discriminator may take."""
        return dict(size=self.size, ch=self.d_ch, norm=self.d_norm, classes=tuple(classes), projection=self.projection,
                    spectral_norm=self.spectral_norm, mbstd=self.mbstd, mbdisc=self.mbdisc,
                    mbdisc_dim=self.mbdisc_dim, width=self.width)

    def input_options(self, classes: Sequence[int] = ()) -> dict[str, Any]:
        """The keyword arguments of the generator-input maker."""
        return dict(z_dim=self.z_dim, classes=tuple(classes), mixing=self.mixing, factor=self.sr_factor)

    def networks(self, classes: Sequence[int] = ()) -> tuple[nn.Module, nn.Module]:
        """The run's generator and discriminator, freshly initialised."""
        return build(self.generator, self.g_options(classes), self.discriminator, self.d_options(classes))


def make_config(model: str, size: int | None = None, sets: Iterable[str] = (), **fields) -> GanConfig:
    """A family preset with ``fields`` and ``key=value`` strings applied on top, validated."""
    cfg = GanConfig(model=model, **FAMILIES.get(model)())
    if size is not None:
        fields["size"] = size
    cfg = override(cfg, [f"{k}={_text(v)}" for k, v in fields.items() if v is not None])
    return override(cfg, list(sets)).validate()


def _text(value: object) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    return str(value)
