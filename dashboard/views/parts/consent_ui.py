"""The Provenance page's consent ledger and takedown queue, through ``provenance.consent`` and ``provenance.policy``.

Reads use the read-only workspace; the two actions (revoke a record, mark a takedown item done) are each an
explicit button, then a confirmation, and only then open the workspace writable.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from assay.core.errors import AssayError
from assay.dashboard import data_access as da
from assay.dashboard.views.parts.widgets import empty_state, paged_table, show_table
from assay.provenance import load_policy, mark_done, revoke, takedown_queue, utc

CONSENT_COLUMNS = ("id", "subject_id", "state", "scopes", "jurisdiction", "purpose", "granted_at", "expires_at",
                   "revoked_at", "takedown items")
TAKEDOWN_COLUMNS = ("status", "deadline", "artefact", "kind", "name", "record", "subject_id", "by", "done_at")
#: takedown statuses in the order the queue lists them (the most urgent first)
STATUS_ORDER = ("overdue", "open", "done")
REVOKED = "consent-revoked-message"  # session key: the record just revoked, whose queue is shown after the rerun
CONFIRM_REVOKE = "consent-confirm-revoke"
CONFIRM_DONE = "takedown-confirm-done"
DONE = "takedown-done-message"


def state(rec: dict[str, Any]) -> str:
    """A record's state now: revoked, expired, not yet valid or valid."""
    now = utc()
    if rec["revoked_at"]:
        return "revoked"
    if rec["expires_at"] and now >= utc(rec["expires_at"]):
        return "expired"
    return "not yet valid" if now < utc(rec["granted_at"]) else "valid"


def ledger_section(root: str, stamp: da.Stamp) -> None:
    """Every consent record (pseudonymous subject ids only), newest first, and the revoke action."""
    st.subheader("Consent ledger")
    records = da.consent_records(root, stamp)
    if not records:
        empty_state("consent records", "assay provenance consent add --subject subj-0001 --scopes training "
                                       "--jurisdiction EU --purpose PURPOSE")
        return
    rows = [{**r, "state": state(r), "takedown items": len(r["takedown"])} for r in records]
    paged_table("consents", len(rows), lambda off, n: rows[off:off + n], CONSENT_COLUMNS)
    revoke_action(root, stamp, [r for r in rows if not r["revoked_at"]])


def revoke_action(root: str, stamp: da.Stamp, active: list[dict[str, Any]]) -> None:
    """Revoke a record: pick it, press *Revoke consent...*, then confirm; shows the queue it opened."""
    done = st.session_state.pop(REVOKED, None)
    if done:
        items = [r for r in takedown_queue(da.open_workspace(root)) if r["record"] == done]
        st.success(f"Revoked {done}: {len(items)} takedown item(s) opened, due {items[0]['deadline'] if items else '-'}")
        show_table(items, TAKEDOWN_COLUMNS)
    if not active:
        st.caption("Every record is revoked.")
        return
    by_id = {r["id"]: r for r in active}
    chosen = st.selectbox("Record to revoke", list(by_id), key="consent-revoke-pick",
                          format_func=lambda i: f"{i} ({by_id[i]['subject_id']}, {', '.join(by_id[i]['scopes'])})")
    if st.button("Revoke consent...", key="consent-revoke", help="Asks for confirmation; writes to the ledger"):
        st.session_state[CONFIRM_REVOKE] = chosen
    pending = st.session_state.get(CONFIRM_REVOKE)
    if pending not in by_id:
        return
    subject = by_id[pending]["subject_id"]
    items = da.takedown_preview(root, stamp, subject)
    hours = load_policy(da.open_workspace(root)).takedown_hours
    st.warning(f"Revoke {pending} of {subject}? The revocation is appended to the consent ledger and cannot be "
               f"undone; it opens a takedown queue of {len(items)} artefact(s) derived from {subject}, due in "
               f"{hours:g} hours.")
    left, right = st.columns(2)
    if left.button(f"Confirm: revoke {pending}", key="consent-revoke-confirm", type="primary"):
        with st.spinner(f"Revoking {pending}..."):
            revoke(da.writable_workspace(), pending)
        st.session_state.pop(CONFIRM_REVOKE, None)
        st.session_state[REVOKED] = pending
        st.rerun()
    if right.button("Cancel", key="consent-revoke-cancel"):
        st.session_state.pop(CONFIRM_REVOKE, None)
        st.rerun()


def takedown_section(root: str) -> None:
    """Every revoked record's takedown items with deadline and status (overdue first), and marking one done."""
    st.subheader("Takedown queue")
    queue = takedown_queue(da.open_workspace(root))  # not cached: open items turn overdue with the clock
    if not queue:
        empty_state("takedown requests", "assay provenance consent revoke RECORD")
        return
    counts = {s: sum(r["status"] == s for r in queue) for s in STATUS_ORDER}
    for col, (status, n) in zip(st.columns(len(counts)), counts.items()):
        col.metric(status, n)
    if counts["overdue"]:
        st.error(f"{counts['overdue']} takedown item(s) overdue: past their deadline and not marked done.")
    shown = st.selectbox("Show", ("not done", "overdue", "done", "all"), key="takedown-status")
    rows = sorted((r for r in queue if shown == "all" or r["status"] == shown
                   or (shown == "not done" and r["status"] != "done")),
                  key=lambda r: (STATUS_ORDER.index(r["status"]), r["deadline"], r["artefact"]))
    paged_table(f"takedowns-{shown}", len(rows), lambda off, n: rows[off:off + n], TAKEDOWN_COLUMNS)
    st.caption("The queue says what to remove; removing the files, copies outside the workspace and published "
               "copies stays the user's duty.")
    done_action([r for r in queue if r["status"] != "done"])


def done_action(open_items: list[dict[str, Any]]) -> None:
    """Mark an open item done (who took it down): pick it, name who, press *Mark done...*, then confirm."""
    message = st.session_state.pop(DONE, None)
    if message:
        st.success(message)
    if not open_items:
        return
    names = {r["artefact"]: f"{r['artefact']} ({r['kind']} {r['name']}, due {r['deadline']})" for r in open_items}
    left, right = st.columns(2)
    artefact = left.selectbox("Item taken down", list(names), format_func=names.get, key="takedown-pick")
    by = right.text_input("Done by (who took it down)", key="takedown-by")
    if st.button("Mark done...", key="takedown-done", help="Asks for confirmation; writes to the ledger"):
        st.session_state[CONFIRM_DONE] = (artefact, by)
    pending = st.session_state.get(CONFIRM_DONE)
    if not pending or pending[0] not in names:
        return
    st.warning(f"Record that {pending[1] or '(nobody named)'} took {pending[0]} down? This is appended to the "
               "consent ledger and cannot be undone.")
    left, right = st.columns(2)
    if left.button(f"Confirm: {pending[0]} done", key="takedown-done-confirm", type="primary"):
        st.session_state.pop(CONFIRM_DONE, None)
        try:
            closed = mark_done(da.writable_workspace(), pending[0], pending[1])
        except AssayError as exc:
            st.error(str(exc))
            return
        st.session_state[DONE] = f"{pending[0]}: {closed} item(s) marked done by {pending[1].strip()}"
        st.rerun()
    if right.button("Cancel", key="takedown-done-cancel"):
        st.session_state.pop(CONFIRM_DONE, None)
        st.rerun()

