"""Shared fixtures: a fresh workspace per test, and the real face data where it exists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assay.core.workspace import Workspace

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
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


@pytest.fixture(scope="session")
def dashboard_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """One filled workspace for every dashboard test (see tests/helpers/dashboard.py); treat it as read-only
    except where a test says what it adds."""
    from tests.helpers.dashboard import build_workspace

    return build_workspace(tmp_path_factory.mktemp("dashboard") / "ws")


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server for the test session (tests.helpers.pg_server). Skipped where the server or psycopg
    is absent, unless CI is set: there a missing PostgreSQL fails the run."""
    from tests.helpers.pg_server import PgServer, bin_dir

    try:
        import psycopg  # noqa: F401
    except ImportError:
        psycopg = None
    reason = ("PostgreSQL server binaries (initdb, pg_ctl) not found" if bin_dir() is None else
              "psycopg not installed (pip install assay[postgres])" if psycopg is None else None)
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI runs every catalog test on PostgreSQL (`make test` installs it)")
        pytest.skip(reason)
    with PgServer() as server:
        yield server
