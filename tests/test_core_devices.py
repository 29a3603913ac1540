"""The CPU paths of the device and torchrun helpers (the 2-process paths: tests/test_forge_ddp.py)."""

from __future__ import annotations

import pytest
import torch

from assay.core import devices
from assay.core.errors import InputError


@pytest.fixture
def no_torchrun(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)


def test_pick_device() -> None:
    assert devices.pick_device("cpu") == torch.device("cpu")
    assert devices.pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(InputError, match="device must be one of auto, cpu, cuda, got 'tpu'"):
        devices.pick_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present")
def test_asking_for_cuda_without_it_is_an_error() -> None:
    with pytest.raises(InputError, match="CUDA is not available"):
        devices.pick_device("cuda")


def test_autocast_and_layout_change_nothing_on_the_cpu() -> None:
    cpu = torch.device("cpu")
    a = torch.ones(4, 4)
    with devices.autocast(cpu):
        assert (a @ a).dtype == torch.float32
    assert devices.memory_format(cpu) == torch.contiguous_format
    assert devices.memory_format(torch.device("cuda")) == torch.channels_last


def test_rank_predicate_and_group_helpers_outside_torchrun(no_torchrun: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert devices.is_main_process() and devices.launched_world() == 1
    d = devices.setup(torch.device("cpu"))
    assert d == devices.current() == devices.Dist() and d.is_main and not d.enabled
    module = torch.nn.Linear(2, 2)
    assert devices.wrap(module, d, torch.device("cpu")) is module
    assert devices.broadcast({"id": 3}, d) == {"id": 3}
    devices.teardown()
    monkeypatch.setenv("RANK", "1")
    assert not devices.is_main_process()
