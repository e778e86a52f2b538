"""The Training page's control to delete a model version, for study leads (UI only: the
store decides which versions must be kept, and says why)."""

from __future__ import annotations

import streamlit as st

from core.store import NotFound, Store

ASKED = "delete_version_asked"  # the version awaiting confirmation in this session
DONE = "delete_version_done"  # what to say after the rerun that drops it from the table


def delete_version(store: Store, models: list[dict]) -> None:
    """Delete a chosen version with what it produced (its severity scores, its map and
    its attribution maps) once the lead confirms; a version that must be kept (the one
    in use, say) is refused with the reason before anything is asked."""
    if done := st.session_state.pop(DONE, None):
        st.success(done, icon=":material/delete:")
    labels = {f"v{m['version']} · {m['method']} · {m['status']}": m for m in models}
    left, right = st.columns([3, 1])
    model = labels[left.selectbox("Version to delete", list(labels), key="delete_version")]
    if right.button("Delete this version", key="delete_start", width="stretch"):
        blocker = store.models.removal_blocker(model["id"])
        st.session_state[ASKED] = None if blocker else model["id"]
        if blocker:
            st.error(blocker, icon=":material/block:")
    if st.session_state.get(ASKED) != model["id"]:
        return
    number = model["version"]
    st.warning(
        f"Delete version {number} for good, with its severity scores, its map and its "
        "attribution maps? The answers raters gave are kept. A deleted version cannot be "
        "brought back.",
        icon=":material/warning:",
    )
    yes, no = st.columns(2)
    if yes.button(f"Yes, delete version {number}", type="primary", key="delete_confirm"):
        st.session_state[ASKED] = None
        try:
            store.models.remove(model["id"])
        except (ValueError, NotFound) as exc:  # it changed since the question was asked
            st.error(str(exc), icon=":material/block:")
            return
        st.session_state[DONE] = f"Version {number} was deleted, with all it produced."
        st.rerun()
    if no.button("Keep it", key="delete_cancel"):
        st.session_state[ASKED] = None
        st.rerun()
