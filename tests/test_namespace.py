"""One import namespace: `assay` is the only top-level package we install; each subsystem has a public face."""

from __future__ import annotations

import importlib
import os
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

SUBSYSTEMS = ("data", "forge", "detect", "provenance", "dashboard", "serve")
#: modules that would shadow a top-level `data`, `forge` or `detect` package if one were installed
SHADOWS = ("data", "forge", "detect")


def _shadowing_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in SHADOWS:
        (folder / f"{name}.py").write_text(f"raise SystemExit('imported the stray {name}.py')\n")
    return folder


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@pytest.mark.parametrize("name", SUBSYSTEMS)
def test_public_face_names_resolve_and_shadow_no_module(name: str) -> None:
    package = importlib.import_module(f"assay.{name}")
    modules = {m.name for m in pkgutil.iter_modules(package.__path__)}
    assert package.__all__ and not set(package.__all__) & modules  # `from assay.x import y` names no module
    for public in package.__all__:
        assert getattr(package, public) is not None
        assert public in dir(package)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        getattr(package, "nope")


def test_python_m_assay_runs_from_a_folder_holding_data_forge_and_detect(tmp_path: Path) -> None:
    folder = _shadowing_folder(tmp_path / "cwd")
    proc = subprocess.run([sys.executable, "-m", "assay", "--help"], cwd=folder, env=_clean_env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert all(command in proc.stdout for command in ("data", "forge", "detect", "provenance", "dashboard"))


def test_a_wheel_installs_only_assay_and_runs(tmp_path: Path) -> None:
    """Build a wheel of the working tree, install it without dependencies into a fresh venv (the dependencies
    come from this venv's site-packages, added by path), and run it from a folder of stray modules."""
    src = tmp_path / "src"
    shutil.copytree(REPO, src, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "tests", "benchmarks", "docs", "node_modules", "build", "*.egg-info", "assay-workspace",
        "__pycache__"))
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                            str(wheels), str(src)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                              *map(str, wheels.glob("*.whl"))], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    site = next((venv / "lib").glob("python*/site-packages"))
    assert sorted(p.name for p in site.iterdir()) == ["assay", "assay-0.1.0.dist-info"]
    (site / "dependencies.pth").write_text(str(Path(importlib.import_module("typer").__file__).parents[1]) + "\n")
    folder = _shadowing_folder(tmp_path / "cwd")
    run = subprocess.run([str(python), "-m", "assay", "--help"], cwd=folder, env=_clean_env(), capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0 and "provenance" in run.stdout, run.stderr[-2000:]
    probe = ("import assay.provenance as p, assay.forge.training as t; "
             "print(sorted(p.profiles()), t.__file__)")
    got = subprocess.run([str(python), "-c", probe], cwd=folder, env=_clean_env(), capture_output=True, text=True,
                         timeout=300)
    assert got.returncode == 0, got.stderr[-2000:]
    assert "eu-ai-act-art50" in got.stdout and str(site) in got.stdout  # profiles shipped; code from the wheel
