"""Devices and torchrun, one set of helpers for every trainer.

CPU works everywhere; on CUDA the work runs under bf16 autocast with channels_last tensors.
Under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment) each process joins the process
group (gloo on CPU, NCCL on CUDA), takes its own GPU, wraps its modules in
DistributedDataParallel, and only rank 0 does the I/O.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from assay.core.errors import InputError

DEVICES = ("auto", "cpu", "cuda")
#: inference precisions: ``auto`` is bf16 on CUDA and fp32 on the CPU
PRECISIONS = ("auto", "fp32", "bf16")


def pick_device(name: str = "auto") -> torch.device:
    """``auto`` (CUDA when present, else the CPU), ``cpu`` or ``cuda``."""
    if name not in DEVICES:
        raise InputError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("device=cuda was asked for but CUDA is not available")
    return torch.device(name)


def autocast(device: torch.device, precision: str = "auto") -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA, and on the CPU too for ``precision`` bf16; fp32 (a context that changes
    nothing) on the CPU by default and everywhere for ``precision`` fp32."""
    if precision not in PRECISIONS:
        raise InputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def memory_format(device: torch.device) -> torch.memory_format:
    """channels_last on CUDA, the ordinary contiguous layout elsewhere."""
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


def inference_copy(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """A copy of ``module`` for inference on ``device``, in eval mode: each BatchNorm folded into the
    convolution before it (``torch.fx``), channels_last (oneDNN's and cuDNN's faster layout for
    convolutions, on the CPU as on CUDA). A module fx cannot trace is not copied: ``module`` itself,
    moved to ``device`` in eval mode."""
    from torch.fx.experimental.optimization import fuse

    module.eval()
    try:
        folded = fuse(module)
    except Exception:  # fx could not trace it (data-dependent control flow): as it is
        return module.to(device)
    return folded.to(device, memory_format=torch.channels_last).eval()


def launched_world() -> int:
    """How many processes torchrun started (1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def launched_rank() -> int:
    """This process's rank as torchrun set it (0 outside torchrun)."""
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """Whether this process is rank 0 (of the joined group, else of torchrun's environment): the one that writes."""
    return (dist.get_rank() if dist.is_available() and dist.is_initialized() else launched_rank()) == 0


@dataclass(frozen=True)
class Dist:
    """This process's place in the process group; the default is a single process."""

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


def current() -> Dist:
    """The process group this process has joined, or a single process when it has joined none."""
    if dist.is_available() and dist.is_initialized():
        return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    return Dist()


def setup(device: torch.device) -> Dist:
    """Join the process group torchrun describes in the environment (gloo on CPU, NCCL on CUDA)."""
    if launched_world() <= 1:
        return Dist()
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return current()


def teardown() -> None:
    """Leave the process group if this process joined one, all ranks together: a rank that tears its
    gloo pairs down while a peer is still in a collective can abort that peer."""
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        except RuntimeError:  # a peer already gone (it failed): leave all the same
            pass
        dist.destroy_process_group()


def wrap(module: torch.nn.Module, d: Dist, device: torch.device) -> torch.nn.Module:
    """The module in DistributedDataParallel when running under torchrun, else itself."""
    if not d.enabled:
        return module
    return DistributedDataParallel(module, device_ids=[d.local_rank] if device.type == "cuda" else None)


def agree_max(value: int, d: Dist) -> int:
    """The largest of every rank's ``value`` (so that all ranks take the same decision), on every rank."""
    if not d.enabled:
        return value
    box = torch.tensor([value], dtype=torch.int64, device="cuda" if dist.get_backend() == "nccl" else "cpu")
    dist.all_reduce(box, op=dist.ReduceOp.MAX)
    return int(box.item())


def choose_threads(setting: str | int, world: int = 1) -> tuple[int, str]:
    """torch CPU threads for ``setting`` (a number, or ``auto``; 0, as older runs saved it, means auto) and why.

    ``auto`` takes the cores this process may use (its affinity) that the 1-minute load average leaves
    free, counting this process itself as one runnable, shared among the ``world`` processes of a
    torchrun job; at least one. Small networks on a busy machine run much slower with more threads
    than free cores (threads wait on each other), and faster with them on a quiet one.
    """
    if str(setting) not in ("auto", "0"):
        return int(setting), f"threads={setting} was set"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    load = os.getloadavg()[0]
    free = max(1, min(cores, math.floor(cores - load + 1)))
    threads = max(1, free // world)
    share = f", shared by {world} processes" if world > 1 else ""
    return threads, f"auto: {cores} usable cores, 1-min load {load:.2f} (this process included) -> {free} free{share}"


def broadcast(value: Any, d: Dist) -> Any:
    """Rank 0's ``value`` on every rank."""
    if not d.enabled:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
