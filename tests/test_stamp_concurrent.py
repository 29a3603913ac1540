"""Writers that cannot overwrite each other: two stamps into one --out never leave a ready record pointing at
another run's bytes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assay.core.imageio import save
from assay.provenance.keys.signing import SigningIdentity, default_keys_dir, keygen
from assay.provenance.stamp import files
from assay.provenance.stamp.files import OutputExists, stamp_to
from assay.provenance.stamp.options import StampOptions
from assay.provenance.stamp.records import READY, RETIRED
from tests.conftest import REPO
from tests.helpers.images import smooth_image

OPTIONS = StampOptions(labels=("xmp", "c2pa"))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_every_record_points_at_its_own_bytes(ws, out: Path) -> None:
    ready = [r for r in ws.catalog.list("provenance") if r.status == READY]
    written = sorted(out.glob("*.png"))
    assert sorted(Path(r.path) for r in ready) == written  # one ready record per file, none for another's
    for rec in ready:
        assert rec.params["file_sha256"] == _sha(Path(rec.path)), rec.id
    assert not list(out.glob(".*"))  # no temporary left behind


def test_a_run_that_loses_the_race_for_an_output_keeps_nothing(ws, tmp_path, monkeypatch) -> None:
    keygen(default_keys_dir(ws))
    identity = SigningIdentity.from_dir(default_keys_dir(ws))
    for seed in (1, 2):
        save(smooth_image(64, seed), tmp_path / f"src{seed}.png")
    out = tmp_path / "out" / "face.png"
    real_add = files.add_record

    def other_run_first(*args, **kwargs):  # the other run writes the same output between our check and our write
        monkeypatch.setattr(files, "add_record", real_add)
        stamp_to(tmp_path / "src2.png", out, identity, OPTIONS, ws)
        return real_add(*args, **kwargs)

    monkeypatch.setattr(files, "add_record", other_run_first)
    with pytest.raises(OutputExists, match="another run"):
        stamp_to(tmp_path / "src1.png", out, identity, OPTIONS, ws)
    statuses = sorted(r.status for r in ws.catalog.list("provenance"))
    assert statuses == [READY, RETIRED]
    _check_every_record_points_at_its_own_bytes(ws, out.parent)


def test_two_stamps_into_one_folder_every_record_points_at_its_own_bytes(ws, tmp_path) -> None:
    keygen(default_keys_dir(ws))
    n = 12
    for run in ("a", "b"):
        for i in range(n):  # the same names, different pictures
            save(smooth_image(48, i + (100 if run == "b" else 0)), tmp_path / run / f"f{i:02d}.png")
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "assay", "--workspace", str(ws.root), "provenance", "stamp",
                               str(tmp_path / run), "--out", str(tmp_path / "out"), "--labels", "xmp,c2pa", "--json"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for run in ("a", "b")]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode in (0, 1) for p in procs), outputs  # 1: some outputs were the other run's
    assert len(list((tmp_path / "out").glob("*.png"))) == n
    _check_every_record_points_at_its_own_bytes(ws, tmp_path / "out")
