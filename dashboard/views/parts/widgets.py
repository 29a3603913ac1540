"""Page building blocks shared by every page: empty states, record tables, pagination, pickers.

Pickers and the review controls keep their value for the whole session (``persist_state="session"``): a user who
switches to another page and back finds the same record, threshold and filters."""

from __future__ import annotations

import json
from typing import Any, Callable, Sequence

import pandas as pd
import streamlit as st

from assay.dashboard import data_access as da


def empty_state(what: str, command: str) -> None:
    """Say that there is nothing to show and which command fills it."""
    st.info(f"No {what} in this workspace yet. Run `{command}` to make some.", icon=":material/info:")


def cell(value: Any) -> Any:
    """A value a table cell can show: dicts and lists as compact JSON, floats to 4 decimals."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    return value


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Rows as a data frame with the given columns (missing values blank)."""
    columns = list(columns) if columns is not None else list(dict.fromkeys(k for r in rows for k in r))
    return pd.DataFrame([{c: cell(r.get(c)) for c in columns} for r in rows], columns=columns)


def show_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> None:
    st.dataframe(table(rows, columns), hide_index=True, width="stretch")


def paged_table(key: str, total: int, fetch: Callable[[int, int], list[dict[str, Any]]],
                columns: Sequence[str]) -> list[dict[str, Any]]:
    """A table read one page at a time (``fetch(offset, limit)``); returns the rows shown."""
    left, right = st.columns([1, 3])
    size = left.selectbox("Rows per page", da.PAGE_SIZES, index=1, key=f"{key}-size")
    pages = max(1, -(-total // size))
    # the page box is keyed on the page size, so that a new size starts again from page 1
    number = right.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, value=1,
                                key=f"{key}-page-{size}")
    rows = fetch((int(number) - 1) * size, size)
    st.caption(f"{total:,} rows; showing {len(rows)} from row {(int(number) - 1) * size + 1:,}, newest first")
    show_table(rows, columns)
    return rows


#: how long a picker or review control keeps its value when its page is not shown
KEPT = "session"


def pick(label: str, recs: Sequence[dict[str, Any]], key: str,
         prefer: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """A select box over records (by id, so a new record does not move the choice), newest first, shown as
    ``name (id)``; it starts on the newest record that ``prefer`` accepts (else the newest) and keeps the choice
    across page switches."""
    newest = {r["id"]: r for r in reversed(recs)}
    ids = list(newest)
    first = next((i for i, r in enumerate(newest.values()) if prefer(r)), 0) if prefer else 0
    chosen = st.selectbox(label, ids, index=first, format_func=lambda i: f"{newest[i]['name']} ({i})", key=key,
                          persist_state=KEPT)
    return newest[chosen]


def threshold_slider(key: str, default: float = 0.5) -> float:
    """The threshold on P(synthetic) at which a file or image counts as flagged (kept across page switches)."""
    return float(st.slider("Threshold on P(synthetic)", 0.0, 1.0, round(float(default), 2), 0.01, key=key,
                           persist_state=KEPT))
