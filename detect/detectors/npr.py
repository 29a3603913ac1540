"""npr (Tan et al., CVPR 2024): the neighbouring-pixel residual x - up(down(x)) into a small CNN.

The residual isolates the traces of 2x up-sampling that most generators share, so the
detector depends less on any one generator's content or colours.
"""

from __future__ import annotations

from typing import Any

from assay.detect.base import DETECTORS
from assay.detect.detectors.torchdet import TorchDetector


@DETECTORS.register("npr")
class NPRDetector(TorchDetector):
    name = "npr"

    def __init__(self, width: int = 32, **kwargs: Any) -> None:
        self.width = width
        super().__init__(**kwargs)

    def build_module(self) -> Any:
        from assay.detect.nets import NPRNet

        return NPRNet(self.width)
