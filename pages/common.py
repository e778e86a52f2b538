"""Helpers shared by the pages: the store for this rerun, sign-in, the worker banner and
the "what drives the score" overlay's controls. UI only: everything else (image display
helpers included) is in ``core``."""

from __future__ import annotations

import numpy as np
import streamlit as st

from core.access import User, configured_admins, user_for
from core.imaging.heat import shared_scale
from core.paths import resolve_db_path
from core.store import Store
from core.worker.status import worker_status

OVERLAY_HELP = (
    "Integrated Gradients of {whose} severity score against a blurred copy of each image: "
    "where changing the pixels would change the score most, one colour scale for all of "
    "the version's images. Not a diagnosis (see the README)."
)


def open_store() -> Store:
    """A fresh connection for this rerun: Streamlit sessions run in their own threads
    and SQLite connections must not be shared between them."""
    _run_through_app_navigation()
    return Store(resolve_db_path())


def _run_through_app_navigation() -> None:
    """Streamlit starts in its legacy multipage mode when a ``pages/`` folder exists, and
    a fresh server's deep link (say /compare) then runs this page without ``app.py``
    (no navigation, no page config) until some session calls ``st.navigation``. Leave
    that mode and rerun, so that every page is always served through ``app.py``."""
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def worker_banner(store: Store) -> None:
    if worker_status(store) is None:
        st.warning(
            "No background worker is running, so nothing will be trained, embedded or "
            "projected. Start one beside the app with `.venv/bin/python -m core worker` "
            "(the README's `make run` does this for you).",
            icon=":material/warning:",
        )


def _secrets_section(name: str) -> dict:
    try:
        return dict(st.secrets.get(name, {}))
    except Exception:  # no secrets file, or a malformed one: it must not lock raters out
        return {}


def _oidc_configured() -> bool:
    return bool(_secrets_section("auth"))


MARKDOWN_CHARACTERS = set("\\`*_{}[]<>()#+-.!|~:$=")


def plain_text(text: str) -> str:
    """User-entered text (names) for a markdown element, shown as typed: no links, no
    images, no formatting."""
    return "".join(f"\\{c}" if c in MARKDOWN_CHARACTERS else c for c in text)


def signed_in_user(store: Store) -> User | None:
    """Sign-in in the sidebar. With OIDC settings in .streamlit/secrets.toml the identity
    provider names the rater (st.login); otherwise the rater picks or types a name.
    The role comes from core.access (configured admins, else the database's first rater)."""
    admins = configured_admins(_secrets_section("roles").get("admins", []))
    with st.sidebar:
        if _oidc_configured():
            if not st.user.is_logged_in:
                st.button("Sign in", on_click=st.login, type="primary")
                return None
            email = st.user.get("email")
            name = str(st.user.get("name") or email)
            user = user_for(store, name, str(email) if email else None, admins)
            _signed_in_caption("Signed in as", user)
            st.button("Sign out", on_click=st.logout)
            return user
        if "rater" not in st.session_state:
            known = [r["name"] for r in store.raters.list()]
            choice = st.selectbox("Who is rating?", ["New rater...", *known], key="pick")
            typed = st.text_input("Your name", key="typed") if choice == "New rater..." else choice
            if st.button("Sign in", type="primary", key="sign_in"):
                try:
                    st.session_state.rater = user_for(store, typed or "", None, admins).name
                except ValueError as exc:
                    st.error(str(exc))
                else:
                    st.rerun()
            return None
        user = user_for(store, st.session_state.rater, None, admins)
        _signed_in_caption("Rating as", user)
        if st.button("Sign out", key="sign_out"):
            store.screens.clear(user.rater_id)  # the pair on screen is free for others
            for key in ("rater", "pair", "undo_stack"):
                st.session_state.pop(key, None)
            st.rerun()
    return user


def signed_in_or_stop(store: Store, to_do: str) -> User:
    """The signed-in user; otherwise the page says to sign in ``to_do`` and stops."""
    user = signed_in_user(store)
    if user is None:
        st.info(f"Sign in (in the sidebar) to {to_do}.")
        st.stop()
    return user


def _signed_in_caption(prefix: str, user: User) -> None:
    role = " · study lead" if user.is_admin else ""
    st.caption(f"{prefix} **{plain_text(user.name)}**{role}")


def overlay_controls(key: str, whose: str = "this version's") -> float | None:
    """The attribution overlay's toggle (off by default) and opacity slider, keyed
    ``{key}_overlay`` and ``{key}_opacity``: the opacity when the maps are to be drawn,
    else None. What to say when a version has no maps yet is the page's to decide."""
    left, right = st.columns([2, 3])
    shown = left.toggle(
        "Show what drives the score",
        value=False,
        key=f"{key}_overlay",
        help=OVERLAY_HELP.format(whose=whose),
    )
    if not shown:
        return None
    return right.slider("Opacity", 0.0, 1.0, 0.7, 0.05, key=f"{key}_opacity")


@st.cache_data(ttl=60, show_spinner=False)
def attribution_maps(
    db_path: str, model_id: int, image_ids: tuple[int, ...]
) -> dict[int, np.ndarray]:
    """A version's stored attribution maps of these images (those it has)."""
    with Store(db_path) as fresh:
        return fresh.attributions.maps(model_id, list(image_ids))


@st.cache_data(ttl=60, show_spinner=False)
def attribution_scale(db_path: str, model_id: int) -> tuple[float, int]:
    """The one colour scale of a version's maps, and how many maps it has."""
    with Store(db_path) as fresh:
        peaks = fresh.attributions.peaks(model_id)
    return shared_scale(peaks), len(peaks)
