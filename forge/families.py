"""The GAN families as named presets of :class:`forge.config.GanConfig`, and the stabiliser switches.

A family is a function returning the settings it makes (``key: value`` as ``--set`` takes them:
``"loss"``, ``"g.name"``, ``"d.mbstd"``), registered in ``FAMILIES`` beside its networks in its module
of ``forge.networks``; the registry imports that package on its first lookup.
"""

from __future__ import annotations

from typing import Any, Callable

from assay.core.registry import Registry

FAMILIES: Registry[Callable[[], dict[str, Any]]] = Registry("GAN family", modules=["assay.forge.networks"])
#: stabiliser switches: name -> the ``--set`` assignment that turns it on (shown by ``assay forge presets``)
SWITCHES: Registry[str] = Registry("stabiliser")


for _name, _assign, _paper in [
    ("spectral-norm", "d.spectral_norm=true", "Miyato et al. 2018: D weights divided by their top singular value"),
    ("minibatch-discrimination", "d.mbdisc=16", "Salimans et al. 2016: learned-tensor layer comparing samples in a batch"),
    ("minibatch-stddev", "d.mbstd=true", "Karras et al. 2018: batch standard deviation as an extra D feature map"),
    ("unrolled", "unroll=5", "Metz et al. 2016: G is updated against D after k look-ahead steps; D is restored"),
    ("r1", "r1_gamma=10", "Mescheder et al. 2018: gradient penalty on real data"),
    ("diffaugment", "diffaug=color,translation,cutout", "Zhao et al. 2020: the same differentiable augmentation on real and fake"),
    ("ttur", "lr_g=1e-4 lr_d=4e-4", "Heusel et al. 2017: two-timescale learning rates"),
    ("path-length", "pl_weight=2", "Karras et al. 2020: path length regularisation of G (lazy, every 4 steps)"),
    ("style-mixing", "g.mixing=0.9", "Karras et al. 2019: a second latent's styles from a random layer on"),
    ("ema", "ema=0.999", "exponential moving average of G weights, used for sampling"),
    ("hinge", "loss=hinge", "hinge loss"),
    ("least-squares", "loss=least_squares", "Mao et al. 2017: least-squares loss"),
]:
    SWITCHES.register(_name, summary=_paper)(_assign)
