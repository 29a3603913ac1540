import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import assay.data.preparation as prep
from assay.core.imagesets import open_set
from assay.data.preparation import PrepareConfig, prepare
from assay.data.splits import assign_splits, cluster_identities

REPO = Path(__file__).resolve().parents[1]


def pattern(seed: int, size=(48, 64)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (6, 8, 3)).astype(np.uint8)
    return np.asarray(Image.fromarray(base).resize(size[::-1], Image.BICUBIC))


def make_identity_tree(root: Path, people=6, per_person=3) -> None:
    for p in range(people):
        folder = root / f"Person_{p}"
        folder.mkdir(parents=True)
        for i in range(per_person):
            Image.fromarray(pattern(p * 100 + i)).save(folder / f"Person_{p}_{i:04d}.png")


def add_bad_files(root: Path) -> dict[str, str]:
    bad = root / "Bad_Files"
    bad.mkdir()
    (bad / "empty.jpg").write_bytes(b"")
    jpeg = root / "Person_0" / "Person_0_0000.png"
    buf = Image.open(jpeg)
    buf.save(bad / "whole.jpg", quality=90)
    data = (bad / "whole.jpg").read_bytes()
    (bad / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (bad / "notes.png").write_text("not an image")
    Image.new("L", (5000, 5000)).save(bad / "bomb.png")
    os.symlink(bad / "loop_b.jpg", bad / "loop_a.jpg")
    os.symlink(bad / "loop_a.jpg", bad / "loop_b.jpg")
    (bad / "whole.jpg").unlink()
    return {"empty.jpg": "empty file", "truncated.jpg": "truncated", "notes.png": "not an image",
            "bomb.png": "decompression bomb", "loop_a.jpg": "symlink loop", "loop_b.jpg": "symlink loop"}


def test_identity_layout_center_crop_rejects_and_catalog(ws, tmp_path):
    src = tmp_path / "photos"
    make_identity_tree(src)
    expected = add_bad_files(src)
    cfg = PrepareConfig(size=32, align="center", workers=2, max_pixels=10_000_000)
    result = prepare(ws, src, "people", cfg)
    assert result.layout == "identity-folders"
    assert result.kept == 18
    reasons = {Path(r["source"]).name: r["reason"] for r in result.rejects}
    for name, why in expected.items():
        assert why in reasons[name], (name, reasons[name])
    assert all("\n" not in r for r in reasons.values())

    rec = ws.resolve("people")
    assert rec.kind == "datasets" and rec.params["count"] == 18 and rec.params["size"] == 32
    assert {r["source"] for r in ws.catalog.rejects(rec.id)} == {r["source"] for r in result.rejects}
    s = open_set(ws, "people")
    imgs = s.load()
    assert imgs.shape == (18, 32, 32, 3) and imgs.dtype == np.uint8
    by_person = defaultdict(set)
    for row in s.rows:
        assert row["label"] == "real" and row["split"] in {"train", "val", "test"}
        by_person[row["identity"]].add(row["split"])
    assert all(len(splits) == 1 for splits in by_person.values())
    assert (Path(rec.path) / "rejects.jsonl").exists()


def test_duplicates_are_dropped_before_splitting(ws, tmp_path):
    src = tmp_path / "dups"
    src.mkdir()
    for i in range(4):
        Image.fromarray(pattern(i)).save(src / f"img{i}.png")
    Image.fromarray(pattern(0)).save(src / "copy_of_0.bmp")  # same pixels, other bytes
    result = prepare(ws, src, "dups", PrepareConfig(size=32, align="none", workers=1))
    assert result.kept == 4
    dup = [r for r in result.rejects if "duplicate" in r["reason"]]
    assert len(dup) == 1
    assert dup[0]["source"] == "img0.png" and dup[0]["reason"].startswith("duplicate of copy_of_0.bmp")


def test_interrupted_run_resumes_without_redoing_files(ws, tmp_path, monkeypatch):
    src = tmp_path / "photos"
    make_identity_tree(src, people=4, per_person=2)
    cfg = PrepareConfig(size=32, align="center", workers=1)

    def stop_after_three(done, kept, rejected):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        prepare(ws, src, "resumable", cfg, progress=stop_after_three)
    assert ws.catalog.list("datasets") == []  # nothing half-registered

    calls = []
    real = prep.process_file
    monkeypatch.setattr(prep, "process_file", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    result = prepare(ws, src, "resumable", cfg)
    assert len(calls) == 8 - 3
    assert result.kept == 8 and len(open_set(ws, "resumable")) == 8


def test_rerun_with_same_name_is_refused(ws, tmp_path):
    src = tmp_path / "p"
    make_identity_tree(src, people=2, per_person=1)
    prepare(ws, src, "once", PrepareConfig(size=32, align="center", workers=1))
    with pytest.raises(Exception, match="already exists"):
        prepare(ws, src, "once", PrepareConfig(size=32, align="center", workers=1))


def test_splits_are_deterministic_and_keep_groups_whole():
    groups = [f"g{i % 37}" for i in range(500)]
    a = assign_splits(groups, seed=3)
    assert a == assign_splits(groups, seed=3)
    assert a != assign_splits(groups, seed=4)
    where = defaultdict(set)
    for g, s in zip(groups, a):
        where[g].add(s)
    assert all(len(v) == 1 for v in where.values())
    frac = a.count("train") / len(a)
    assert 0.7 < frac < 0.9
    with pytest.raises(ValueError, match="summing to 1"):
        assign_splits(groups, (0.5, 0.1, 0.1))


def test_embedding_clusters_follow_the_distance_threshold():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 128)).astype(np.float32)
    centres *= 3.0 / np.linalg.norm(centres, axis=1, keepdims=True)
    emb = np.concatenate([c + rng.normal(scale=0.02, size=(4, 128)) for c in centres])
    labels = cluster_identities(emb, 0.6)
    assert len(set(labels)) == 5
    assert all(len(set(labels[i * 4:(i + 1) * 4])) == 1 for i in range(5))
    # a chain of points 0.5 apart: connected components would merge it all; complete linkage must not
    chain = np.zeros((12, 128))
    chain[:, 0] = np.arange(12) * 0.5
    assert len(set(cluster_identities(chain, 0.6))) >= 6


def run_cli(*args, env_ws=None):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if env_ws:
        env["ASSAY_WORKSPACE"] = str(env_ws)
    return subprocess.run([sys.executable, "-m", "assay", *args], capture_output=True, text=True, env=env, cwd=REPO)


def test_cli_exit_codes_and_catalog_json(tmp_path):
    src = tmp_path / "p"
    make_identity_tree(src, people=3, per_person=2)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "a.jpg").write_bytes(b"")
    ws = tmp_path / "ws"
    bad_size = run_cli("data", "prepare", str(src), "--out", "x", "--size", "48", env_ws=ws)
    assert bad_size.returncode == 2 and "--size must be one of" in bad_size.stderr
    nothing = run_cli("data", "prepare", str(junk), "--out", "junk", env_ws=ws)
    assert nothing.returncode == 1 and "nothing usable" in nothing.stderr and "empty file" in nothing.stderr
    ok = run_cli("-w", str(ws), "data", "prepare", str(src), "--out", "people", "--size", "32", "--align", "center", "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["kept"] == 6
    listed = json.loads(run_cli("catalog", "list", "datasets", "--json", env_ws=ws).stdout)
    assert [r["name"] for r in listed] == ["people"]
    assert {"id", "kind", "name", "created_at", "params", "parents"} <= set(listed[0])
    shown = run_cli("catalog", "show", "people", "--json", env_ws=ws)
    assert json.loads(shown.stdout)["id"] == listed[0]["id"]
    missing = run_cli("catalog", "show", "nope", env_ws=ws)
    assert missing.returncode == 2 and "no artefact" in missing.stderr


def test_help_lists_every_subsystem():
    res = run_cli("--help")
    assert res.returncode == 0
    for sub in ["data", "forge", "detect", "provenance", "dashboard", "catalog"]:
        assert sub in res.stdout
        assert run_cli(sub, "--help").returncode == 0


UTK_DUPES = ["15_0_0_20170110225440579.jpg.chip.jpg", "16_0_0_20170110232429214.jpg.chip.jpg"]
UTK_MALFORMED = ["61_1_20170109142408075.jpg.chip.jpg", "61_3_20170109150557335.jpg.chip.jpg"]


@pytest.mark.shared_data
def test_utkface_labels_duplicates_and_malformed_names(ws, tmp_path, shared_data):
    src = tmp_path / "utk"
    src.mkdir()
    names = UTK_DUPES + UTK_MALFORMED + sorted(p.name for p in (shared_data / "utkface").glob("2*_1_*.jpg"))[:6]
    for n in names:
        shutil.copy(shared_data / "utkface" / n, src / n)
    result = prepare(ws, src, "utk", PrepareConfig(size=64, align="dlib", workers=2))
    assert result.layout == "utkface"
    reasons = {r["source"]: r["reason"] for r in result.rejects}
    assert all("malformed UTKFace name" in reasons[n] for n in UTK_MALFORMED)
    assert sum("duplicate of" in reasons.get(n, "") for n in UTK_DUPES) == 1
    rows = open_set(ws, "utk").rows
    assert rows and all(r["labels"]["gender"] in ("male", "female") for r in rows)
    assert all(len(r["embedding"]) == 128 and len(r["landmarks"]) == 5 for r in rows if r["face_found"])


@pytest.mark.shared_data
def test_same_person_twice_lands_in_one_split(ws, tmp_path, shared_data):
    src = tmp_path / "mixed"
    src.mkdir()
    lfw = sorted((shared_data / "lfw").glob("real_*.jpg"))[:8]
    for p in lfw:
        shutil.copy(p, src / p.name)
    img = Image.open(lfw[0])
    img.transpose(Image.FLIP_LEFT_RIGHT).save(src / "again_mirrored.jpg", quality=92)
    img.crop((6, 4, 244, 246)).save(src / "again_cropped.jpg", quality=92)
    result = prepare(ws, src, "mixed", PrepareConfig(size=64, workers=2))
    rows = {r["source"]: r for r in open_set(ws, "mixed").rows}
    trio = [rows[lfw[0].name], rows["again_mirrored.jpg"], rows["again_cropped.jpg"]]
    assert len({r["identity_cluster"] for r in trio}) == 1
    assert len({r["split"] for r in trio}) == 1
    assert result.kept == len(rows)


def test_dlib_alignment_skips_or_centre_crops_faceless_files(ws, tmp_path):
    src = tmp_path / "nofaces"
    src.mkdir()
    for i in range(3):
        Image.fromarray(pattern(i, (80, 120))).save(src / f"scene{i}.png")
    skipped = prepare(ws, src, "skip", PrepareConfig(size=32, align="dlib", workers=1))
    assert skipped.record is None and skipped.kept == 0
    assert [r["reason"] for r in skipped.rejects] == ["no face found"] * 3
    kept = prepare(ws, src, "centred", PrepareConfig(size=32, align="dlib", no_face="center", workers=1))
    rows = open_set(ws, "centred").rows
    assert kept.kept == 3 and all(r["align"] == "center" and r["face_found"] is False for r in rows)
    assert open_set(ws, "centred").load().shape == (3, 32, 32, 3)


def test_centre_crop_rejects_images_too_small_to_be_a_face(ws, tmp_path):
    src = tmp_path / "tiny"
    src.mkdir()
    Image.fromarray(pattern(1)).save(src / "face.png")
    Image.new("RGB", (1, 1)).save(src / "dot.png")
    Image.new("RGB", (200, 15)).save(src / "strip.png")
    result = prepare(ws, src, "tiny", PrepareConfig(size=32, align="center", workers=1))
    reasons = {Path(r["source"]).name: r["reason"] for r in result.rejects}
    assert result.kept == 1 and set(reasons) == {"dot.png", "strip.png"}
    assert "too small to be a face: 1x1" in reasons["dot.png"] and "200x15" in reasons["strip.png"]
    whole = prepare(ws, src, "whole", PrepareConfig(size=32, align="none", workers=1))
    assert whole.kept == 3
