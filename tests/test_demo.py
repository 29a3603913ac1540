"""`make demo` end to end on the offline toy set (few forge steps)."""

from assay import demo
from assay.core.workspace import Workspace


def test_demo_runs_the_whole_pipeline_offline(tmp_path, capsys):
    demo.main(["--workspace", str(tmp_path / "ws"), "--steps", "20"])
    captured = capsys.readouterr()
    assert "toy set" in captured.err
    assert f"assay --workspace {(tmp_path / 'ws').resolve()} dashboard" in captured.err
    assert "real-vs-real" in captured.out and "degenerate" in captured.out  # the eval table with its reference rows
    ws = Workspace(tmp_path / "ws")
    counts = {kind: len(ws.catalog.list(kind)) for kind in ("datasets", "runs", "samples", "detectors", "scans")}
    assert counts == {"datasets": 1, "runs": 2, "samples": 2, "detectors": 1, "scans": 1}   # runs: DCGAN, StyleGAN 2
    # 64 stamped with every label + 100 with metadata labels + the style-mixing grid
    assert len(ws.catalog.list("provenance")) == 165
    assert (ws.root / "stylegan-mix.png").stat().st_size > 0
    assert "trainedAlgorithmicMedia" in captured.out  # scan shows the manifest beside the detector's verdict
    assert "re-saved with Pillow" in captured.out
    assert "found through the watermark" in captured.out  # soft binding after the manifest was stripped
    assert "compliance summary" in captured.out and "takedown list: 172 items" in captured.out
    assert len(ws.catalog.list("consents")) == 10  # one demo record per demo subject


def test_the_demos_training_is_capped_by_wall_clock(ws, monkeypatch, capsys):
    from assay.demo import forge as forge_demo
    from tests.helpers.faces import tiny_faces

    monkeypatch.setattr(forge_demo, "DEMO_TIME", "1s")
    samples = forge_demo.run(ws, tiny_faces(ws), steps=10**6, labels="xmp")
    run = ws.resolve(ws.resolve(samples).params["run_id"])
    assert run.params["stopped"] == "time_budget" and 0 < run.params["final_step"] < 10**6
    assert f"stopped at step {run.params['final_step']} of 1000000" in capsys.readouterr().err
