"""The one training loop: every family trains, stabilisers act as specified, health, run folder, resume."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch

from assay.core.errors import UnknownNameError
from assay.core.fileio import read_jsonl
from assay.core.imagesets import open_set
from assay.forge import checkpoint
from assay.forge.conditions import keys_of
from assay.forge.config import make_config
from assay.forge.data import FaceBatches
from assay.forge.ema import ema_beta
from assay.forge.health import TrainingError, diversity
from assay.forge.losses import LOSSES, Loss
from assay.forge.training import GANTrainer, _grid, resume, train
from tests.helpers.faces import NO_PEOPLE, tiny_faces

torch.set_num_threads(1)
TINY = dict(batch=8, g_ch=4, d_ch=4, z_dim=16, log_every=1, sample_every=2, checkpoint_every=2, threads="1")


def _metrics(ws, run_id: str) -> list[dict]:
    return read_jsonl(Path(ws.resolve(run_id).path) / "metrics.jsonl")


@pytest.mark.parametrize("model", ["vanilla", "dcgan", "wgan", "wgan-gp", "cgan"])
def test_each_family_trains_and_its_losses_change(ws, model: str) -> None:
    ds = tiny_faces(ws)
    run_id = train(ws, ds, make_config(model, 32, steps=4, **TINY), progress=False)
    rec = ws.resolve(run_id)
    assert rec.status == "ready" and rec.parents == [ds]
    rows = [r for r in _metrics(ws, run_id) if "d_loss" in r]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]
    assert len({r["d_loss"] for r in rows}) > 1 and len({r["g_loss"] for r in rows}) > 1
    assert all(r["images_per_s"] > 0 and r["grad_norm_d"] > 0 and r["grad_norm_g"] > 0 for r in rows)


def test_run_folder_holds_config_checkpoints_and_grids(ws) -> None:
    ds = tiny_faces(ws)
    run_id = train(ws, ds, make_config("dcgan", 32, steps=4, **TINY), name="my-run", progress=False)
    folder = Path(ws.resolve("my-run").path)
    assert ws.resolve("my-run").id == run_id
    config = json.loads((folder / "config.json").read_text())
    assert config["model"] == "dcgan" and config["dataset"] == ds and config["steps"] == 4
    pointer = checkpoint.latest(folder)
    assert pointer["step"] == 4
    assert sorted(p.name for p in (folder / "checkpoints").glob("step-*")) == ["step-0000002", "step-0000004"]
    models, optim = checkpoint.load(folder)
    assert set(models) == {"G", "D"} and optim["step"] == 4
    assert sorted(p.name for p in (folder / "grids").glob("*.png")) == ["step-0000002.png", "step-0000004.png"]
    assert ws.resolve(run_id).params["checkpoint_sha256"] == pointer["weights_sha256"]


def _trainer(ws, model: str = "dcgan", sets=(), **fields) -> tuple[GANTrainer, FaceBatches]:
    cfg = make_config(model, 32, sets, **{**TINY, **fields})
    keys = keys_of(cfg.cond_keys)
    data = FaceBatches(open_set(ws, tiny_faces(ws)), 32, keys)
    return GANTrainer(cfg, [k.n for k in keys]), data


def test_unrolling_restores_the_discriminator_after_the_look_ahead(ws) -> None:
    t, data = _trainer(ws, sets=["unroll=3"])
    plain = copy.deepcopy(t)
    plain.cfg = make_config("dcgan", 32, **TINY)
    real, cond = t._prepare(*data.batch(torch.arange(8)))
    d_before = copy.deepcopy(t.d_net.state_dict())
    t.g_update(real, cond, torch.Generator().manual_seed(0))
    plain.g_update(real, cond, torch.Generator().manual_seed(0))
    for k, v in t.d_net.state_dict().items():
        assert torch.equal(v, d_before[k]), k
    moved = [not torch.equal(a, b) for a, b in zip(t.g_net.parameters(), plain.g_net.parameters())]
    assert any(moved)                                      # G was updated against the unrolled D


def test_wgan_clipping_keeps_critic_weights_in_range(ws) -> None:
    t, data = _trainer(ws, "wgan", lr_d=0.5)
    t.train_step(data)
    params = torch.cat([p.detach().flatten() for p in t.d_net.parameters()])
    assert params.abs().max().item() <= 0.01 + 1e-7
    assert params.abs().max().item() == pytest.approx(0.01)


def test_ema_ttur_and_n_critic(ws) -> None:
    t, data = _trainer(ws, sets=["ema=0.5", "ema_rampup=0", "lr_g=1e-4", "lr_d=4e-4", "n_critic=2"])
    g0 = [p.detach().clone() for p in t.g_net.parameters()]
    d_draws = []
    original = data.indices
    data.indices = lambda *a, **k: (d_draws.append(a[1]), original(*a, **k))[1]
    t.train_step(data)
    assert d_draws == [0, 1]                                # two D updates on two batches
    assert t.lrs() == {"lr_g": 1e-4, "lr_d": 4e-4}
    for e, p, p0 in zip(t.ema.parameters(), t.g_net.parameters(), g0):
        assert torch.allclose(e, 0.5 * p0 + 0.5 * p.detach(), atol=1e-6)


def test_ema_ramps_up_so_an_unwarmed_average_is_never_sampled(ws) -> None:
    assert ema_beta(0.999, 32, 32, 0.05) < 1e-5                      # first step: the average is G itself
    assert ema_beta(0.999, 32, 515 * 32, 0.05) == pytest.approx(0.5 ** (1 / (515 * 0.05)))
    assert ema_beta(0.999, 32, 10**8, 0.05) == pytest.approx(0.999)  # warmed up: the configured decay
    assert ema_beta(0.999, 32, 32, 0.0) == 0.999
    ramped, data = _trainer(ws, sets=["ema=0.999"])
    plain = GANTrainer(make_config("dcgan", 32, ["ema=0.999", "ema_rampup=0"], **TINY))
    init = [p.detach().clone() for p in plain.g_net.parameters()]
    for t in (ramped, plain):
        t.train_step(data)
    gap = lambda a, b: max((x - y).abs().max().item() for x, y in zip(a, b))  # noqa: E731
    moved = gap(plain.g_net.parameters(), init)
    assert moved > 0
    assert gap(ramped.ema.parameters(), ramped.g_net.parameters()) < 1e-3 * moved
    assert gap(plain.ema.parameters(), init) < 1e-2 * moved           # without the ramp: still the initial weights


def test_r1_and_diffaugment_switches_train(ws) -> None:
    t, data = _trainer(ws, sets=["r1_gamma=10", "diffaug=color,translation,cutout", "spectral_norm=true", "mbstd=true"])
    logs = t.train_step(data, measure=True)
    assert logs["R1"] > 0 and torch.isfinite(torch.tensor(logs["d_loss"]))


_calls = {"once": 0, "always": 0}


def _nan_after(kind: str, at: int):
    def d(real, fake):
        _calls[kind] += 1
        bad = _calls[kind] == at if kind == "once" else _calls[kind] >= at
        loss = torch.nn.functional.softplus(-real).mean() + torch.nn.functional.softplus(fake).mean()
        return loss * float("nan") if bad else loss
    return Loss(d, lambda fake: torch.nn.functional.softplus(-fake).mean())


LOSSES.register("test-nan-once")(_nan_after("once", 3))
LOSSES.register("test-nan-always")(_nan_after("always", 3))


def test_nonfinite_loss_restores_last_good_state_and_lowers_lr_once(ws) -> None:
    ds = tiny_faces(ws)
    _calls["once"] = 0
    run_id = train(ws, ds, make_config("dcgan", 32, ["loss=test-nan-once", "snapshot_every=1"], steps=5, **TINY),
                   progress=False)
    assert ws.resolve(run_id).status == "ready"
    events = [r for r in _metrics(ws, run_id) if r.get("event") == "nonfinite_loss"]
    assert len(events) == 1 and events[0]["restored_step"] == 2
    assert events[0]["lr_g"] == pytest.approx(2e-5)
    models, _ = checkpoint.load(Path(ws.resolve(run_id).path))
    assert all(torch.isfinite(v.float()).all() for sd in models.values() for v in sd.values())


def test_repeated_nonfinite_loss_fails_the_run_with_a_reason(ws) -> None:
    ds = tiny_faces(ws)
    _calls["always"] = 0
    with pytest.raises(TrainingError, match="non-finite at step 3 .* again after lowering the learning rate"):
        train(ws, ds, make_config("dcgan", 32, ["loss=test-nan-always"], steps=6, **TINY), progress=False)
    (rec,) = ws.catalog.list("runs")
    assert rec.status == "failed" and "non-finite" in rec.params["error"]


def test_collapse_monitor_warns_when_diversity_falls(ws, tmp_path: Path) -> None:
    assert diversity(torch.zeros(8, 3, 4, 4)) == 0.0
    assert diversity(torch.rand(8, 3, 4, 4) * 2 - 1) > 0.3
    t, _ = _trainer(ws)
    with torch.no_grad():
        last = t.g_net.net[-2]
        last.weight.zero_()                                  # every latent gives the same image
    class Bar:
        lines: list[str] = []
        def write(self, s: str, file=None) -> None:
            self.lines.append(s)
    bar = Bar()
    z = torch.randn(8, 16)
    peak = _grid(t, tmp_path, {"z": z, "cond": None}, bar, peak=0.5)
    assert peak == 0.5
    (row,) = read_jsonl(tmp_path / "metrics.jsonl")
    assert row["event"] == "collapse_warning" and row["diversity"] < 1e-6
    assert "possible mode collapse" in bar.lines[0]


def test_near_constant_samples_are_flagged_from_the_first_grid(ws, tmp_path: Path) -> None:
    t, _ = _trainer(ws)
    with torch.no_grad():
        t.g_net.net[-2].weight.zero_()
    lines: list[str] = []
    bar = type("Bar", (), {"write": lambda self, s, file=None: lines.append(s)})()
    _grid(t, tmp_path, {"z": torch.randn(8, 16), "cond": None}, bar, peak=0.0, real=0.5)
    (row,) = read_jsonl(tmp_path / "metrics.jsonl")
    assert row["event"] == "collapse_warning" and row["reason"].startswith("near-constant samples")
    assert "near-constant" in lines[0]
    _grid(t, tmp_path, {"z": torch.randn(8, 16), "cond": None}, bar, peak=0.0, real=0.0)
    assert "event" not in read_jsonl(tmp_path / "metrics.jsonl")[1]    # no training reference, no peak: no verdict


def test_resume_follows_the_uninterrupted_curve_bit_for_bit(ws) -> None:
    ds = tiny_faces(ws)
    sets = ["diffaug=color,translation", "ema=0.9"]
    full = train(ws, ds, make_config("dcgan", 32, sets, steps=6, **TINY), progress=False)
    part = train(ws, ds, make_config("dcgan", 32, sets, steps=3, **{**TINY, "checkpoint_every": 3}), progress=False)
    # a crash after step 4 would leave metrics beyond the checkpoint: resume drops them
    from assay.core.fileio import append_jsonl
    append_jsonl(Path(ws.resolve(part).path) / "metrics.jsonl", {"step": 4, "d_loss": 0.0, "g_loss": 0.0})
    assert resume(ws, part, steps=6, progress=False) == part
    assert ws.resolve(part).status == "ready"
    a, _ = checkpoint.load(Path(ws.resolve(full).path))
    b, _ = checkpoint.load(Path(ws.resolve(part).path))
    for prefix in ("G", "D", "EMA"):
        for k in a[prefix]:
            assert torch.equal(a[prefix][k], b[prefix][k]), f"{prefix}.{k}"
    curve = lambda run: [(r["step"], r["d_loss"], r["g_loss"]) for r in _metrics(ws, run) if "d_loss" in r]
    assert curve(full) == curve(part) and len(curve(full)) == 6


def test_conditional_run_needs_labels(ws) -> None:
    import numpy as np

    from assay.core.imagesets import ImageSetWriter

    w = ImageSetWriter(ws, "datasets", "nolabels")
    for i in range(4):
        w.add(np.full((32, 32, 3), i * 40, np.uint8), {"label": "real", "split": "train"}, f"{i}.png")
    ds = w.commit({"size": 32, **NO_PEOPLE}).id
    with pytest.raises(ValueError, match="no rows with usable labels for gender, age, race"):
        train(ws, ds, make_config("cgan", 32, steps=2, **TINY), progress=False)
    assert ws.catalog.list("runs")[0].status == "failed"


def test_data_is_held_in_memory_or_streamed_alike(ws) -> None:
    imageset = open_set(ws, tiny_faces(ws, size=64))
    mem = FaceBatches(imageset, 32)
    stream = FaceBatches(imageset, 32, memory_budget_mb=0)
    assert mem.in_memory and not stream.in_memory
    idx = mem.indices(0, 5, 8)
    assert mem.images.dtype == torch.uint8 and mem.images.shape == (21, 3, 32, 32)   # 21 train rows of 24
    assert torch.equal(mem.batch(idx)[0], stream.batch(idx)[0])
    ranks = [set(mem.indices(0, 1, 4, rank=r, world=2).tolist()) for r in (0, 1)]
    assert not ranks[0] & ranks[1]                          # ranks draw disjoint shares of a batch


def test_rows_without_labels_are_skipped_with_reasons(ws) -> None:
    import numpy as np

    from assay.core.imagesets import ImageSetWriter

    w = ImageSetWriter(ws, "datasets", "partly")
    for i in range(6):
        labels = {"age": 30, "gender": i % 2, "race": 1} if i else {"age": 61, "gender": 3}
        w.add(np.full((32, 32, 3), i * 40, np.uint8), {"label": "real", "split": "train", "labels": labels}, f"{i}.png")
    ds = w.commit({"size": 32, **NO_PEOPLE}).id
    run = train(ws, ds, make_config("cgan", 32, steps=1, **TINY), progress=False)
    assert ws.resolve(run).params["skipped_rows"] == 1
    (reject,) = ws.catalog.rejects(run)
    assert reject["source"] == "images/0.png" and "no usable gender/age/race label" in reject["reason"]


def test_unknown_names_are_refused_before_a_run_starts(ws) -> None:
    with pytest.raises(UnknownNameError, match="unknown DiffAugment policy 'blur'"):
        make_config("dcgan", 32, ["diffaug=color,blur"])
    with pytest.raises(UnknownNameError, match="unknown loss 'focal'"):
        make_config("dcgan", 32, ["loss=focal"])
    assert ws.catalog.list("runs") == []


def test_cli_trains_and_resumes_a_run(ws) -> None:
    from typer.testing import CliRunner

    from assay.cli import app

    ds = tiny_faces(ws)
    base = ["--workspace", str(ws.root), "forge", "train"]
    tiny = sum((["--set", f"{k}={v}"] for k, v in TINY.items() if k != "batch"), [])
    res = CliRunner().invoke(app, [*base, "--model", "dcgan", "--data", ds, "--size", "32", "--steps", "2",
                                   "--batch", "8", *tiny])
    assert res.exit_code == 0, res.output
    run_id = res.stdout.strip().splitlines()[-1]
    assert ws.resolve(run_id).params["final_step"] == 2
    res = CliRunner().invoke(app, [*base, "--resume", run_id, "--steps", "4"])
    assert res.exit_code == 0, res.output
    assert ws.resolve(run_id).params["final_step"] == 4 and ws.resolve(run_id).status == "ready"
    assert [r["step"] for r in _metrics(ws, run_id) if "d_loss" in r] == [1, 2, 3, 4]
    res = CliRunner().invoke(app, [*base, "--model", "dcgan"])
    assert res.exit_code == 2 and "--data is required" in res.output


def test_unreadable_training_images_are_skipped_with_reasons(ws) -> None:
    imageset = open_set(ws, tiny_faces(ws))
    broken = imageset.path(imageset.select("train")[0])
    broken.write_bytes(broken.read_bytes()[:40])                     # truncated PNG
    data = FaceBatches(imageset, 32, keys_of(["gender"]))
    assert len(data) == 20 and data.images.shape[0] == 20 and data.cond.shape == (20, 1)
    ((source, reason),) = data.rejects
    assert source == imageset.select("train")[0]["file"] and reason == "not an image (unrecognised format)"
