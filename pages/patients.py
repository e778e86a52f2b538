"""Patients page: a patient's visits, severity trajectory and the trend between visits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.imaging.display import thumbnail_array
from core.imaging.heat import change_overlay, overlay, shared_scale
from core.learning.method_info import TRENDS
from core.worker.status import map_note
from pages.common import open_store, worker_banner

MARK = {"improved": ":green[improved]", "same": "same", "deteriorated": ":red[**deteriorated**]"}

store = open_store()
st.title("Patients")
worker_banner(store)
with_patients = {d["name"]: d["id"] for d in store.datasets.list() if d["patients"]}
dataset_id = None
if len(with_patients) > 1:  # each dataset's patients are scored by that dataset's model
    dataset_id = with_patients[st.selectbox("Dataset", list(with_patients))]
elif with_patients:
    dataset_id = next(iter(with_patients.values()))
note = map_note(store, dataset_id)
if note:
    st.warning(f"{note} Until then this page shows the active version.", icon=":material/map:")

model = store.models.active(dataset_id)
patients = [p for p in store.patients.list(dataset_id) if p["visits"] >= 1]
if not patients:
    st.info(
        "No patients in the database yet (images imported without a patient id have no "
        "timeline). The demo's synthetic cohort has 120."
    )
    st.stop()
if model is None:
    st.info(
        "No model is active yet, so there are no severity scores or trend calls. The "
        "background worker trains one on the demo data by itself."
    )


def _trend_table(model_id: int) -> pd.DataFrame:
    frame = pd.DataFrame(store.embeddings.trends(model_id))
    if frame.empty:
        return frame
    probabilities = frame[["p_improved", "p_same", "p_deteriorated"]].to_numpy()
    frame["call"] = [TRENDS[i] for i in probabilities.argmax(1)]
    frame["probability"] = probabilities.max(1)
    # the trend caller is fitted on training-split patients: their calls are not a test
    frame["caller trained on patient"] = frame["split"] == "train"
    return frame


@st.cache_data(ttl=60, show_spinner=False)
def _maps(db_path: str, model_id: int, image_ids: tuple[int, ...]) -> dict[int, np.ndarray]:
    from core.store import Store

    with Store(db_path) as fresh:
        return fresh.attributions.maps(model_id, list(image_ids))


@st.cache_data(ttl=60, show_spinner=False)
def _map_scale(db_path: str, model_id: int) -> float:
    from core.store import Store

    with Store(db_path) as fresh:
        return shared_scale(fresh.attributions.peaks(model_id))


def _overlay_controls(visit_ids: list[int]) -> tuple[dict[int, np.ndarray], float] | None:
    """The overlay's toggle and opacity; the visits' maps and the opacity when shown."""
    left, right = st.columns([2, 3])
    shown = left.toggle(
        "Show what drives the score",
        value=False,
        key="patients_overlay",
        help="Integrated Gradients of the active version's severity score against a blurred "
        "copy of each image: where changing the pixels would change the score most. Not a "
        "diagnosis (see the README).",
    )
    if not shown or model is None:
        return None
    opacity = right.slider("Opacity", 0.0, 1.0, 0.7, 0.05, key="patients_opacity")
    maps = _maps(store.path, model["id"], tuple(visit_ids))
    if not maps:
        st.info(
            "The worker has not computed the maps of this version for these visits yet.",
            icon=":material/hourglass:",
        )
        return None
    return maps, opacity


def _what_changed(visits: list[dict], maps: dict[int, np.ndarray], opacity: float) -> None:
    """Two visits' maps side by side, and their difference over the later picture."""
    mapped = [v for v in visits if v["id"] in maps]
    if len(mapped) < 2:
        return
    st.subheader("What changed between two visits")
    labels = {_visit_label(v): v for v in mapped}
    names = list(labels)
    first, second = st.select_slider(
        "Visits", options=names, value=(names[-2], names[-1]), key="change_pair"
    )
    if first == second:
        st.caption("Pick two different visits.")
        return
    before, after = labels[first], labels[second]
    scale = _map_scale(store.path, model["id"])
    pictures = [thumbnail_array(store.media_path(v["pixel_path"]), 192) for v in (before, after)]
    left, middle, right = st.columns(3)
    left.image(overlay(pictures[0], maps[before["id"]], scale, opacity), caption=first)
    middle.image(overlay(pictures[1], maps[after["id"]], scale, opacity), caption=second)
    right.image(
        change_overlay(pictures[1], maps[before["id"]], maps[after["id"]], scale, opacity),
        caption=f"Change, {first} → {second}",
    )
    st.caption(
        "Right: over the later picture, green where more of the score comes from at the "
        "later visit, violet where less. The pictures are compared as they are, not "
        "aligned: an eye that moved between visits shows as change."
    )


def _visit_label(visit: dict) -> str:
    return str(visit["visit_date"] or f"visit {visit['visit_index']}")


trends = _trend_table(model["id"]) if model else pd.DataFrame()
overview, detail = st.tabs(["Cohort overview", "One patient"])

with overview:
    if trends.empty:
        st.caption("Trend calls appear here once a model is active and embedded.")
    else:
        latest = trends.groupby("patient").tail(1)
        order = {"deteriorated": 0, "same": 1, "improved": 2}
        latest = latest.assign(rank=latest["call"].map(order)).sort_values(
            ["rank", "probability"], ascending=[True, False]
        )
        st.caption(
            "Each patient's latest trend call (between the last two visits), deteriorations "
            "first. The trend caller learned from the patients ticked as trained on; the "
            "others are new to it (the Training page gives its score on test patients)."
        )
        st.dataframe(
            latest[
                ["patient", "later_date", "call", "probability", "caller trained on patient"]
            ].rename(columns={"later_date": "latest visit", "call": "latest trend"}),
            hide_index=True,
            width="stretch",
            column_config={
                "probability": st.column_config.ProgressColumn(
                    format="%.2f", min_value=0.0, max_value=1.0
                )
            },
        )

with detail:
    names = {p["pseudonym"]: p["id"] for p in patients}
    default = 0
    if not trends.empty:  # open on a patient whose latest call is a deterioration
        flagged = trends.groupby("patient").tail(1).query("call == 'deteriorated'")
        if len(flagged):
            default = list(names).index(flagged.iloc[0]["patient"])
    chosen = st.selectbox("Patient (pseudonymous id)", list(names), index=default)
    visits = store.images.patient_visits(names[chosen])
    scores = store.embeddings.severity_scores(model["id"]) if model else {}

    st.subheader("Visits")
    drawn = _overlay_controls([v["id"] for v in visits]) if model else None
    columns = st.columns(max(len(visits), 1))
    for column, visit in zip(columns, visits, strict=False):
        score = scores.get(visit["id"], (None, None))[0]
        caption = _visit_label(visit) + (f" · s={score:.2f}" if score is not None else "")
        picture = thumbnail_array(store.media_path(visit["pixel_path"]), 128)
        if drawn and visit["id"] in drawn[0] and model:
            picture = overlay(
                picture, drawn[0][visit["id"]], _map_scale(store.path, model["id"]), drawn[1]
            )
        column.image(picture, caption=caption, width="stretch")
    if drawn:
        _what_changed(visits, *drawn)

    if scores:
        st.subheader("Severity trajectory")
        frame = pd.DataFrame(
            [
                {
                    "when": v["visit_date"] or v["visit_index"],
                    "score": scores[v["id"]][0],
                    "spread": scores[v["id"]][1] or 0,
                    "truth": v["known_severity"],
                }
                for v in visits
                if v["id"] in scores
            ]
        )
        known = frame["truth"].notna().all()
        overlay = known and st.toggle(
            "Show the true severity (synthetic cohort)",
            value=False,
            key="show_truth",
            help="The generator's own severity for each visit, on its 0-1 scale (right "
            "axis): how close the model's trajectory comes to the truth. Real patients "
            "have no such line.",
        )
        upper, lower = frame["score"] + 2 * frame["spread"], frame["score"] - 2 * frame["spread"]
        figure = go.Figure(
            [
                go.Scatter(
                    x=list(frame["when"]) + list(frame["when"])[::-1],
                    y=list(upper) + list(lower)[::-1],
                    fill="toself",
                    line_width=0,
                    fillcolor="rgba(200,80,40,0.2)",
                    name="±2 SD over flips",
                ),
                go.Scatter(
                    x=frame["when"],
                    y=frame["score"],
                    mode="lines+markers",
                    name="severity score",
                    line_color="rgb(200,80,40)",
                ),
            ]
        )
        if overlay:
            figure.add_trace(
                go.Scatter(
                    x=frame["when"],
                    y=frame["truth"],
                    mode="lines+markers",
                    name="true severity (generator)",
                    line={"color": "rgb(40,110,180)", "dash": "dash"},
                    yaxis="y2",
                )
            )
            right_axis = {"title": "true severity", "overlaying": "y", "side": "right"}
            figure.update_layout(yaxis2={**right_axis, "range": [0, 1]})
        figure.update_layout(
            height=320,
            margin=dict(l=0, r=0, t=10, b=0),
            yaxis_title="distance from normal",
            legend_orientation="h",
        )
        st.plotly_chart(figure, width="stretch", key="trajectory")

    if not trends.empty:
        mine = trends[trends["patient"] == chosen]
        if len(mine):
            st.subheader("Between visits")
            by_id = {v["id"]: v for v in visits}
            for row in mine.itertuples():
                before, after = by_id.get(row.earlier_image_id), by_id.get(row.later_image_id)
                if not before or not after:
                    continue
                when = (
                    f"{before['visit_date'] or before['visit_index']} → "
                    f"{after['visit_date'] or after['visit_index']}"
                )
                text = f"{when}: {MARK[row.call]} (p = {row.probability:.2f})"
                if row.split == "train":
                    text += " · the trend caller trained on this patient"
                (st.error if row.call == "deteriorated" else st.markdown)(text)
