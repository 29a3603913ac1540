"""Shared fixtures: a fresh workspace per test, and the real face data where it exists."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import pytest

from assay.core.workspace import Workspace

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
# torch-fidelity's wheel ships a top-level ``tests`` package into site-packages, which would shadow this
# folder in ``from tests.x import ...``; make ``tests`` mean this folder
_tests = types.ModuleType("tests")
_tests.__path__ = [str(REPO / "tests")]
sys.modules["tests"] = _tests
SHARED_DATA = Path(os.environ.get("ASSAY_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


@pytest.fixture
def shared_data() -> Path:
    """../shared/data (UTKFace, LFW); tests that use it skip with the reason where it is absent."""
    if not (SHARED_DATA / "utkface").is_dir():
        pytest.skip(f"real face data not found at {SHARED_DATA} (a user's clone has no ../shared)")
    return SHARED_DATA
