"""cnn: a timm backbone by name (resnet18, resnet50, efficientnet_b0, xception41, ...) with one logit.

Trained from scratch; ``weights`` names a local file of pretrained backbone weights
(safetensors or a torch state dict) loaded before training, classifier head excluded.
Nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay.detect.base import DETECTORS
from assay.detect.detectors.torchdet import TorchDetector


def load_backbone_weights(model: Any, path: str) -> dict[str, int]:
    """Load matching tensors from a local file into ``model``; returns counts of loaded/skipped keys."""
    import torch

    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"pretrained weights file not found: {file}")
    if file.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(file))
    else:
        state = torch.load(file, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not usable:
        raise ValueError(f"{file}: no tensor matches the backbone (wrong architecture?)")
    model.load_state_dict(usable, strict=False)
    return {"loaded": len(usable), "skipped": len(state) - len(usable)}


@DETECTORS.register("cnn")
class CNNDetector(TorchDetector):
    """timm backbone + binary head on native-resolution tiles."""

    name = "cnn"

    def __init__(self, backbone: str = "resnet18", weights: str | None = None, **kwargs: Any) -> None:
        self.backbone, self.weights = backbone, weights
        super().__init__(**kwargs)

    def build_module(self) -> Any:
        import timm

        if self.backbone not in timm.list_models():
            raise ValueError(f"unknown timm backbone {self.backbone!r} (see timm.list_models())")
        return timm.create_model(self.backbone, pretrained=False, num_classes=1, in_chans=3)

    def before_fit(self) -> None:
        if self.weights:
            load_backbone_weights(self.model, self.weights)
