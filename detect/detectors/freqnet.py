"""freqnet (Tan et al., AAAI 2024, "Frequency-Aware Deepfake Detection"): high-frequency
representations of the image and of the features, and convolutions on their amplitude and
phase spectra, in a small network trained from scratch.

The network is made to look only where generators leave their traces (high frequencies)
and nowhere else, which is what lets it carry over to generators it never saw.
"""

from __future__ import annotations

from typing import Any

from assay.detect.base import DETECTORS
from assay.detect.detectors.torchdet import TorchDetector


@DETECTORS.register("freqnet")
class FreqNetDetector(TorchDetector):
    name = "freqnet"

    def __init__(self, width: int = 32, **kwargs: Any) -> None:
        self.width = width
        super().__init__(**kwargs)

    def build_module(self) -> Any:
        from assay.detect.nets import FreqNet

        return FreqNet(self.width)
