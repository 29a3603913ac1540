"""The GAN families as named presets of :class:`forge.config.GanConfig`, and the stabiliser switches.

A family is a function returning the config fields it sets; adding a family is one entry here
(plus, if it needs them, new networks, losses or regularisers in their own registries).
"""

from __future__ import annotations

from typing import Any, Callable

from assay.core.registry import Registry

FAMILIES: Registry[Callable[[], dict[str, Any]]] = Registry("GAN family")
#: stabiliser switches: name -> the ``--set`` assignment that turns it on (shown by ``assay forge presets``)
SWITCHES: Registry[str] = Registry("stabiliser")


@FAMILIES.register("vanilla", paper="Goodfellow et al. 2014",
                   summary="MLP G and D, minimax loss (loss=nonsaturating for the non-saturating G loss)")
def vanilla() -> dict[str, Any]:
    return dict(generator="mlp", discriminator="mlp", g_norm="none", d_norm="none",
                loss="minimax", optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999)


@FAMILIES.register("dcgan", paper="Radford et al. 2015",
                   summary="transposed-conv G, strided-conv D, batch norm, ReLU/LeakyReLU, Adam(2e-4, 0.5)")
def dcgan() -> dict[str, Any]:
    return dict(generator="conv", discriminator="conv", g_norm="batch", d_norm="batch",
                loss="nonsaturating", optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999)


@FAMILIES.register("wgan", paper="Arjovsky et al. 2017",
                   summary="critic without sigmoid, Wasserstein loss, weight clipping c=0.01, RMSprop(5e-5), n_critic=5")
def wgan() -> dict[str, Any]:
    return dict(generator="conv", discriminator="conv", g_norm="batch", d_norm="batch",
                loss="wasserstein", optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5, n_critic=5, clip=0.01)


@FAMILIES.register("wgan-gp", paper="Gulrajani et al. 2017",
                   summary="gradient penalty lambda=10 on interpolates, no batch norm in the critic, Adam(1e-4, 0, 0.9), n_critic=5")
def wgan_gp() -> dict[str, Any]:
    return dict(generator="conv", discriminator="conv", g_norm="batch", d_norm="layer",
                loss="wasserstein", optimizer="adam", lr_g=1e-4, lr_d=1e-4, beta1=0.0, beta2=0.9,
                n_critic=5, gp_lambda=10.0)


@FAMILIES.register("cgan", paper="Mirza & Osindero 2014; projection D: Miyato & Koyama 2018",
                   summary="DCGAN conditioned on manifest labels (gender, age bucket, race); projection=true for a projection D")
def cgan() -> dict[str, Any]:
    return {**dcgan(), "cond_keys": ("gender", "age", "race")}


def _stylegan_common() -> dict[str, Any]:
    return dict(generator="style", inputs="style", z_dim=512, mapping_layers=8, mbstd=True, mixing=0.9,
                loss="nonsaturating", optimizer="adam", beta1=0.0, beta2=0.99, ema=0.999, g_norm="none",
                d_norm="none")


@FAMILIES.register("stylegan", paper="Karras et al. 2019",
                   summary="mapping network, AdaIN styles, per-layer noise, progressive growing with fade-in "
                           "(grow steps per phase from 8 px), style mixing, R1, EMA; width=... scales it")
def stylegan() -> dict[str, Any]:
    return {**_stylegan_common(), "discriminator": "progressive", "style": "adain", "g_arch": "progressive",
            "grow": 100, "grow_from": 8, "lr_g": 1e-3, "lr_d": 1e-3, "r1_gamma": 10.0}


@FAMILIES.register("stylegan2", paper="Karras et al. 2020",
                   summary="weight modulation/demodulation, skip generator, residual D, lazy R1 (every 16), "
                           "style mixing, EMA; path length with pl_weight=2; width=... scales it")
def stylegan2() -> dict[str, Any]:
    return {**_stylegan_common(), "discriminator": "resnet", "style": "modulated", "g_arch": "skip",
            "lr_g": 2e-3, "lr_d": 2e-3, "r1_gamma": 1.0, "r1_every": 16}


@FAMILIES.register("srgan", paper="Ledig et al. 2017",
                   summary="x4 face super-resolution: SRResNet G fed size/4 px, VGG-style D, pixel MSE + feature "
                           "loss (D features; VGG19 with vgg_weights=FILE) + 1e-3 adversarial")
def srgan() -> dict[str, Any]:
    return dict(generator="srresnet", discriminator="vgg", inputs="lowres", g_ch=64, d_ch=64, sr_factor=4,
                sr_blocks=16, loss="nonsaturating", optimizer="adam", lr_g=1e-4, lr_d=1e-4, beta1=0.9,
                beta2=0.999, adv_weight=1e-3, pixel_weight=1.0, perceptual_weight=0.006)


for _name, _assign, _paper in [
    ("spectral-norm", "spectral_norm=true", "Miyato et al. 2018: D weights divided by their top singular value"),
    ("minibatch-discrimination", "mbdisc=16", "Salimans et al. 2016: learned-tensor layer comparing samples in a batch"),
    ("minibatch-stddev", "mbstd=true", "Karras et al. 2018: batch standard deviation as an extra D feature map"),
    ("unrolled", "unroll=5", "Metz et al. 2016: G is updated against D after k look-ahead steps; D is restored"),
    ("r1", "r1_gamma=10", "Mescheder et al. 2018: gradient penalty on real data"),
    ("diffaugment", "diffaug=color,translation,cutout", "Zhao et al. 2020: the same differentiable augmentation on real and fake"),
    ("ttur", "lr_g=1e-4 lr_d=4e-4", "Heusel et al. 2017: two-timescale learning rates"),
    ("path-length", "pl_weight=2", "Karras et al. 2020: path length regularisation of G (lazy, every 4 steps)"),
    ("style-mixing", "mixing=0.9", "Karras et al. 2019: a second latent's styles from a random layer on"),
    ("ema", "ema=0.999", "exponential moving average of G weights, used for sampling"),
    ("hinge", "loss=hinge", "hinge loss"),
    ("least-squares", "loss=least_squares", "Mao et al. 2017: least-squares loss"),
]:
    SWITCHES.register(_name, summary=_paper)(_assign)
