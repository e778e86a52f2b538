"""Latent space page: what the model learned, coloured and sorted by severity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st

from core.imaging.display import thumbnail_array
from core.imaging.heat import overlay
from core.store.blinding import rater_blinding, shows_grades
from core.worker.status import map_note
from pages import latent_map
from pages.common import (
    attribution_maps,
    attribution_scale,
    open_store,
    overlay_controls,
    signed_in_user,
    worker_banner,
)
from pages.latent_map.colours import MISSING, digest, map_rows, sequential

COLOUR_BY = {
    "Grade": "grade",
    "Severity score": "severity",
    "Patient": "patient",
    "Split": "split",
    "Number of judgments": "judgments",
    "Moved since another version": "moved",
}
RULER_STEPS = 10
GALLERY = 60  # most images a selection shows
COLOUR_KINDS = {"grade": "ordinal", "split": "nominal", "patient": "nominal"}  # others: continuous

store = open_store()
st.title("Latent space")
worker_banner(store)
user = signed_in_user(store)
# raters judge blinded: grades only for study leads, or when the study lets raters see them
grades_shown = (user is not None and user.is_admin) or shows_grades(rater_blinding(store))
if not grades_shown:
    COLOUR_BY = {label: key for label, key in COLOUR_BY.items() if key != "grade"}
    st.caption("Grades are hidden, as on the Compare page: study leads see them when signed in.")
note = map_note(store)
if note:
    st.warning(note, icon=":material/map:")

models = [m for m in store.models.list() if store.embeddings.available_projections(m["id"])]
if not models:
    st.info(
        "No model has been trained and projected yet. The background worker trains a "
        "first model on the demo data by itself; this page fills in when it is done."
    )
    for job in store.jobs.list(limit=5, statuses=("queued", "running")):
        st.progress(
            job["progress"],
            text=f"Job {job['id']} ({job['kind']}): {job['status']}"
            f" · {job['phase'] or ''} {job['message'] or ''}",
        )
    st.stop()

# active versions first (one per dataset), then the newest
models.sort(key=lambda m: (not m["active"], -m["version"]))
labels = {
    f"v{m['version']} · {m['method']} · {m['dataset'] or 'all datasets'}"
    f"{' (active)' if m['active'] else ''}": m
    for m in models
}
left, middle, right = st.columns(3)
model = labels[left.selectbox("Model version", list(labels))]
available = store.embeddings.available_projections(model["id"])
names = {
    f"{method.upper() if method != 'tsne' else 't-SNE'} {dims}-D": (method, dims)
    for method, dims in available
}
method, dims = names[middle.selectbox("Projection", list(names))]
colour = COLOUR_BY[right.selectbox("Colour by", list(COLOUR_BY))]


@st.cache_data(max_entries=4, show_spinner=False)
def _points(db_path: str, model_id: int, method: str, dims: int, stamp: tuple) -> pd.DataFrame:
    """A version's map, kept while its ``stamp`` (``map_stamp``) stays the same: it
    changes only when the worker makes the map again, and a selection at 100,000 points
    would otherwise read them all again."""
    from core.store import Store

    with Store(db_path) as fresh:
        return pd.DataFrame(fresh.embeddings.projection(model_id, method, dims))


@st.cache_data(max_entries=4, show_spinner=False)
def _judgments(db_path: str, model_id: int, method: str, dims: int, marks: int) -> pd.DataFrame:
    """Judgments per image on a map, as of judgment ``marks`` (the newest)."""
    from core.store import Store

    with Store(db_path) as fresh:
        return pd.DataFrame(fresh.embeddings.judgment_counts(model_id, method, dims))


@st.cache_data(ttl=60, show_spinner=False)
def _moves(db_path: str, before: int, after: int, method: str, dims: int) -> pd.DataFrame:
    from core.store import Store

    with Store(db_path) as fresh:
        rows = fresh.embeddings.map_shift(before, after, method, dims)
    return pd.DataFrame(rows, columns=["image_id", "shift"]) if rows else pd.DataFrame()


def _with_moves(points: pd.DataFrame) -> pd.DataFrame:
    """``points`` with each image's move since a version chosen here (a share of that
    version's map width, after fitting the maps onto each other), or as they are."""
    others = {
        label: m
        for label, m in labels.items()
        if m["id"] != model["id"]
        and (method, dims) in store.embeddings.available_projections(m["id"])
    }
    if not others:
        st.info("No other version has this map yet: nothing to compare with.")
        return points.assign(moved=np.nan)
    before = others[st.selectbox("Moved since", list(others))]
    moves = _moves(store.path, before["id"], model["id"], method, dims)
    if moves.empty:
        st.info("The two versions share no images on this map.")
        return points.assign(moved=np.nan)
    moved = points.merge(moves.rename(columns={"shift": "moved"}), on="image_id", how="left")
    st.caption(
        f"Colour: how far each image moved since v{before['version']}, as a share of that "
        f"map's width, after rotating and scaling the maps onto each other (median "
        f"{moved['moved'].median():.1%}). Maps are fitted onto the active version's when "
        "they are made, so a large move is the model's, not the layout's."
    )
    return moved


stamp = store.embeddings.map_stamp(model["id"], method, dims)
points = _points(store.path, model["id"], method, dims, stamp)
if colour == "judgments":
    marks = store.judgments.high_water_mark()
    counts = _judgments(store.path, model["id"], method, dims, marks)
    points = points.merge(counts, on="image_id", how="left")
if colour == "moved":
    points = _with_moves(points)
present = sorted(points["dataset_id"].unique().tolist())
if len(present) > 1:  # a version trained on all datasets: one dataset's map and ruler at a time
    dataset_names = {d["id"]: d["name"] for d in store.datasets.list()}
    shown = st.selectbox("Dataset", present, format_func=lambda d: dataset_names.get(d, str(d)))
    points = points[points["dataset_id"] == shown].reset_index(drop=True)
kind = COLOUR_KINDS.get(colour, "continuous")
if dims == 2:
    title = next(label for label, key in COLOUR_BY.items() if key == colour)
    rows, palette, legend = map_rows(points, colour, kind, title, grades_shown)
    map_id = f"v{model['id']}:{method}:{points['dataset_id'].iloc[0] if len(points) else 0}"
    latent_map.mount(rows, digest(rows, palette, legend), map_id, palette, legend)
    if latent_map.refused():
        st.warning(f"That selection could not be used: {latent_map.refused()}")
    chosen = latent_map.region(map_id)
    inside = (
        points[chosen.contains(points["x"].to_numpy(), points["y"].to_numpy())]
        if chosen
        else points.iloc[0:0]
    )
else:
    grades = sorted(points["grade"].dropna().astype(int).unique().tolist())
    points["grade"] = points["grade"].astype("Int64").astype(str)
    shades = sequential(len(grades))
    figure = px.scatter_3d(
        points,
        x="x",
        y="y",
        z="z",
        color=colour,
        custom_data=["image_id"],
        hover_data={"image_id": True, "grade": grades_shown, "severity": ":.3f", "patient": True},
        color_continuous_scale="Viridis" if kind == "continuous" else None,
        color_discrete_map=(
            {str(g): shades[k] for k, g in enumerate(grades)} | {"<NA>": MISSING}
            if colour == "grade"
            else None
        ),
        category_orders={"grade": [str(g) for g in grades] + ["<NA>"]},
    )
    figure.update_traces(marker_size=3)
    figure.update_layout(height=560, margin=dict(l=0, r=0, t=20, b=0), legend_title_text="")
    st.plotly_chart(figure, key="latent_chart_3d", width="stretch")
    st.caption("Selection works on the 2-D maps.")
    inside = points.iloc[0:0]

severity = points.set_index("image_id")["severity"]


def _overlay_opacity() -> float | None:
    """The overlay's opacity when this version's maps are to be drawn."""
    opacity = overlay_controls("latent")
    if opacity is None:
        return None
    scale, count = attribution_scale(store.path, model["id"])
    if count == 0:
        job = next(
            (
                j
                for j in store.jobs.list(limit=100, statuses=("queued", "running", "failed"))
                if j["kind"] == "attribute" and j["params"].get("model_id") == model["id"]
            ),
            None,
        )
        doing = f" (attribute job {job['id']}: {job['status']})" if job else ""
        st.info(
            f"The worker has not computed this version's maps yet{doing}; the images show "
            "without them until it has.",
            icon=":material/hourglass:",
        )
        return None
    st.caption(
        f"Deep blue to near white: more of the score comes from there. {count} maps; the "
        f"colour saturates at {scale:.2g} score units a map pixel."
    )
    return opacity


opacity = _overlay_opacity()


def _picture(row: dict, image_id: int, maps: dict[int, np.ndarray]) -> np.ndarray:
    picture = thumbnail_array(store.media_path(row["pixel_path"]))
    if opacity is None or image_id not in maps:
        return picture
    scale = attribution_scale(store.path, model["id"])[0]
    return overlay(picture, maps[image_id], scale, opacity)


def _gallery(image_ids: list[int], caption_score: bool = True, columns: int = 10) -> None:
    cells = st.columns(columns)
    wanted = tuple(int(i) for i in image_ids)
    maps = attribution_maps(store.path, model["id"], wanted) if opacity is not None else {}
    for index, image_id in enumerate(wanted):
        row = store.images.get(image_id)
        caption = f"#{image_id}" + (f" · g{row['grade']}" if grades_shown else "")
        if caption_score:
            caption += f" · s={severity.get(image_id, float('nan')):.2f}"
        cells[index % columns].image(
            _picture(row, image_id, maps), caption=caption, width="stretch"
        )


if len(inside):
    st.subheader(f"Selection: {len(inside):,} images, most severe first")
    _gallery(inside.nlargest(GALLERY, "severity")["image_id"].tolist())
    if len(inside) > GALLERY:
        st.caption(f"The {GALLERY} most severe of them are shown.")
else:
    st.caption("Draw a box or lasso on the 2-D map to see those images, most severe first.")

st.subheader("Severity ruler")
st.caption(
    "Images evenly spaced along the severity score, from most normal (left) to most severe (right)."
)
targets = np.linspace(severity.min(), severity.max(), RULER_STEPS)
ruler = [int((severity - t).abs().idxmin()) for t in targets]
_gallery(list(dict.fromkeys(ruler)), columns=RULER_STEPS)
