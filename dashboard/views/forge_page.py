"""Forge: GAN runs, their quality reports, curves and grids, the live sampler, interpolation and style mixing."""

from __future__ import annotations

import statistics
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from assay.dashboard import data_access as da
from assay.dashboard.views.parts import live_sampler, quality
from assay.dashboard.views.parts.widgets import empty_state, pick, show_table
from assay.forge import FAMILIES, PANELS, GanConfig, StyleGenerator, load_config, make_config

#: loop settings that are stabiliser switches (see `assay forge presets`); shown when they differ from the family
SWITCH_FIELDS = ("loss", "unroll", "r1_gamma", "gp_lambda", "clip", "diffaug", "lr_g", "lr_d", "ema", "n_critic")
#: the networks' own stabilisers, as component options (``d.spectral_norm``)
SWITCH_OPTIONS = ("spectral_norm", "mbdisc", "mbstd", "projection")


def switches(params: dict[str, Any]) -> dict[str, Any]:
    """The switch settings of a run (its config.json, nested or flat) that differ from its family's preset."""
    cfg = load_config(params)
    preset = make_config(cfg.model, cfg.size) if cfg.model in FAMILIES.names() else GanConfig()
    out = {k: getattr(cfg, k) for k in SWITCH_FIELDS if getattr(cfg, k) != getattr(preset, k)}
    for part in ("g", "d"):
        mine, base = getattr(cfg, part).options, getattr(preset, part).options
        out.update({f"{part}.{k}": mine[k] for k in SWITCH_OPTIONS if k in mine and mine[k] != base.get(k)})
    return out


def speed(metrics: list[dict[str, Any]]) -> float | None:
    rates = [m["images_per_s"] for m in metrics if "images_per_s" in m]
    return statistics.median(rates) if rates else None


def curve_chart(metrics: list[dict[str, Any]], fields: tuple[str, ...], title: str) -> alt.Chart:
    frame = pd.DataFrame([{"step": m["step"], "series": f, "value": m[f]} for m in metrics for f in fields if f in m])
    return alt.Chart(frame, title=title).mark_line().encode(
        x="step:Q", y=alt.Y("value:Q", title=None), color="series:N", tooltip=["step", "series", "value"])


def runs_table(root: str, stamp: da.Stamp, runs: list[dict[str, Any]]) -> None:
    rows = []
    for r in runs:
        metrics = da.run_metrics(root, stamp, r["path"]) if r["path"] else []
        rows.append({"id": r["id"], "name": r["name"], "family": r["params"].get("model"), "status": r["status"],
                     "size": r["params"].get("size"), "step": r["params"].get("final_step"),
                     "switches": switches(r["params"]), "images/s": speed(metrics), "error": r["params"].get("error")})
    show_table(rows)


def quality_section(root: str, stamp: da.Stamp, runs: list[dict[str, Any]]) -> None:
    """The latest ``assay forge eval`` report of every run and sample set, with its reference rows."""
    st.subheader("Quality metrics across runs (with reference rows)")
    targets = runs + da.records(root, stamp, "samples")
    reports = [(t, quality.latest_report(da.eval_rows(root, stamp, t["path"]))) for t in targets if t["path"]]
    reports = [(t, rows) for t, rows in reports if rows]
    if not reports:
        empty_state("sample-quality reports", "assay forge eval RUN")
        return
    show_table(quality.table_rows(reports))
    st.caption("Each report's generator row beside its references: real-vs-real (held-out real images, the floor "
               "a perfect generator reaches at this n) and degenerate (one image repeated, a collapsed generator). "
               "KID and SWD x 1e3. FID, KID and IS appear only where measured with the standard Inception weights; "
               "FD-dlib compares only with FD-dlib at the same n and size.")
    st.markdown("Feature spaces:  \n" + "  \n".join(f"**{name}**: {text}"
                                                      for name, text in quality.spaces(reports).items()))


def condition_inputs(keys: list[Any], key: str) -> dict[str, int]:
    """A select box per condition key of a conditional run ("any" leaves it drawn per image)."""
    given: dict[str, int] = {}
    for col, k in zip(st.columns(len(keys)) if keys else [], keys):
        choice = col.selectbox(k.name, ("any", *k.classes), key=f"{key}-{k.name}")
        if choice != "any":
            given[k.name] = k.classes.index(choice)
    return given


def sampler(run: dict[str, Any]) -> None:
    st.subheader("Live sampler")
    sha = run["params"].get("checkpoint_sha256", "")
    keys = live_sampler.condition_keys(run["path"], sha)
    c = st.columns(3)
    seed = c[0].number_input("Seed", 0, 2**31 - 1, 0, key="forge-seed")
    truncation = c[1].slider("Truncation (psi)", 0.05, 1.0, 1.0, 0.05, key="forge-psi")
    n = c[2].slider("Images", 1, 32, 8, key="forge-n")
    given = condition_inputs(keys, "forge-cond")
    images = live_sampler.sample_images(run["path"], sha, int(seed), n, truncation, given)
    st.image(images, width=96, caption=[f"seed {seed} #{i}" for i in range(n)])
    st.caption("Previews, not stamped and not saved. Saving makes a sample set stamped at birth like "
               "`assay forge sample`.")
    if st.button("Save as a sample set", key="forge-save"):
        from assay.forge import sample

        condition = {k.name: k.classes[given[k.name]] for k in keys if k.name in given}
        with st.spinner(f"Sampling {n} images into a new sample set..."):
            set_id = sample(da.writable_workspace(), run["id"], n, seed=int(seed), truncation=truncation,
                            condition=condition or None, progress=False)
        st.success(f"Saved sample set {set_id}")

    st.subheader("Interpolation")
    c = st.columns(3)
    a = c[0].number_input("From seed", 0, 2**31 - 1, 0, key="forge-ia")
    b = c[1].number_input("To seed", 0, 2**31 - 1, 1, key="forge-ib")
    steps = c[2].slider("Steps", 3, 16, 8, key="forge-is")
    st.image(live_sampler.interpolate(run["path"], sha, (int(a), int(b)), steps, truncation, given), width=96)
    st.caption("The generator's own interpolation and truncation, as `assay forge interpolate` (in W for StyleGAN, "
               "in z otherwise).")
    mixing(run, truncation)


def seeds(text: str) -> list[int]:
    """Comma-separated seeds; a ValueError names the text that is not."""
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"seeds must be comma-separated integers, got {text!r}") from None


def mixing(run: dict[str, Any], truncation: float) -> None:
    """Forge's style-mixing grid of a StyleGAN run, generated on the spot."""
    st.subheader("Style mixing")
    sha = run["params"].get("checkpoint_sha256", "")
    g, _ = live_sampler.generator(run["path"], sha)
    if not isinstance(g, StyleGenerator):
        st.info(f"Run {run['id']} ({run['params'].get('model')}) has no style layers; style mixing needs a "
                "`stylegan` or `stylegan2` run.")
        return
    c = st.columns(3)
    rows = c[0].text_input("Row seeds (coarse styles)", "1,2,3", key="forge-mix-rows")
    cols = c[1].text_input("Column seeds (fine styles)", "4,5,6,7", key="forge-mix-cols")
    layer = c[2].slider("Layer (coarse below it)", 1, g.num_ws - 1, min(4, g.num_ws - 1), key="forge-mix-layer")
    try:
        grid = live_sampler.mix(run["path"], sha, seeds(rows), seeds(cols), layer, truncation)
    except ValueError as exc:
        st.error(str(exc))
        return
    st.image(grid, caption=f"rows {rows}, columns {cols}, layer {layer}, psi {truncation}", width=320)
    st.caption("Top row: the column seeds; left column: the row seeds; each cell takes the styles below the layer "
               "(pose, face shape) from its row seed and the rest (colours, texture) from its column seed, as "
               "`assay forge mix` (previews, not stamped and not saved).")


def render() -> None:
    st.title("Forge")
    root, stamp = da.current()
    runs = da.records(root, stamp, "runs")
    if not runs:
        empty_state("GAN runs", "assay forge train --model dcgan --data SET --size 64")
        return
    st.subheader("Runs")
    runs_table(root, stamp, runs)
    quality_section(root, stamp, runs)

    run = pick("Run", runs, "forge-run")
    metrics = da.run_metrics(root, stamp, run["path"]) if run["path"] else []
    st.subheader("Curves")
    panels = {title: fields for title, fields in {**PANELS, "fixed-batch diversity": ("diversity",)}.items()
              if any(f in m for m in metrics for f in fields)}
    for title, fields in panels.items():
        st.altair_chart(curve_chart(metrics, fields, title), width="stretch")
    if not panels:
        st.info(f"Run {run['id']} has logged no losses yet (every `log_every` steps).")
    elif not any(m.get("event") == "eval" for m in metrics):
        st.caption("FD-dlib and face rate over training come with `--set eval_every=K` (`event: eval` rows).")
    events = [m for m in metrics if "event" in m and m["event"] != "eval"]
    if events:
        show_table(events, ["step", "event"])

    st.subheader("Sample grids across checkpoints")
    grids = da.run_grids(run["path"]) if run["path"] else []
    if grids:
        steps = [s for s, _ in grids]
        step = st.select_slider("Step", steps, value=steps[-1], key="forge-grid") if len(steps) > 1 else steps[0]
        st.image(dict(grids)[step], caption=f"step {step}", width=320)
    else:
        st.info(f"Run {run['id']} has no sample grid yet (one every `sample_every` steps and at the end).")

    if run["status"] == "ready" and run["params"].get("checkpoint_sha256"):
        sampler(run)
    else:
        st.info(f"Run {run['id']} is {run['status']}: the live sampler needs a finished run.")
