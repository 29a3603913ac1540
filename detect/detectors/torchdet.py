"""Shared training and inference for CNN detectors: native-resolution tiles, AdamW, cosine LR.

Training takes one random tile per image per epoch, at native pixel scale or from one of
the downscaled copies ``scales`` names (chosen at random): a random window of twice the tile
side (at a multiple of 8 pixels, so the JPEG grid is kept) is cut first and augmented, so a
1350 px photo costs what a 128 px one does. Inference scores a grid of tiles of the image and
of each downscaled copy and averages their logits. Nothing is ever up-sampled: a scale above
1 is refused, and an image smaller than the tile is padded, not enlarged. ``view_side`` makes
the detector look at every image area-downscaled to that short side first (smaller images as
they are), so that faces of any size are seen at one content scale. Inference runs on a copy of
the network with its BatchNorms folded into the convolutions, in channels_last, ``inference_batch``
tiles a forward pass, at ``precision`` (``auto``: bf16 autocast on CUDA, fp32 on the CPU; ``bf16``
on both; ``fp32`` on both); the copy is made again whenever a weight changed. On CUDA
the loop runs under bf16 autocast with channels_last tensors; when ``torch.distributed`` is
initialised (``torchrun``) the model is wrapped in DistributedDataParallel, each rank takes
its share of every epoch, and only rank 0 writes.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from assay.detect.base import Images
from assay.detect.detectors.scored import ScoredDetector, check_fit_input
from assay.detect.tiling import grid_tiles, random_tile

WEIGHTS = "model.safetensors"


def device() -> "Any":
    """This process's device: CUDA when present (its own GPU under torchrun), else the CPU."""
    from assay.core.devices import current, pick_device

    return current().device(pick_device("auto"))


class TorchDetector(ScoredDetector):
    """Subclasses build ``self.model`` in :meth:`build_module` (input: N x 3 x tile x tile in [-1, 1])."""

    #: True where the network sees a frequency map rather than image positions (no Grad-CAM then)
    frequency_domain: ClassVar[bool] = False

    def __init__(self, tile: int = 64, epochs: int = 10, batch_size: int = 32, lr: float = 1e-3,
                 weight_decay: float = 0.05, max_tiles: int = 16, scales: Sequence[float] = (1.0,),
                 view_side: int | None = None, precision: str = "auto", inference_batch: int = 128,
                 seed: int = 0) -> None:
        from assay.core.devices import PRECISIONS

        super().__init__()
        if tile % 2:
            raise ValueError(f"tile must be even, got {tile}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if inference_batch < 1:
            raise ValueError(f"inference_batch must be >= 1, got {inference_batch}")
        self.precision, self.inference_batch = precision, inference_batch
        #: (device, weight versions) -> the inference copy made for them (:meth:`inference_model`)
        self._inference: tuple[tuple[Any, ...], Any] | None = None
        if view_side is not None and view_side < tile:
            raise ValueError(f"view_side ({view_side}) must be at least the tile ({tile})")
        self.view_side = view_side
        self.scales = [float(s) for s in ([scales] if isinstance(scales, (int, float)) else scales)]
        if not self.scales or any(not 0.0 < s <= 1.0 for s in self.scales):
            raise ValueError(f"scales must lie in (0, 1] (copies are only ever downscaled), got {scales}")
        self.tile, self.epochs, self.batch_size, self.lr = tile, epochs, batch_size, lr
        self.weight_decay, self.max_tiles, self.seed = weight_decay, max_tiles, seed
        import torch

        with torch.random.fork_rng(devices=[]):  # seeded weights without touching the global generator
            torch.manual_seed(seed)
            self.model = self.build_module()
        #: optional (images, labels) scored after every epoch into the curves
        self.eval_set: tuple[Images, np.ndarray] | None = None

    @abstractmethod
    def build_module(self) -> "Any":
        """The torch module: N x 3 x H x W float in [-1, 1] -> N x 1 logits."""

    def gradcam_layer(self) -> "Any":
        """The last convolution of :attr:`model` (the layer Grad-CAM reads)."""
        from assay.detect.nets import last_conv

        return last_conv(self.model)

    def to_tensor(self, tiles: list[np.ndarray], layout: "Any" = None, dev: "Any" = None) -> "Any":
        """uint8 tiles -> float tensor N x 3 x H x W in [-1, 1] on ``dev`` (default: this process's
        :func:`device`), in ``layout`` (default: the training layout, :func:`assay.core.devices.memory_format`)."""
        import torch

        from assay.core.devices import memory_format

        dev = dev or device()
        x = torch.from_numpy(np.stack(tiles)).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
        return x.to(dev).contiguous(memory_format=layout or memory_format(dev))

    def inference_model(self, dev: "Any") -> "Any":
        """:attr:`model` prepared for inference on ``dev`` (:func:`assay.core.devices.inference_copy`),
        kept until a weight changes (training steps and loads bump the tensors' versions)."""
        from assay.core.devices import inference_copy

        key = (str(dev), *(p._version for p in self.model.parameters()),
               *(b._version for b in self.model.buffers()))
        if self._inference is None or self._inference[0] != key:
            self._inference = (key, inference_copy(self.model, dev))
        return self._inference[1]

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (to a scan's worker processes) without the inference copy: each makes its own."""
        return {**self.__dict__, "_inference": None}

    def forward_tiles(self, tiles: list[np.ndarray], dev: "Any") -> "Any":
        """Logits (CPU float tensor) of uint8 tiles, ``inference_batch`` at a time, on the inference copy."""
        import torch

        from assay.core.devices import autocast

        model, out = self.inference_model(dev), []
        with torch.inference_mode(), autocast(dev, self.precision):
            for start in range(0, len(tiles), self.inference_batch):
                x = self.to_tensor(tiles[start:start + self.inference_batch], torch.channels_last, dev)
                out.append(model(x).float().reshape(-1).cpu())
        return torch.cat(out)

    def view(self, image: np.ndarray) -> np.ndarray:
        from assay.detect.scale import downscale_to

        return downscale_to(image, self.view_side) if self.view_side else image

    def view_short_side(self) -> int | None:
        return self.view_side

    def copies(self, image: np.ndarray) -> list[np.ndarray]:
        """The image at native scale and its downscaled copies (those still a tile wide)."""
        from assay.detect.augment import rescale

        out = [image if s == 1.0 else rescale(image, s) for s in self.scales
               if s == 1.0 or min(image.shape[:2]) * s >= self.tile]
        return out or [image]

    def training_tile(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One training tile: a scale, a window of twice the tile side, the augmentation, a random tile."""
        from assay.detect.augment import rescale

        scale = float(rng.choice(self.scales))
        window = 2 * self.tile
        if scale < 1.0 and min(image.shape[:2]) * scale >= self.tile:
            side = int(np.ceil(window / scale))
            h, w = image.shape[:2]
            if min(h, w) > side:
                y, x = int(rng.integers(0, h - side + 1)) & ~7, int(rng.integers(0, w - side + 1)) & ~7
                image = image[y:y + side, x:x + side]
            image = rescale(image, scale)
        h, w = image.shape[:2]
        if min(h, w) > window:
            y, x = int(rng.integers(0, h - window + 1)) & ~7, int(rng.integers(0, w - window + 1)) & ~7
            image = np.ascontiguousarray(image[y:y + window, x:x + window])
        if self.augment:
            image = self.augment(image, rng)
        return random_tile(image, self.tile, rng)

    def before_fit(self) -> None:
        """Hook run once before training (e.g. loading pretrained weights)."""

    def fit(self, images: Images, y: np.ndarray) -> "TorchDetector":
        import torch
        from torch import nn

        from assay.core.devices import autocast, current, memory_format, wrap

        y = check_fit_input(images, y)
        images = [self.view(img) for img in images]
        self.before_fit()
        dev, d = device(), current()
        rank, world = d.rank, d.world
        model = wrap(self.model.to(dev, memory_format=memory_format(dev)), d, dev)
        opt = torch.optim.AdamW(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        steps_per_epoch = max(1, int(np.ceil(len(images) / world / self.batch_size)))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.epochs * steps_per_epoch)
        loss_fn = nn.BCEWithLogitsLoss()
        rng = np.random.default_rng(self.seed + rank)
        order_rng = np.random.default_rng(self.seed)  # same permutation on every rank
        self.history = []
        from tqdm import tqdm

        bar = tqdm(range(self.epochs), desc=f"training {self.name}", unit="epoch", leave=False, disable=rank != 0)
        for epoch in bar:
            t0 = time.perf_counter()
            model.train()
            perm = order_rng.permutation(len(images))
            order = perm[: len(perm) - len(perm) % world][rank::world]  # equal shares: no rank waits on another
            total, correct, seen = 0.0, 0, 0
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                tiles = [self.training_tile(images[i], rng) for i in idx]
                x = self.to_tensor(tiles)
                t = torch.as_tensor(y[idx], dtype=torch.float32, device=dev)
                with autocast(dev):
                    logits = model(x).float().squeeze(1)
                loss = loss_fn(logits, t)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total += loss.detach().item() * len(idx)
                correct += int(((logits > 0).long() == t.long()).sum())
                seen += len(idx)
            row = {"epoch": epoch + 1, "loss": total / max(seen, 1), "accuracy": correct / max(seen, 1),
                   "lr": sched.get_last_lr()[0], "seconds": time.perf_counter() - t0}
            if self.eval_set is not None and rank == 0:
                from sklearn.metrics import roc_auc_score

                ev_images, ev_y = self.eval_set
                row["val_auc"] = float(roc_auc_score(ev_y, self.decision_function(ev_images)))
            self.history.append(row)
            bar.set_postfix(loss=f"{row['loss']:.3f}", acc=f"{row['accuracy']:.3f}")
        self.model = model.module if d.enabled else model
        return self

    def decision_function(self, images: Images) -> np.ndarray:
        dev = device()
        tiles, owner = [], []
        for i, img in enumerate(images):
            for copy in self.copies(self.view(img)):
                for t in grid_tiles(copy, self.tile, self.max_tiles):
                    tiles.append(t)
                    owner.append(i)
        if not tiles:
            return np.zeros(0)
        logits = self.forward_tiles(tiles, dev).numpy().astype(np.float64)
        sums = np.bincount(owner, weights=logits, minlength=len(images))
        return sums / np.bincount(owner, minlength=len(images))

    def save_weights(self, folder: Path) -> None:
        from safetensors.torch import save_model

        from assay.core.fileio import atomic_path

        with atomic_path(folder / WEIGHTS) as tmp:
            save_model(self.model.cpu(), str(tmp))

    def load_weights(self, folder: Path) -> None:
        from safetensors.torch import load_model

        load_model(self.model, str(folder / WEIGHTS))
        self.model.eval()
