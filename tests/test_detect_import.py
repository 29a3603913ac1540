"""`assay detect import`: published checkpoints (random weights, the authors' key names and shapes)
load into the registry, score as their authors' networks do, are calibrated or marked uncalibrated,
carry the published training domain, and are refused with one line when the keys are wrong."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from assay.detect.store import load_detector
from tests.helpers.cli import invoke

torch.set_num_threads(2)


def imagenet_input(img: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255.0
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    return (x - mean) / std


def photo(path: Path, size: int, seed: int) -> np.ndarray:
    img = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(img).save(path)
    return img


def npr_state() -> dict[str, torch.Tensor]:
    from assay.detect.published_nets import NPRResNet

    torch.manual_seed(0)
    net = NPRResNet()
    for m in net.modules():  # non-trivial BatchNorm statistics, as a trained checkpoint has
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return net.state_dict()


def test_npr_checkpoint_has_the_published_key_names_and_shapes() -> None:
    state = npr_state()
    assert state["conv1.weight"].shape == (64, 3, 3, 3)  # 3 x 3 stem, not ResNet's 7 x 7
    assert state["layer1.2.conv3.weight"].shape == (256, 64, 1, 1)  # Bottleneck x 3
    assert state["layer2.3.bn3.weight"].shape == (512,)  # Bottleneck x 4
    assert state["fc1.weight"].shape == (1, 512) and state["fc1.bias"].shape == (1,)
    assert not any(k.startswith(("layer3", "layer4", "fc.")) for k in state)


def test_cnndetection_imports_and_scores_as_the_published_resnet(ws, tmp_path: Path) -> None:
    from torchvision.models import resnet50

    torch.manual_seed(0)
    ref = resnet50(weights=None, num_classes=1).eval()
    state = {f"module.{k}": v for k, v in ref.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert state["module.fc.weight"].shape == (1, 2048)
    torch.save({"model": state, "total_steps": 1}, tmp_path / "blur_jpg_prob0.5.pth")
    img = np.random.default_rng(1).integers(0, 256, (160, 144, 3), dtype=np.uint8)

    code, out, crash = invoke("-w", str(ws.root), "detect", "import", "--format", "cnndetection",
                              str(tmp_path / "blur_jpg_prob0.5.pth"), "--name", "wang")
    assert code == 0 and crash is None, out
    assert "uncalibrated" in out
    det, rec = load_detector(ws, "wang")
    assert rec.params["calibrated"] is False and rec.params["imported"]["format"] == "cnndetection"
    with torch.inference_mode():
        expected = float(ref(imagenet_input(img)).squeeze())  # the whole image, no resize
    assert det.decision_function([img])[0] == pytest.approx(expected, abs=1e-3)
    assert det.domain.sizes == (256, 256) and "jpeg" in det.domain.codecs



def test_wrong_keys_are_refused_with_one_line_naming_them(ws, tmp_path: Path) -> None:
    torch.save(npr_state(), tmp_path / "npr.pth")
    code, out, crash = invoke("-w", str(ws.root), "detect", "import", "--format", "cnndetection", str(tmp_path / "npr.pth"))
    assert code == 2 and crash is None
    line = [ln for ln in out.splitlines() if ln.strip()]
    assert len(line) == 1, out
    assert "not a cnndetection" in line[0] and "missing" in line[0] and "fc.weight" in line[0]
    assert "unexpected" in line[0] and "fc1.weight" in line[0]

    state = npr_state()
    state["fc1.weight"] = torch.zeros(2, 512)
    torch.save(state, tmp_path / "bad-shape.pth")
    code, out, _ = invoke("-w", str(ws.root), "detect", "import", "--format", "npr", str(tmp_path / "bad-shape.pth"))
    assert code == 2 and "wrong shape" in out and "fc1.weight [2, 512]" in out
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    code, out, _ = invoke("-w", str(ws.root), "detect", "import", "--format", "npr", str(tmp_path / "junk.pth"))
    assert code == 2 and "not a readable checkpoint" in out
    assert not ws.catalog.list("detectors")  # nothing half-registered


def test_npr_imports_with_the_nearest_residual_calibrated_on_folders(ws, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    save_file(npr_state(), str(tmp_path / "NPR.safetensors"))
    real, fake = tmp_path / "real", tmp_path / "fake"
    real.mkdir()
    fake.mkdir()
    for i in range(6):
        photo(real / f"r{i}.png", 48, seed=10 + i)
        small = np.random.default_rng(20 + i).integers(0, 256, (24, 24, 3), dtype=np.uint8)
        Image.fromarray(small.repeat(2, 0).repeat(2, 1)).save(fake / f"f{i}.png")  # nearest 2x up-sampled
    code, out, crash = invoke("-w", str(ws.root), "detect", "import", "--format", "npr", str(tmp_path / "NPR.safetensors"),
                              "--name", "npr-pub", "--calibrate-real", str(real), "--calibrate-fake", str(fake), "--json")
    assert code == 0 and crash is None, out
    det, rec = load_detector(ws, "npr-pub")
    assert rec.params["calibrated"] is True and rec.params["calibration"] == "temperature"
    assert det.calibrator.name == "temperature"
    # x - up(down(x)) vanishes on nearest-up-sampled images: every such image gets the same logit
    ups = [np.random.default_rng(s).integers(0, 256, (24, 24, 3), dtype=np.uint8).repeat(2, 0).repeat(2, 1) for s in (1, 2)]
    z = det.decision_function(ups + [np.random.default_rng(3).integers(0, 256, (48, 48, 3), dtype=np.uint8)])
    assert z[0] == pytest.approx(z[1], abs=1e-4) and abs(z[2] - z[0]) > 1e-3
    # the published recipe's domain: a 1024 px face is far outside ProGAN's 256 px
    assert det.domain.check(np.zeros((1024, 1024, 3), np.uint8))
    assert not det.domain.check(np.zeros((256, 256, 3), np.uint8), {"codec": "lossless", "quality": None})
    assert det.domain.check(np.zeros((256, 256, 3), np.uint8), {"codec": "jpeg", "quality": 75})

    # scan uses it like any detector: a PNG is inside the domain, a JPEG is not (NPR never saw JPEG)
    photo(tmp_path / "small.png", 128, seed=4)
    photo(tmp_path / "small.jpg", 128, seed=5)
    code, out, crash = invoke("-w", str(ws.root), "detect", "scan", str(tmp_path / "small.png"), str(tmp_path / "small.jpg"),
                              "--detector", "npr-pub", "--format", "json", "--workers", "1", "--out", str(tmp_path / "scan.json"))
    assert crash is None and code in (0, 1), out
    results = {Path(r["path"]).name: r for r in json.loads((tmp_path / "scan.json").read_text())}
    assert results["small.png"]["domain"]["in_domain"] is True
    assert results["small.jpg"]["domain"]["in_domain"] is False and results["small.jpg"]["verdict"] == "uncertain"
    assert any("codec jpeg" in r for r in results["small.jpg"]["domain"]["reasons"])

    code, out, _ = invoke("-w", str(ws.root), "detect", "import", "--format", "npr", str(tmp_path / "NPR.safetensors"),
                          "--calibrate-real", str(real))
    assert code == 2 and "both classes" in out


TINY_CLIP = {"embed_dim": 768, "vision_cfg": {"image_size": 224, "layers": 1, "width": 32, "head_width": 16, "patch_size": 14},
             "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}


def test_univfd_head_over_a_local_open_clip_file(ws, tmp_path: Path) -> None:
    open_clip = pytest.importorskip("open_clip")
    config = tmp_path / "tiny-clip-test.json"
    config.write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(config)
    torch.manual_seed(0)
    clip = open_clip.create_model("tiny-clip-test").eval()
    torch.save(clip.state_dict(), tmp_path / "open_clip_pytorch_model.bin")
    head = {"weight": torch.randn(1, 768) * 0.1, "bias": torch.randn(1)}  # the authors' fc_weights.pth
    torch.save(head, tmp_path / "fc_weights.pth")

    code, out, _ = invoke("-w", str(ws.root), "detect", "import", "--format", "univfd", str(tmp_path / "fc_weights.pth"))
    assert code == 2 and "--clip" in out
    code, out, crash = invoke("-w", str(ws.root), "detect", "import", "--format", "univfd", str(tmp_path / "fc_weights.pth"),
                              "--clip", str(tmp_path / "open_clip_pytorch_model.bin"), "--clip-arch", str(config),
                              "--name", "ufd")
    assert code == 0 and crash is None, out
    det, rec = load_detector(ws, "ufd")
    assert rec.params["imported"]["clip"]["arch"] == str(config)
    img = np.random.default_rng(5).integers(0, 256, (300, 260, 3), dtype=np.uint8)
    centre = img[38:262, 18:242]  # the 224 centre crop (even offsets)
    x = torch.from_numpy(centre).permute(2, 0, 1)[None].float() / 255.0
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
    with torch.inference_mode():
        expected = float(clip.encode_image((x - mean) / std) @ head["weight"].T + head["bias"])
    assert det.decision_function([img])[0] == pytest.approx(expected, abs=1e-3)
    assert not list((ws.path_of(rec)).glob("model.safetensors"))  # the folder keeps the head, not CLIP

    torch.save({"fc.weight": torch.zeros(1, 512), "fc.bias": torch.zeros(1)}, tmp_path / "vitb.pth")
    code, out, _ = invoke("-w", str(ws.root), "detect", "import", "--format", "univfd", str(tmp_path / "vitb.pth"),
                          "--clip", str(tmp_path / "open_clip_pytorch_model.bin"), "--clip-arch", str(config))
    assert code == 2 and "wrong shape" in out and "[1, 512]" in out


def test_univfd_without_open_clip_says_which_extra(monkeypatch, tmp_path: Path) -> None:
    import builtins

    from assay.core.errors import MissingExtraError
    from assay.detect.published_nets import open_clip_visual

    real_import = builtins.__import__

    def no_open_clip(name, *args, **kwargs):
        if name == "open_clip":
            raise ImportError("No module named 'open_clip'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_open_clip)
    with pytest.raises(MissingExtraError, match=r"assay\[univfd\]"):
        open_clip_visual("ViT-L-14", str(tmp_path / "clip.bin"))
