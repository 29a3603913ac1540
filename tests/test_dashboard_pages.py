"""Every dashboard page through Streamlit's AppTest: on an empty workspace and on a filled one."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from assay.core.imagesets import open_set
from dashboard_helpers import chart_titled, render_page, texts

TIMEOUT = 300


def page(name: str, monkeypatch: pytest.MonkeyPatch, root) -> AppTest:
    monkeypatch.setenv("ASSAY_WORKSPACE", str(root))
    at = AppTest.from_function(render_page, args=(name,), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("name, command", [
    ("overview", "make demo"),
    ("data", "assay data prepare"),
    ("forge", "assay forge train"),
    ("detect", "assay detect train"),
    ("scan", "assay detect scan"),
    ("provenance", "assay provenance stamp"),
])
def test_every_page_on_an_empty_workspace_names_the_command_that_fills_it(name, command, tmp_path, monkeypatch):
    at = page(name, monkeypatch, tmp_path / "empty")
    assert command in texts(at)


def test_overview_counts_recent_activity_and_lineage(dashboard_ws, monkeypatch):
    at = page("overview", monkeypatch, dashboard_ws.root)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["runs"] == "2" and metrics["provenance"] == "165"
    assert metrics["samples"] == str(len(dashboard_ws.catalog.list("samples")))
    run = dashboard_ws.catalog.list("runs")[0]
    at.text_input(key="lineage-ref").set_value(run.id).run()
    dot = at.get("graphviz_chart")[0].proto.spec
    dataset = run.parents[0]
    assert f'"{dataset}" -> "{run.id}"' in dot  # data set -> run
    for child in dashboard_ws.catalog.children(run.id):
        assert f'"{run.id}" -> "{child.id}"' in dot  # run -> sample sets


def test_data_page_shows_the_set_its_groups_grid_and_rejects(dashboard_ws, monkeypatch):
    at = page("data", monkeypatch, dashboard_ws.root)
    demo_set = dashboard_ws.resolve("demo-faces")
    at.selectbox(key="data-set").set_value(at.selectbox(key="data-set").options.index(
        f"demo-faces ({demo_set.id})")).run()
    assert {m.label: m.value for m in at.metric}["faces"] == "100"
    groups = chart_titled(at, "faces per identity group")
    assert groups["count"].sum() == demo_set.params["identities"]
    assert len(at.get("image")[0].proto.imgs) == 24
    assert "No file was rejected" in texts(at)


def test_data_page_charts_utkface_attributes(dashboard_ws, monkeypatch):
    at = page("data", monkeypatch, dashboard_ws.root)
    toy = dashboard_ws.resolve("toy-real")
    at.selectbox(key="data-set").set_value(at.selectbox(key="data-set").options.index(f"toy-real ({toy.id})")).run()
    assert chart_titled(at, "race")["count"].sum() == 30


def test_forge_page_runs_curves_grids_and_live_sampler(dashboard_ws, monkeypatch):
    at = page("forge", monkeypatch, dashboard_ws.root)
    runs = at.dataframe[0].value
    assert sorted(runs["family"]) == ["dcgan", "stylegan2"] and (runs["images/s"] > 0).all()
    losses = chart_titled(at, "losses")
    assert set(losses["series"]) == {"d_loss", "g_loss"} and losses["step"].max() == 20
    images = at.get("image")
    assert len(images[1].proto.imgs) == 8  # live sampler default
    at.slider(key="forge-n").set_value(3).run()
    assert len(at.get("image")[1].proto.imgs) == 3
    assert len(at.get("image")[2].proto.imgs) == 8  # interpolation steps
    assert "Style mixing" in texts(at)


def test_detect_page_curves_threshold_loo_and_robustness(dashboard_ws, monkeypatch):
    at = page("detect", monkeypatch, dashboard_ws.root)
    demo_det = dashboard_ws.resolve("demo-spectral")
    box = at.selectbox(key="detect-det")
    box.set_value(box.options.index(f"demo-spectral ({demo_det.id})")).run()
    robustness = chart_titled(at, "AUC per perturbation")
    assert robustness["condition"].iloc[0] == "clean" and set(robustness["condition"]) == {"clean", "jpeg75", "blur1"}
    loo = chart_titled(at, "AUC (* = family not seen in training)")
    assert set(loo["held out"]) == {"nearest", "bilinear"} and loo["text"].str.endswith("*").sum() == 2
    at.button(key="detect-score").click().run()
    assert not at.exception
    metrics = {m.label: float(m.value) for m in at.metric}
    assert 0 <= metrics["EER"] <= 0.5 and 0.5 <= metrics["AUC"] <= 1
    assert len(chart_titled(at, "ROC")) >= 2
    low = chart_titled(at, "Confusion matrix at 0.50")
    at.slider(key="detect-threshold").set_value(0.0).run()
    everything = chart_titled(at, "Confusion matrix at 0.00")
    predicted_real = everything[everything["predicted"] == "real"]["count"].sum()
    assert predicted_real == 0 and everything["count"].sum() == low["count"].sum()
    at.selectbox(key="detect-outcome").set_value("wrong").run()
    assert "test images" in texts(at)
    assert any("spectrum of #" in str(c) for img in at.get("image") for c in [i.caption for i in img.proto.imgs])


def test_scan_page_scans_a_workspace_folder_and_browses_past_scans(dashboard_ws, monkeypatch):
    at = page("scan", monkeypatch, dashboard_ws.root)
    before = len(dashboard_ws.catalog.list("scans"))
    at.radio(key="scan-source").set_value("A workspace folder").run()
    at.selectbox(key="scan-folder").set_value("demo-scan-input").run()
    at.button(key="scan-run-folder").click().run()
    assert not at.exception
    assert "done: 6 scanned" in texts(at)
    assert "P(synthetic)" in texts(at)
    assert len(dashboard_ws.catalog.list("scans")) == before + 1
    results = at.dataframe
    assert any("digital_source_type" == s for df in results for s in df.value.get("signal", []))


def test_provenance_page_inspects_a_stamped_sample_and_pages_records(dashboard_ws, monkeypatch):
    at = page("provenance", monkeypatch, dashboard_ws.root)
    assert "165 rows; showing 50 from row 1," in texts(at)
    at.selectbox(key="prov-records-size").set_value(100).run()
    at.number_input(key="prov-records-page-100").set_value(2).run()
    assert "165 rows; showing 65 from row 101," in texts(at)
    assert 65 in [len(df.value) for df in at.dataframe]  # the second page of the records table
    stamped = open_set(dashboard_ws, dashboard_ws.catalog.list("samples")[0].id)
    at.text_input(key="prov-path").set_value(str(stamped.path(stamped.rows[0]))).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Trust"] == "trusted"
    assert metrics["Watermark"] == stamped.rows[0]["content_id"]
    assert "trainedAlgorithmicMedia" in texts(at)
    assert "Consent ledger" in texts(at)
