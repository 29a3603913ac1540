"""torchrun support: process group from the environment, rank-0 I/O, broadcasting small values."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    def device(self, base: torch.device) -> torch.device:
        """This process's device: its own GPU (``LOCAL_RANK``) under torchrun on CUDA, else ``base``."""
        if self.enabled and base.type == "cuda":
            torch.cuda.set_device(self.local_rank)
            return torch.device("cuda", self.local_rank)
        return base


def setup(device: torch.device) -> Dist:
    """Join the process group torchrun describes in the environment (gloo on CPU, NCCL on CUDA)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def broadcast(value: Any, d: Dist) -> Any:
    """Rank 0's ``value`` on every rank."""
    if not d.enabled:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def wrap(module: torch.nn.Module, d: Dist, device: torch.device) -> torch.nn.Module:
    """The module in DistributedDataParallel when running under torchrun, else itself."""
    if not d.enabled:
        return module
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(module, device_ids=[d.local_rank] if device.type == "cuda" else None)


def teardown() -> None:
    """Leave the process group if this process joined one."""
    if dist.is_initialized():
        dist.destroy_process_group()


def launched_rank() -> int:
    """This process's rank as torchrun set it (0 outside torchrun)."""
    return int(os.environ.get("RANK", "0"))
