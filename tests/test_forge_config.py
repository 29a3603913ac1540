"""The run config: per-component options (g.KEY, d.KEY), the flat names presets and older runs use, and
loading a config.json saved before per-component options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from assay.cli import app
from assay.core.config import to_dict
from assay.core.fileio import atomic_write_json, read_json
from assay.core.imagesets import open_set
from assay.forge import checkpoint
from assay.forge.config import load_config, make_config
from assay.forge.sampling import sample
from assay.forge.training import resume, train
from tests.helpers.faces import tiny_faces

torch.set_num_threads(1)
TINY = dict(batch=8, z_dim=16, log_every=1, sample_every=2, checkpoint_every=2, grid=4, threads="1")

#: the config.json a stylegan2 run wrote before per-component options: make_config("stylegan2", 32,
#: ["width=0.02", "mapping_layers=2"], steps=2, **TINY), with the keys train adds
FLAT_STYLEGAN2 = json.loads("""{"model": "stylegan2", "size": 32, "steps": 2, "batch": 8, "seed": 0,
"generator": "style", "discriminator": "resnet", "z_dim": 16, "g_ch": 64, "d_ch": 64, "g_norm": "none",
"d_norm": "none", "inputs": "style", "width": 0.02, "mapping_layers": 2, "style": "modulated", "g_arch": "skip",
"mixing": 0.9, "grow": 0, "grow_from": 8, "sr_factor": 4, "sr_blocks": 16, "cond_keys": [], "projection": false,
"loss": "nonsaturating", "optimizer": "adam", "lr_g": 0.002, "lr_d": 0.002, "beta1": 0.0, "beta2": 0.99,
"n_critic": 1, "adv_weight": 1.0, "clip": 0.0, "gp_lambda": 0.0, "r1_gamma": 1.0, "r1_every": 16, "pl_weight": 0.0,
"pl_every": 4, "pixel_weight": 0.0, "perceptual_weight": 0.0, "vgg_weights": "", "spectral_norm": false,
"mbdisc": 0, "mbdisc_dim": 8, "mbstd": true, "unroll": 0, "diffaug": "", "ema": 0.999, "lr_backoff": 0.1,
"snapshot_every": 50, "collapse_ratio": 0.25, "log_every": 1, "sample_every": 2, "checkpoint_every": 2,
"keep_checkpoints": 2, "time_budget": "", "grid": 4, "eval_every": 0, "eval_n": 256, "device": "auto",
"compile": false, "threads": "1", "memory_budget_mb": 2048, "dataset": "set-0", "threads_used": 1,
"threads_why": "threads=1 was set"}""")


def test_component_options_reach_their_network_only() -> None:
    cfg = make_config("stylegan2", 32, ["g.width=0.05", "d.mbstd=false", "g.mapping_layers=2"], z_dim=16)
    assert cfg.g.options["width"] == 0.05 and cfg.d.options["width"] == 1.0
    assert cfg.d.options["mbstd"] is False and cfg.g.options["mapping_layers"] == 2
    g, d = cfg.networks()
    assert len(g.mapping.net) == 2 and isinstance(d.epilogue.mbstd, torch.nn.Identity)
    both = make_config("stylegan2", 32, ["width=0.05"], z_dim=16)   # a flat name sets it wherever it applies
    assert both.g.options["width"] == both.d.options["width"] == 0.05


def test_flat_names_resolve_to_their_component() -> None:
    cfg = make_config("dcgan", 32, ["spectral_norm=true", "d_norm=none", "generator=mlp"], g_ch=8)
    assert (cfg.g.name, cfg.g.options) == ("mlp", {"ch": 8})          # the MLP takes no norm: dropped
    assert cfg.d.options["spectral_norm"] is True and cfg.d.options["norm"] == "none"
    sr = make_config("srgan", 64, ["sr_factor=2"], sr_blocks=3)        # older names an entry declares
    assert (sr.g.options["factor"], sr.g.options["blocks"]) == (2, 3)
    assert make_config("dcgan", 32, **{"d.mbdisc": 4}).d.options["mbdisc"] == 4


def test_bad_settings_are_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown setting 'g\.nope'; known: model, .*g\.width"):
        make_config("dcgan", 32, ["g.nope=1"])
    with pytest.raises(ValueError, match="d.mbstd: expected true/false, got 'maybe'"):
        make_config("dcgan", 32, ["d.mbstd=maybe"])
    with pytest.raises(ValueError, match="width must be > 0, got -1.0"):          # the network's own check
        make_config("stylegan2", 32, ["g.width=-1"])
    with pytest.raises(ValueError, match="projection=true needs cond_keys"):
        make_config("dcgan", 32, ["projection=true"])
    res = CliRunner().invoke(app, ["--workspace", str(tmp_path), "forge", "train", "--data", "none", "--set", "d.nope=1"])
    assert res.exit_code == 1 and "unknown setting 'd.nope'" in res.output


def test_a_flat_config_of_an_older_run_loads_as_the_same_config() -> None:
    old = load_config(FLAT_STYLEGAN2)
    new = make_config("stylegan2", 32, ["width=0.02", "mapping_layers=2"], steps=2, **TINY)
    assert old == new and old.g.options["style"] == "modulated" and old.d.options == {"width": 0.02, "mbstd": True}
    assert load_config(json.loads(json.dumps(to_dict(new)))) == new       # the nested form round-trips


def test_a_run_saved_with_a_flat_config_samples_and_resumes(ws) -> None:
    ds = tiny_faces(ws)
    run = train(ws, ds, make_config("stylegan2", 32, ["width=0.02", "mapping_layers=2"], steps=2, **TINY),
                progress=False)
    folder = Path(ws.resolve(run).path)
    assert read_json(folder / checkpoint.CONFIG)["g"]["options"]["width"] == 0.02
    atomic_write_json(folder / checkpoint.CONFIG, {**FLAT_STYLEGAN2, "dataset": ds})   # as an older run wrote it
    assert len(open_set(ws, sample(ws, run, 2, labels="xmp", progress=False))) == 2
    resume(ws, run, steps=3, progress=False)
    assert ws.resolve(run).params["final_step"] == 3
    assert read_json(folder / checkpoint.CONFIG)["d"] == {"name": "resnet", "options": {"width": 0.02, "mbstd": True}}


TOY_FAMILY = '''
"""A GAN family in one module: networks (the generator with an option of its own), an input kind, a preset."""

from typing import Any

import torch
from torch import nn

from assay.forge.families import FAMILIES
from assay.forge.inputs import INPUTS, Latent
from assay.forge.networks import DISCRIMINATORS, GENERATORS, LatentGenerator


@GENERATORS.register("toy-g")
class ToyGenerator(LatentGenerator):
    def __init__(self, size: int, z_dim: int = 8, depth: int = 1) -> None:
        super().__init__()
        self.size = size
        hidden = [nn.Linear(16, 16) for _ in range(depth)]
        self.net = nn.Sequential(nn.Linear(z_dim, 16), *hidden, nn.Linear(16, 3 * size * size))

    def forward(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return torch.tanh(self.net(z)).view(-1, 3, self.size, self.size)


@DISCRIMINATORS.register("toy-d")
class ToyDiscriminator(nn.Module):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.score = nn.Linear(3 * size * size, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        return self.score(x.flatten(1)).squeeze(1)


@INPUTS.register("toy-uniform")
class UniformLatent(Latent):
    def __call__(self, real, cond, gen):
        z = torch.rand(real.shape[0], self.z_dim, generator=gen, device=gen.device).to(real.device)
        return {"z": z * 2 - 1, "cond": cond}


@FAMILIES.register("toy", paper="none", summary="a family from one module")
def toy() -> dict[str, Any]:
    return {"g.name": "toy-g", "g.inputs": "toy-uniform", "d.name": "toy-d", "g.depth": 2, "z_dim": 8,
            "loss": "hinge"}
'''


def test_a_family_in_one_new_module_trains_on_the_one_loop(ws, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import assay.forge.networks
    from assay.forge.families import FAMILIES
    from assay.forge.inputs import INPUTS
    from assay.forge.networks import DISCRIMINATORS, GENERATORS
    from assay.forge.regularizers import REGULARIZERS

    for registry in (GENERATORS, DISCRIMINATORS, INPUTS, FAMILIES, REGULARIZERS):
        registry.names()                       # the shipped entries stay registered once the patches are undone
        monkeypatch.setattr(registry, "_items", dict(registry._items))
        monkeypatch.setattr(registry, "_meta", dict(registry._meta))
        monkeypatch.setattr(registry, "_unloaded", ["assay.forge.networks"])   # as in a fresh process
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "toy_family.py").write_text(TOY_FAMILY)
    monkeypatch.setattr(assay.forge.networks, "__path__", [*assay.forge.networks.__path__, str(tmp_path / "plugins")])
    try:
        assert "assay.forge.networks.toy_family" not in sys.modules
        cfg = make_config("toy", 32, ["g.depth=3"], steps=2, batch=4, log_every=1, sample_every=2,
                          checkpoint_every=2, grid=4, threads="1")
        assert (cfg.g.name, cfg.g.inputs, cfg.g.options, cfg.d.options) == ("toy-g", "toy-uniform", {"depth": 3}, {})
        run = train(ws, tiny_faces(ws), cfg, progress=False)
        folder = Path(ws.resolve(run).path)
        assert ws.resolve(run).status == "ready"
        assert read_json(folder / checkpoint.CONFIG)["g"] == {"name": "toy-g", "inputs": "toy-uniform",
                                                             "options": {"depth": 3}}
        models, _ = checkpoint.load(folder)
        assert sum(k.endswith(".weight") for k in models["G"]) == 5          # in, 3 hidden (g.depth), out
        assert len(open_set(ws, sample(ws, run, 2, labels="xmp", progress=False))) == 2
        res = CliRunner().invoke(app, ["--workspace", str(ws.root), "forge", "presets", "--json"])
        listed = json.loads(res.output)
        assert "toy" in [f["family"] for f in listed["families"]]
        assert listed["options"]["g"]["name"]["toy-g"] == {"depth": 1}
    finally:
        sys.modules.pop("assay.forge.networks.toy_family", None)
