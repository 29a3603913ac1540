"""ensemble: stacks other detectors; a logistic regression over their logits.

The members are fitted on three quarters of the training images and the stacker on the
remaining quarter, so the stacker weighs each member by how it does on images it did not
see. The ensemble's own output is then calibrated like any other detector's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from assay.detect.base import DETECTORS, Images
from assay.detect.detectors.linear import LinearHead
from assay.detect.detectors.scored import ScoredDetector, check_fit_input

STACKER = "stacker.safetensors"


@DETECTORS.register("ensemble")
class EnsembleDetector(ScoredDetector):
    name = "ensemble"

    def __init__(self, members: list[str] | tuple[str, ...] = ("spectral", "dct", "npr"),
                 member_configs: dict[str, dict[str, Any]] | None = None, stack_fraction: float = 0.25,
                 seed: int = 0) -> None:
        super().__init__()
        if "ensemble" in members or not members:
            raise ValueError("an ensemble needs one or more member detectors other than 'ensemble'")
        self.members = list(members)
        self.member_configs = dict(member_configs or {})
        self.stack_fraction, self.seed = stack_fraction, seed
        self.detectors = [DETECTORS.create(n, **self.member_configs.get(n, {})) for n in self.members]
        self.stacker = LinearHead("logreg", 1.0)

    def member_logits(self, images: Images) -> np.ndarray:
        return np.stack([m.decision_function(images) for m in self.detectors], axis=1)

    def fit(self, images: Images, y: np.ndarray) -> "EnsembleDetector":
        y = check_fit_input(images, y)
        rng = np.random.default_rng(self.seed)
        hold = np.zeros(len(y), dtype=bool)
        for cls in (0, 1):
            idx = np.flatnonzero(y == cls)
            hold[rng.choice(idx, max(1, int(round(len(idx) * self.stack_fraction))), replace=False)] = True
        fit_imgs = [images[i] for i in np.flatnonzero(~hold)]
        stack_imgs = [images[i] for i in np.flatnonzero(hold)]
        self.history = []
        for m in self.detectors:
            m.augment = self.augment
            m.fit(fit_imgs, y[~hold])
            self.history += [{"member": m.name, **row} for row in m.history]
        self.stacker.fit(self.member_logits(stack_imgs), y[hold])
        return self

    def decision_function(self, images: Images) -> np.ndarray:
        return self.stacker.decision(self.member_logits(images))

    def save_weights(self, folder: Path) -> None:
        for i, m in enumerate(self.detectors):
            m.save(folder / "members" / f"{i}-{m.name}")
        self.stacker.save(folder / STACKER)

    def load_weights(self, folder: Path) -> None:
        for i, m in enumerate(self.detectors):
            m.load_state(folder / "members" / f"{i}-{m.name}")
        self.stacker.load(folder / STACKER)
