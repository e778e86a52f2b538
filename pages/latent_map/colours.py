"""What the map sends the browser: one small row per point and a palette.

Each point carries a one-byte colour code into a palette of at most 256 colours, so the
browser paints pixels without parsing a colour per point. Grades (ordinal) share one
sequential scale, normal darkest; continuous values (severity score, number of
judgments, how far a point moved) are cut into 255 steps of the same scale; splits and
patients get a qualitative palette (patients' colours repeat: a study has thousands).
Points without a value are grey and drawn first, so every coloured point lies above them.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import plotly.express as px

MISSING = "#bbbbbb"
STEPS = 255  # a continuous value's steps; code 255 is "no value"
QUALITATIVE = px.colors.qualitative.Plotly
LEGEND_ITEMS = 12  # categories the legend names; the rest are counted


def hex_colour(colour: str) -> str:
    """Plotly's "rgb(r, g, b)" (or a "#rrggbb" already) as "#rrggbb"."""
    if colour.startswith("#"):
        return colour.lower()
    r, g, b = (round(float(v)) for v in colour[colour.index("(") + 1 : -1].split(",")[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def sequential(count: int) -> list[str]:
    """``count`` colours of one sequential scale (Viridis), darkest first."""
    return [hex_colour(c) for c in px.colors.sample_colorscale("Viridis", max(count, 2))][:count]


def colour_codes(values: pd.Series, kind: str, title: str) -> tuple[np.ndarray, list[str], dict]:
    """Codes (uint8, one per value), the palette they index, and a legend.

    ``kind`` is "ordinal" (few ordered categories: grades), "continuous" or "nominal"
    (splits, patients)."""
    if kind == "continuous":
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
        known = np.isfinite(numbers)
        low, high = (
            (float(numbers[known].min()), float(numbers[known].max()))
            if known.any()
            else (0.0, 1.0)
        )
        span = high - low or 1.0
        steps = np.clip((numbers - low) / span * (STEPS - 1), 0, STEPS - 1)
        codes = np.where(known, np.nan_to_num(steps).round(), STEPS).astype(np.uint8)
        palette = [*sequential(STEPS), MISSING]
        legend = {
            "kind": "scale",
            "title": title,
            "low": low,
            "high": high,
            "colours": palette[:STEPS:16],
        }
        return codes, palette, legend
    present = values.dropna()
    if kind == "ordinal":
        labels = sorted(present.unique().tolist())
        palette = sequential(len(labels))
    else:
        labels = sorted(present.astype(str).unique().tolist())
        palette = [QUALITATIVE[k % len(QUALITATIVE)] for k in range(min(len(labels), 255))]
    lookup = {label: k % 255 for k, label in enumerate(labels)}
    keys = values if kind == "ordinal" else values.astype(str).where(values.notna())
    codes = keys.map(lookup).fillna(len(palette)).to_numpy(dtype=np.uint8)
    palette = [*palette, MISSING]
    items = [[str(label), palette[lookup[label]]] for label in labels[:LEGEND_ITEMS]]
    legend = {
        "kind": "categories",
        "title": title,
        "items": items,
        "more": max(len(labels) - LEGEND_ITEMS, 0),
    }
    if values.isna().any():
        legend["items"].append(["none", MISSING])
    return codes, palette, legend


def map_rows(
    points: pd.DataFrame, colour: str, kind: str, title: str, grades_shown: bool
) -> tuple[pd.DataFrame, list[str], dict]:
    """The rows the browser draws, lowest colour first (so the highest lie on top), with
    what its hover shows: id, severity, patient, and the grade only where it may."""
    codes, palette, legend = colour_codes(points[colour], kind, title)
    rows = pd.DataFrame(
        {
            "x": points["x"].to_numpy(dtype=np.float32),
            "y": points["y"].to_numpy(dtype=np.float32),
            "id": points["image_id"].to_numpy(dtype=np.int32),
            "c": codes,
            "severity": pd.to_numeric(points["severity"], errors="coerce").to_numpy(
                dtype=np.float32
            ),
            "patient": pd.Categorical(points["patient"].fillna("no patient").astype(str)),
        }
    )
    if grades_shown:
        rows["grade"] = pd.to_numeric(points["grade"], errors="coerce").astype("Int8")
    missing = codes == len(palette) - 1
    order = np.lexsort((codes, ~missing))  # no value first, then by code
    return rows.iloc[order].reset_index(drop=True), palette, legend


def digest(rows: pd.DataFrame, *parts: object) -> str:
    """A short name for these rows (and ``parts``): the browser keeps points under it."""
    hashed = pd.util.hash_pandas_object(rows, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes() + repr(parts).encode()).hexdigest()[:16]
