"""The Latent space page's 2-D map: a components-v2 element (``map.js``) that paints
every point on a canvas in the browser and sends back a box or lasso as its outline.

The points go to the browser once per map and colouring: the browser keeps them under
their digest, and a later run of the page (after a selection, a toggle) sends the
digest alone. Should the browser not hold them after all, it asks, and the next run
sends them again. UI glue only: which points lie inside a region is
``core.map_region``'s to say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.map_region import Region, parse_region

HERE = Path(__file__).resolve().parent
KEY = "latent_map"
HELD = "latent_map_held"  # the digest of the points the browser was last sent
REGION = "latent_region"  # the selection drawn on the map (a Region), or None
REFUSED = "latent_region_refused"  # why the last selection sent could not be used

_MOUNT: Any = st.components.v2.component(
    "severity_studio.latent_map",
    html="",
    css=(HERE / "map.css").read_text(),
    js=(HERE / "map.js").read_text(),
)


def _sent(name: str) -> Any:
    value = st.session_state.get(KEY)
    return value.get(name) if isinstance(value, dict) else None


def _on_select() -> None:
    sent = _sent("select")
    if not isinstance(sent, dict):
        return
    if isinstance(sent.get("holds"), str):
        st.session_state[HELD] = sent["holds"]
    try:
        st.session_state[REGION] = parse_region(sent.get("region"))
        st.session_state.pop(REFUSED, None)
    except ValueError as exc:
        st.session_state[REFUSED] = str(exc)


def _on_need() -> None:
    st.session_state.pop(HELD, None)  # the next run sends the points again


def region(map_id: str) -> Region | None:
    """The selection drawn on this map, if any (one drawn on another map does not count)."""
    chosen = st.session_state.get(REGION)
    return chosen if isinstance(chosen, Region) and chosen.map_id == map_id else None


def refused() -> str | None:
    """Why the browser's last selection was not used, in words (None if it was)."""
    return st.session_state.get(REFUSED)


def mount(
    rows: pd.DataFrame,
    digest: str,
    map_id: str,
    palette: list[str],
    legend: dict,
    height: int = 560,
) -> None:
    """The map; ``rows`` (x, y, id, c, and what the hover shows) go only where the
    browser does not hold them yet under ``digest``."""
    send = st.session_state.get(HELD) != digest
    chosen = region(map_id)
    data = {
        "key": digest,
        "map": map_id,
        "points": rows if send else None,
        "palette": palette,
        "legend": legend,
        "region": (
            {"map": chosen.map_id, "kind": chosen.kind, "x": list(chosen.xs), "y": list(chosen.ys)}
            if chosen
            else None
        ),
        "height": height,
    }
    _MOUNT(key=KEY, data=data, on_select_change=_on_select, on_need_change=_on_need)
    if send:
        st.session_state[HELD] = digest
