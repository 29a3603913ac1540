"""The detector contract (scikit-learn shaped) and the registry every detector joins.

Images are sequences of H x W x 3 uint8 RGB arrays of any size: detectors look at pixels at
native resolution (crops or tiles, never an upscaled copy). Label 1 means synthetic.
``predict_proba`` returns an (N, 2) array of [P(real), P(synthetic)], calibrated where the
detector has been calibrated.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from assay.core.fileio import atomic_write_json, read_json
from assay.core.registry import Registry

Images = Sequence[np.ndarray]

#: name -> Detector subclass
DETECTORS: Registry[type["Detector"]] = Registry("detector")
CONFIG_FILE = "detector.json"


class Detector(ABC):
    """Base class: ``fit`` / ``predict_proba`` / ``save`` / ``load``."""

    name: ClassVar[str]

    @abstractmethod
    def fit(self, images: Images, y: np.ndarray) -> "Detector":
        """Train on images with labels (0 real, 1 synthetic); returns self."""

    @abstractmethod
    def predict_proba(self, images: Images) -> np.ndarray:
        """(N, 2) array of [P(real), P(synthetic)]."""

    @abstractmethod
    def get_config(self) -> dict[str, Any]:
        """JSON-serialisable constructor arguments."""

    @abstractmethod
    def save_state(self, folder: Path) -> None:
        """Write learned state (safetensors for tensors) into ``folder``."""

    @abstractmethod
    def load_state(self, folder: Path) -> None:
        """Read what :meth:`save_state` wrote."""

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.save_state(folder)
        atomic_write_json(folder / CONFIG_FILE, {"detector": self.name, "config": self.get_config()})

    @classmethod
    def load(cls, folder: str | Path) -> "Detector":
        """Rebuild whichever registered detector was saved in ``folder``."""
        import detect.detectors  # noqa: F401  (registers every detector)

        folder = Path(folder)
        meta = read_json(folder / CONFIG_FILE)
        det = DETECTORS.get(meta["detector"])(**meta["config"])
        det.load_state(folder)
        return det

    def predict(self, images: Images, threshold: float = 0.5) -> np.ndarray:
        return (self.predict_proba(images)[:, 1] >= threshold).astype(np.int64)
