"""Every dashboard page through Streamlit's AppTest: on an empty workspace and on a filled one."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from assay.core.fileio import read_jsonl
from assay.core.imagesets import open_set
from tests.helpers.dashboard import chart_titled, render_page, texts

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
    assert metrics["runs"] == "3" and metrics["provenance"] == "165"
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
    at.selectbox(key="data-set").set_value(demo_set.id).run()
    assert {m.label: m.value for m in at.metric}["faces"] == "100"
    groups = chart_titled(at, "faces per identity group")
    assert groups["count"].sum() == demo_set.params["identities"]
    assert len(at.get("image")[0].proto.imgs) == 24
    assert "No file was rejected" in texts(at)


def test_data_page_charts_utkface_attributes(dashboard_ws, monkeypatch):
    at = page("data", monkeypatch, dashboard_ws.root)
    toy = dashboard_ws.resolve("toy-real")
    at.selectbox(key="data-set").set_value(toy.id).run()
    assert chart_titled(at, "race")["count"].sum() == 30


def test_forge_page_runs_curves_grids_and_live_sampler(dashboard_ws, monkeypatch):
    at = page("forge", monkeypatch, dashboard_ws.root)
    runs = at.dataframe[0].value
    assert sorted(runs["family"]) == ["dcgan", "dcgan", "stylegan2"] and (runs["images/s"] > 0).all()
    losses = chart_titled(at, "losses")
    assert set(losses["series"]) == {"d_loss", "g_loss"} and losses["step"].max() == 20
    images = at.get("image")
    assert len(images[1].proto.imgs) == 8  # live sampler default
    at.slider(key="forge-n").set_value(3).run()
    assert len(at.get("image")[1].proto.imgs) == 3
    assert len(at.get("image")[2].proto.imgs) == 8  # interpolation steps


def test_detect_page_curves_threshold_loo_and_robustness(dashboard_ws, monkeypatch):
    at = page("detect", monkeypatch, dashboard_ws.root)
    demo_det = dashboard_ws.resolve("demo-spectral")
    at.selectbox(key="detect-det").set_value(demo_det.id).run()
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


def pick_option(at: AppTest, key: str, starts: str) -> None:
    """Choose the first record a picker shows (as ``name (id)``) starting with ``starts``: pickers take ids."""
    shown = next(o for o in at.selectbox(key=key).options if o.startswith(starts))
    at.selectbox(key=key).set_value(shown.rsplit("(", 1)[1].rstrip(")")).run()


def test_the_app_reads_a_read_only_workspace_and_writes_nothing(dashboard_ws, tmp_path, monkeypatch):
    from assay.dashboard import data_access as da

    assert da.open_workspace(str(dashboard_ws.root)).read_only
    assert da.open_workspace(str(tmp_path / "new")).read_only and (tmp_path / "new" / "catalog.sqlite").is_file()
    before = da.catalog_stamp(str(dashboard_ws.root))
    for name in ("forge", "provenance"):
        page(name, monkeypatch, dashboard_ws.root)
    assert da.catalog_stamp(str(dashboard_ws.root)) == before


def test_forge_quality_table_has_the_reference_rows_and_no_fid_without_the_standard_weights(dashboard_ws, monkeypatch):
    from assay.forge.features import FEATURES

    at = page("forge", monkeypatch, dashboard_ws.root)
    table = at.dataframe[1].value
    run = next(r for r in dashboard_ws.catalog.list("runs") if (Path(r.path) / "eval.jsonl").exists())
    report = read_jsonl(Path(run.path) / "eval.jsonl")[-3:]
    mine = table[table["target"] == run.id]
    assert list(mine["row"]) == ["generator", "real-vs-real", "degenerate"]
    assert list(mine["fd_dlib"]) == [round(r["metrics"]["fd_dlib"], 4) for r in report]
    assert mine["fd_dlib"].iloc[1] < mine["fd_dlib"].iloc[2]  # the floor below the collapsed ceiling
    assert not {"fid", "kid", "is"} & set(table.columns)
    assert f"**dlib**: {FEATURES.meta('dlib')['summary']}" in texts(at)


def test_fid_is_shown_only_where_the_report_records_the_standard_weights():
    from assay.dashboard.views.parts.quality import metric_values

    row = {"metrics": {"fd_dlib": 1.5, "fid": 20.0, "kid": 3.0}}
    assert metric_values(row) == {"fd_dlib": 1.5}
    assert metric_values({**row, "inception_weights_sha256": "6726825d" + "0" * 56}) == row["metrics"]


def test_forge_curves_show_training_time_eval_rows(dashboard_ws, monkeypatch):
    at = page("forge", monkeypatch, dashboard_ws.root)
    pick_option(at, "forge-run", "eval-run")
    evals = [r for r in read_jsonl(Path(dashboard_ws.resolve("eval-run").path) / "metrics.jsonl")
             if r.get("event") == "eval"]
    fd = chart_titled(at, "FD-dlib (eval)")
    assert list(fd["step"]) == [2, 4] and list(fd["value"]) == pytest.approx([r["fd_dlib"] for r in evals])
    assert list(chart_titled(at, "face rate (eval)")["value"]) == pytest.approx([r["face_rate"] for r in evals])
    assert "has no style layers" in texts(at)  # a DCGAN run: no style-mixing view


def test_forge_style_mixing_and_interpolation_use_forges_code(dashboard_ws, monkeypatch):
    from assay.dashboard.views.parts import live_sampler

    at = page("forge", monkeypatch, dashboard_ws.root)  # the newest run: the StyleGAN 2
    assert "rows 1,2,3, columns 4,5,6,7, layer 4" in str(at.get("image")[3].proto.imgs[0].caption)
    at.text_input(key="forge-mix-rows").set_value("1,x").run()
    assert "seeds must be comma-separated integers, got '1,x'" in texts(at)
    run = dashboard_ws.catalog.list("runs")[-1]
    path, sha = run.path, run.params["checkpoint_sha256"]
    grid = live_sampler.mix(path, sha, [1, 2], [3, 4, 5], 2, 1.0)
    assert grid.shape == (3 * 34 + 2, 4 * 34 + 2, 3) and grid[2:34, 2:34].max() == 0  # the corner is blank
    strip = live_sampler.interpolate(path, sha, (7, 9), 5, 0.7, {})
    ends = live_sampler.sample_images(path, sha, 7, 1, 0.7, {})[0], live_sampler.sample_images(path, sha, 9, 1, 0.7, {})[0]
    assert len(strip) == 5
    for frame, end in zip((strip[0], strip[-1]), ends):  # the strip runs from one seed's sample to the other's
        assert np.abs(frame.astype(int) - end.astype(int)).max() <= 1


def test_provenance_compliance_matrix_of_a_stamped_sample(dashboard_ws, monkeypatch):
    from assay.provenance.compliance import comply, profiles
    from assay.provenance.keys.signing import workspace_trust_anchors
    from assay.provenance.verify.report import verify_file

    at = page("provenance", monkeypatch, dashboard_ws.root)
    stamped = dashboard_ws.catalog.list("samples")[0]
    pick_option(at, "comply-set", f"{stamped.name} ({stamped.id})")
    at.number_input(key="comply-n").set_value(1).run()
    path = open_set(dashboard_ws, stamped.id).path(open_set(dashboard_ws, stamped.id).rows[0])
    expected = comply([verify_file(path, dashboard_ws, workspace_trust_anchors(dashboard_ws))],
                      list(profiles().values()))
    summary, matrix, detail = (df.value for df in at.dataframe[1:4])
    assert list(summary["profile"]) == list(profiles()) and (summary["files"] == 1).all()
    assert list(summary["failed"]) == [s["failed"] for s in expected["summary"]]
    assert matrix["file"].tolist() == [path.name]
    assert matrix["eu-ai-act-art50 art50-4-disclosure"].iloc[0] == "pass"  # the visible mark of a stamped sample
    assert matrix.iloc[0, 1:].tolist() == [r["status"] for r in expected["rows"]]
    assert set(detail["status"]) <= {"pass", "fail", "n/a"} and detail["reason"].str.len().min() > 0


def test_provenance_revokes_a_consent_only_after_confirmation_and_shows_its_takedown_queue(dashboard_ws, monkeypatch):
    from assay.provenance.consent.ledger import Ledger
    from assay.provenance.consent.policy import takedown_items

    at = page("provenance", monkeypatch, dashboard_ws.root)
    record = at.selectbox(key="consent-revoke-pick").value
    at.button(key="consent-revoke").click().run()
    assert "cannot be undone" in texts(at) and Ledger(dashboard_ws).get(record).revoked_at is None
    at.button(key="consent-revoke-cancel").click().run()
    assert "cannot be undone" not in texts(at) and Ledger(dashboard_ws).get(record).revoked_at is None
    at.button(key="consent-revoke").click().run()
    at.button(key="consent-revoke-confirm").click().run()
    assert not at.exception
    revoked = Ledger(dashboard_ws).get(record)
    items = takedown_items(dashboard_ws, revoked.subject_id)
    assert revoked.revoked_at and len(revoked.takedown) == len(items) > 0
    assert f"Revoked {record}: {len(items)} takedown item(s) opened" in texts(at)
    queue = next(df.value for df in at.dataframe if "artefact" in df.value and set(df.value["record"]) == {record})
    assert sorted(queue["artefact"]) == sorted(i["artefact"] for i in items)
    ledger = at.dataframe[next(i for i, df in enumerate(at.dataframe) if "state" in df.value)].value
    assert ledger.set_index("id").loc[record, "state"] == "revoked"


def test_takedown_queue_marks_overdue_items_and_closes_one_after_confirmation(dashboard_ws, monkeypatch):
    from assay.provenance.consent.ledger import Ledger
    from assay.provenance.consent.policy import revoke, takedown_queue

    record = next(r for r in Ledger(dashboard_ws).records().values() if not r.revoked_at)
    revoke(dashboard_ws, record.id, at="2020-01-01T00:00:00Z")  # its 48 hours are long past
    overdue = [r for r in takedown_queue(dashboard_ws) if r["status"] == "overdue"]
    at = page("provenance", monkeypatch, dashboard_ws.root)
    assert {m.label: m.value for m in at.metric}["overdue"] == str(len(overdue)) != "0"
    assert f"{len(overdue)} takedown item(s) overdue" in texts(at)
    at.selectbox(key="takedown-status").set_value("overdue").run()
    shown = next(df.value for df in at.dataframe if "deadline" in df.value)
    assert set(shown["status"]) == {"overdue"} and len(shown) == min(50, len(overdue))
    artefact = at.selectbox(key="takedown-pick").value
    key = lambda r: (r["record"], r["artefact"])  # noqa: E731
    was_open = {key(r) for r in takedown_queue(dashboard_ws) if r["artefact"] == artefact and r["status"] != "done"}
    at.text_input(key="takedown-by").set_value("ops@example.org").run()
    at.button(key="takedown-done").click().run()
    assert "cannot be undone" in texts(at) and was_open == {
        key(r) for r in takedown_queue(dashboard_ws) if r["artefact"] == artefact and r["status"] != "done"}
    at.button(key="takedown-done-confirm").click().run()
    assert not at.exception
    closed = [r for r in takedown_queue(dashboard_ws) if key(r) in was_open]
    assert was_open and all(r["status"] == "done" and r["by"] == "ops@example.org" for r in closed)
    assert f"{artefact}: {len(was_open)} item(s) marked done by ops@example.org" in texts(at)


def test_detect_page_scores_the_same_test_split_as_the_report_and_says_what_was_scored(tmp_path, monkeypatch):
    from assay.core.workspace import Workspace
    from assay.detect import DetectTrainConfig, train
    from tests.helpers.detect_toy import make_fake_set, make_real_set

    ws = Workspace(tmp_path / "ws")
    real, fake = make_real_set(ws, n=30), make_fake_set(ws, "nearest", n=20, seed=1)
    cfg = DetectTrainConfig(model="spectral", simulate=("bilinear",), sim_steps=5)
    rec, report = train(ws, cfg, [real], [fake], name="with-simulated")
    at = page("detect", monkeypatch, ws.root)
    at.button(key="detect-score").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["AUC"] == f"{report['overall']['auc']:.3f}"  # the figure the test report above gives
    families = sorted(report["per_family"])
    assert len(families) == 2 and all(f in texts(at) for f in families)
    assert (f"{report['overall']['n_real']} real and {report['overall']['n_synthetic']} synthetic images"
            in texts(at))
    at.selectbox(key="detect-score-family").set_value(families[0]).run()
    assert {m.label: m.value for m in at.metric}["AUC"] == f"{report['per_family'][families[0]]['auc']:.3f}"
    assert f"the {families[0]} fakes only" in texts(at)


def past_scan_page(dashboard_ws, monkeypatch) -> tuple[AppTest, list[dict]]:
    """The Scan page on the demo's scan, and that scan's results."""
    from assay.core.fileio import read_json

    at = page("scan", monkeypatch, dashboard_ws.root)
    demo_scan = next(s for s in dashboard_ws.catalog.list("scans") if s.params.get("uncertain"))
    pick_option(at, "scan-past", f"{demo_scan.name} ({demo_scan.id})")
    return at, read_json(Path(demo_scan.path) / "report.json")["results"]


def test_scan_page_past_scans_count_uncertain_files_and_give_the_reason(dashboard_ws, monkeypatch):
    at, results = past_scan_page(dashboard_ws, monkeypatch)
    past = at.dataframe[0].value
    scans = dashboard_ws.catalog.list("scans")
    assert list(past["uncertain"]) == [s.params["uncertain"] for s in scans]
    assert "declared_synthetic" in past and "reasons" in past
    index = next(i for i, r in enumerate(results) if r["verdict"] == "uncertain")
    at.selectbox(key="scan-file").set_value(results[index]["path"]).run()
    reasons = "; ".join(results[index]["domain"]["reasons"])
    assert reasons and f"Uncertain: {reasons}" in texts(at)
    table = next(df.value for df in at.dataframe if "why" in df.value)
    assert reasons in list(table["why"])


def test_scan_page_threshold_and_filters_redecide_and_select_the_results(dashboard_ws, monkeypatch):
    at, results = past_scan_page(dashboard_ws, monkeypatch)
    ok = [r for r in results if r["status"] == "ok"]
    in_domain = [r for r in ok if not r["domain"]["reasons"]]
    at.slider(key="scan-threshold").set_value(0.0).run()
    assert f"{len(results)} of {len(results)} files at threshold 0.00: {len(in_domain)} synthetic" in texts(at)
    at.slider(key="scan-threshold").set_value(1.0).run()
    assert f"at threshold 1.00: {sum(r['probability'] >= 1.0 for r in in_domain)} synthetic" in texts(at)
    at.multiselect(key="scan-verdicts").set_value(["uncertain"]).run()
    uncertain = [r for r in ok if r["domain"]["reasons"]]
    shown = next(df.value for df in at.dataframe if "why" in df.value)
    assert len(shown) == len(uncertain) > 0 and set(shown["verdict"]) == {"uncertain"}
    at.multiselect(key="scan-verdicts").set_value(["uncertain", "real", "synthetic", "error"]).run()
    top = max(r["probability"] for r in ok)
    at.slider(key="scan-score").set_value((round(top, 2) + 0.01, 1.0)).run()
    assert "0 of" in texts(at)
    assert [b.proto.label for b in at.get("download_button")] == ["Download these results (CSV)"]


def test_scan_review_gallery_and_csv_export(dashboard_ws, monkeypatch):
    import csv
    import io

    from assay.dashboard.views.parts import scan_review

    at, results = past_scan_page(dashboard_ws, monkeypatch)
    regions = sum(len(r["regions"]) for r in results if r["status"] == "ok" and r["media"] == "image")
    captions = [[i.caption for i in img.proto.imgs] for img in at.get("image")]
    gallery = next(c for c in captions if c and all(t.rsplit(" ", 1)[-1] in scan_review.VERDICTS for t in c))
    assert regions > 0 and len(gallery) == min(regions, scan_review.GALLERY)
    assert f"Scanned faces (first {len(gallery)};" in texts(at)
    decided = scan_review.at_threshold(results, 0.0)
    made = {results[0]["path"]: "real"}
    rows = list(csv.DictReader(io.StringIO(scan_review.csv_bytes(decided, made).decode())))
    assert [r["path"] for r in rows] == [r["path"] for r in results]
    assert [r["decision"] for r in rows] == ["real"] + ["not reviewed"] * (len(rows) - 1)
    assert {r["threshold"] for r in rows} == {"0.0"}
    assert all(r["verdict"] in ("synthetic", "uncertain") for r in rows if r["error"] == "")
    assert all(r["reason"] for r in rows if r["verdict"] == "uncertain")


def test_compliance_matrix_starts_on_a_marked_set_and_hints_at_an_unmarked_one(dashboard_ws, monkeypatch):
    from assay.dashboard import data_access as da

    at = page("provenance", monkeypatch, dashboard_ws.root)
    root, stamp = str(dashboard_ws.root), da.catalog_stamp(str(dashboard_ws.root))
    sets = dashboard_ws.catalog.list("samples")
    labels = {s.id: da.set_labels(root, stamp, s.id) for s in sets}
    marked = [s for s in sets if {"visible", "watermark"} <= set(labels[s.id])]
    unmarked = [s for s in sets if not {"visible", "watermark"} <= set(labels[s.id]) and labels[s.id]]
    assert marked and unmarked and sets[-1] not in marked  # the newest set is not the one to start on
    box = at.selectbox(key="comply-set")
    assert box.options[box.index] == f"{marked[-1].name} ({marked[-1].id})"
    assert "unmarked on purpose" not in texts(at)
    pick_option(at, "comply-set", f"{unmarked[-1].name} ({unmarked[-1].id})")
    assert "unmarked on purpose" in texts(at) and "assay provenance stamp" in texts(at)
    labels_of = [b.proto.label for b in at.get("download_button")]
    assert labels_of == ["Compliance report (CSV)", "Compliance report (printable HTML)"]


def test_compliance_report_exports_every_row_as_csv_and_a_printable_page(dashboard_ws):
    import csv
    import io

    from assay.dashboard.views.parts import compliance_report
    from assay.dashboard.views.parts.compliance_ui import matrix
    from assay.provenance.compliance import comply, profiles
    from assay.provenance.keys.signing import workspace_trust_anchors
    from assay.provenance.verify.report import verify_file

    stamped = open_set(dashboard_ws, dashboard_ws.catalog.list("samples")[0].id)
    paths = [stamped.path(r) for r in stamped.rows[:2]]
    anchors = workspace_trust_anchors(dashboard_ws)
    report = comply([verify_file(p, dashboard_ws, anchors) for p in paths], list(profiles().values()))
    rows = list(csv.DictReader(io.StringIO(compliance_report.csv_bytes(report["rows"]).decode())))
    assert len(rows) == len(report["rows"]) and rows[0].keys() == set(compliance_report.DETAIL_COLUMNS)
    assert [r["status"] for r in rows] == [r["status"] for r in report["rows"]]
    page_html = compliance_report.html_report(report, matrix(report["rows"]), "two files", "2026-01-01 00:00:00 UTC")
    assert "<script" not in page_html and "@media print" in page_html and "Not legal advice" in page_html
    assert all(p.name in page_html for p in paths) and "Generated: 2026-01-01 00:00:00 UTC" in page_html
    assert page_html.count('<td class="fail">fail</td>') >= sum(r["status"] == "fail" for r in report["rows"])
    assert f"{len(paths)} file(s), {len(report['summary'])} profile(s)" in page_html


def decision(at: AppTest):
    """The reviewer's decision radio of the file shown in the Scan page's per-file panel."""
    return next(r for r in at.radio if r.label == "Your decision")


def test_scan_review_keeps_its_scan_threshold_filters_file_and_decisions_across_page_switches(dashboard_ws, monkeypatch):
    from tests.helpers.dashboard import render_switched_page

    monkeypatch.setenv("ASSAY_WORKSPACE", str(dashboard_ws.root))
    at = AppTest.from_function(render_switched_page, args=("scan",), default_timeout=TIMEOUT).run()
    scans = dashboard_ws.catalog.list("scans")
    oldest = scans[0]  # the picker starts on the newest: the oldest is a choice to keep
    assert len(scans) > 1 and at.selectbox(key="scan-past").value != oldest.id
    at.selectbox(key="scan-past").set_value(oldest.id).run()
    at.slider(key="scan-threshold").set_value(0.13).run()
    at.multiselect(key="scan-verdicts").set_value(["synthetic", "uncertain", "real"]).run()
    at.slider(key="scan-score").set_value((0.0, 0.99)).run()
    paths = at.selectbox(key="scan-file").options
    assert len(paths) > 1
    at.selectbox(key="scan-file").set_value(paths[-1]).run()
    decision(at).set_value("follow up").run()
    assert "; 1 reviewed" in texts(at)
    at.session_state["test-page"] = "data"
    at.run()
    assert "Past scans" not in texts(at)  # the Data page was shown: none of the review's widgets ran
    at.session_state["test-page"] = "scan"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="scan-past").value == oldest.id
    assert at.slider(key="scan-threshold").value == 0.13
    assert at.multiselect(key="scan-verdicts").value == ["synthetic", "uncertain", "real"]
    assert at.slider(key="scan-score").value == (0.0, 0.99)
    assert at.selectbox(key="scan-file").value == paths[-1]
    assert decision(at).value == "follow up" and "; 1 reviewed" in texts(at)
    at.selectbox(key="scan-file").set_value(paths[0]).run()
    assert decision(at).value == "not reviewed"  # a decision belongs to its file


def test_scan_gallery_thumbnails_are_cached_until_the_file_changes(dashboard_ws, monkeypatch, tmp_path):
    import cv2

    import assay.core.imageio as imageio
    from assay.dashboard import data_access as da
    from assay.dashboard.views.parts import scan_review

    path = tmp_path / "face.png"
    cv2.imwrite(str(path), np.full((300, 400, 3), 120, np.uint8))
    result = {"media": "image", "status": "ok", "path": str(path), "review_verdict": "real",
              "regions": [{"box": [10, 20, 310, 170], "probability": 0.25}, {"box": [0, 0, 40, 40], "probability": 0.5}]}
    reads = []
    decode = imageio.decode
    monkeypatch.setattr(imageio, "decode", lambda p: reads.append(p) or decode(p))
    da.face_thumbnails.clear()
    first = scan_review.faces([result])
    again = scan_review.faces([result])
    assert len(reads) == 1 and len(first) == len(again) == 2
    assert first[0][0].shape == (scan_review.THUMB // 2, scan_review.THUMB, 3)  # 300x150 crop, downscaled
    assert first[1][0].shape == (40, 40, 3)  # smaller than a thumbnail: never enlarged
    assert first[0][1] == "face.png 0.25 real"
    cv2.imwrite(str(path), np.full((300, 400, 3), 200, np.uint8))
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))
    changed = scan_review.faces([result])
    assert len(reads) == 2 and int(changed[0][0].mean()) == 200


def test_overview_is_served_at_the_root_and_at_its_own_address():
    from tests.helpers.dashboard import show_navigation

    at = AppTest.from_function(show_navigation, default_timeout=TIMEOUT).run()
    assert at.text[0].value.split() == ["/=Overview", "data=Data", "forge=Forge", "detect=Detect", "scan=Scan",
                                        "provenance=Provenance", "overview=Overview"]
