"""The detector contract (scikit-learn shaped) and the registry every detector joins.

A detector is a class in a module of :mod:`detect.detectors` registered with
``@DETECTORS.register("name")``; the registry imports that package on its first lookup.

Images are sequences of H x W x 3 uint8 RGB arrays of any size: detectors look at pixels at
native resolution (crops or tiles, never an upscaled copy). Label 1 means synthetic.
``predict_proba`` returns an (N, 2) array of [P(real), P(synthetic)], calibrated where the
detector has been calibrated.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from assay.core.errors import ModelError
from assay.core.fileio import atomic_write_json, read_json
from assay.core.registry import Registry
from assay.detect.domain import DOMAIN_FILE, DomainProfile

Images = Sequence[np.ndarray]

#: name -> Detector subclass, filled by the modules of detect.detectors
DETECTORS: Registry[type["Detector"]] = Registry("detector", modules=["assay.detect.detectors"])
CONFIG_FILE = "detector.json"
#: the operating point set by ``assay detect calibrate`` on a user's own real photos
THRESHOLD_FILE = "threshold.json"


class Detector(ABC):
    """Base class: ``fit`` / ``predict_proba`` / ``save`` / ``load``.

    As in scikit-learn, every constructor argument is kept as an attribute of the same name,
    so :meth:`get_params` can read the configuration back; a constructor that takes
    ``**kwargs`` passes them to its parent's, whose arguments count as its own.
    """

    name: ClassVar[str]
    #: the training domain (recorded by training; None for a detector fitted by hand)
    domain: DomainProfile | None = None
    #: ``{"probability": p, "raw": z, "target_fpr": ...}`` from ``assay detect calibrate``, or None
    operating_point: dict[str, Any] | None = None

    @classmethod
    def param_names(cls) -> list[str]:
        """The constructor's argument names, the parents' that ``**kwargs`` reaches included."""
        names: list[str] = []
        for klass in cls.__mro__:
            if "__init__" not in vars(klass) or klass is object:
                continue
            params = list(inspect.signature(klass.__init__).parameters.values())[1:]
            names += [p.name for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name not in names]
            if not any(p.kind is p.VAR_KEYWORD for p in params):
                break
        return names

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments this detector was made with (JSON-serialisable)."""
        missing = [n for n in self.param_names() if not hasattr(self, n)]
        if missing:
            raise ModelError(f"{type(self).__name__} keeps no attribute for constructor argument(s) {', '.join(missing)}")
        return {n: getattr(self, n) for n in self.param_names()}

    @abstractmethod
    def fit(self, images: Images, y: np.ndarray) -> "Detector":
        """Train on images with labels (0 real, 1 synthetic); returns self."""

    @abstractmethod
    def predict_proba(self, images: Images) -> np.ndarray:
        """(N, 2) array of [P(real), P(synthetic)]."""

    @abstractmethod
    def save_state(self, folder: Path) -> None:
        """Write learned state (safetensors for tensors) into ``folder``."""

    @abstractmethod
    def load_state(self, folder: Path) -> None:
        """Read what :meth:`save_state` wrote."""

    def view(self, image: np.ndarray) -> np.ndarray:
        """The image as the detector looks at it (its own rescaling, where it has one)."""
        return image

    def view_short_side(self) -> int | None:
        """The short side :meth:`view` area-downscales a larger image to (None: it looks at native pixels)."""
        return None

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.save_state(folder)
        if self.domain is not None:
            atomic_write_json(folder / DOMAIN_FILE, self.domain.to_dict())
        if self.operating_point is not None:
            atomic_write_json(folder / THRESHOLD_FILE, self.operating_point)
        atomic_write_json(folder / CONFIG_FILE, {"detector": self.name, "config": self.get_params()})

    @classmethod
    def load(cls, folder: str | Path) -> "Detector":
        """Rebuild whichever registered detector was saved in ``folder``, with its domain and threshold."""
        folder = Path(folder)
        meta = read_json(folder / CONFIG_FILE)
        det = DETECTORS.get(meta["detector"])(**meta["config"])
        det.load_state(folder)
        if (folder / DOMAIN_FILE).exists():
            det.domain = DomainProfile.from_dict(read_json(folder / DOMAIN_FILE))
        if (folder / THRESHOLD_FILE).exists():
            det.operating_point = read_json(folder / THRESHOLD_FILE)
        return det

    def scores(self, images: Images) -> tuple[np.ndarray, np.ndarray | None]:
        """(calibrated P(synthetic), raw score or None): the raw score keeps the ranking where the
        calibrated probability is clipped."""
        return self.predict_proba(images)[:, 1], None

    def predict(self, images: Images, threshold: float = 0.5) -> np.ndarray:
        return (self.predict_proba(images)[:, 1] >= threshold).astype(np.int64)
