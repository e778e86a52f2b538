"""Helpers shared by the pages: opening the store for this rerun, friendly errors."""

from __future__ import annotations

import streamlit as st

from core.paths import resolve_db_path
from core.store import Store


def open_store() -> Store:
    """A fresh connection for this rerun: Streamlit sessions run in their own threads
    and SQLite connections must not be shared between them."""
    return Store(resolve_db_path())


def not_built_yet(page: str, issue: str, what: str) -> None:
    st.title(page)
    st.info(f"This page is not built yet ({issue}). It will {what}")
