"""Patients page: a patient's visits, severity trajectory and the trend between visits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.imaging.display import thumbnail_array
from core.imaging.heat import change_overlay, overlay
from core.store import Store
from core.worker.status import map_note
from pages.common import (
    attribution_maps,
    attribution_scale,
    open_store,
    overlay_controls,
    worker_banner,
)

MARK = {"improved": ":green[improved]", "same": "same", "deteriorated": ":red[**deteriorated**]"}
PATIENTS_PER_PAGE = 50  # the patient picker lists one page of pseudonyms at a time
OVERVIEW_ROWS = 500  # the cohort overview lists this many patients, deteriorations first

store = open_store()
st.title("Patients")
worker_banner(store)


@st.cache_data(ttl=60, show_spinner=False)
def _datasets_with_patients(db_path: str) -> dict[str, int]:
    """Counting every dataset's patients reads all images: once a minute at most."""
    with Store(db_path) as fresh:
        return {d["name"]: d["id"] for d in fresh.datasets.list() if d["patients"]}


@st.cache_data(ttl=60, show_spinner=False)
def _patient_count(db_path: str, dataset_id: int | None, search: str) -> int:
    with Store(db_path) as fresh:
        return fresh.patients.count(dataset_id, search)


with_patients = _datasets_with_patients(store.path)
dataset_id = None
if len(with_patients) > 1:  # each dataset's patients are scored by that dataset's model
    dataset_id = with_patients[st.selectbox("Dataset", list(with_patients))]
elif with_patients:
    dataset_id = next(iter(with_patients.values()))
note = map_note(store, dataset_id)
if note:
    st.warning(f"{note} Until then this page shows the active version.", icon=":material/map:")

model = store.models.active(dataset_id)
if not store.patients.page(dataset_id, limit=1):
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


@st.cache_data(ttl=60, show_spinner=False)
def _latest_calls(db_path: str, model_id: int) -> tuple[pd.DataFrame, int]:
    """The first ``OVERVIEW_ROWS`` patients' latest calls, deteriorations first, and how
    many patients have one (sorted by the database: a large cohort is not read whole)."""
    with Store(db_path) as fresh:
        rows, called = fresh.embeddings.latest_calls(model_id, OVERVIEW_ROWS)
    frame = pd.DataFrame(rows)
    if not frame.empty:
        # the trend caller is fitted on training-split patients: their calls are not a test
        frame["caller trained on patient"] = frame["split"] == "train"
    return frame, called


def _visit_maps(visit_ids: list[int]) -> tuple[dict[int, np.ndarray], float] | None:
    """The overlay's controls; the visits' maps and the opacity when they are shown."""
    opacity = overlay_controls("patients", "the active version's")
    if opacity is None or model is None:
        return None
    maps = attribution_maps(store.path, model["id"], tuple(visit_ids))
    if not maps:
        st.info(
            "The worker has not computed the maps of this version for these visits yet.",
            icon=":material/hourglass:",
        )
        return None
    return maps, opacity


def _pick_patient(flagged: tuple[str, int] | None) -> int | None:
    """The patient picker: a search by pseudonym and one page of patients at a time (a
    study of 20,000 is never loaded whole); it opens on ``flagged``. The patient's id."""
    search = st.text_input(
        "Find a patient",
        key="patient_search",
        placeholder="the pseudonym's first characters, e.g. P-3f2a",
    )
    total = _patient_count(store.path, dataset_id, search)
    pages = max(1, math.ceil(total / PATIENTS_PER_PAGE))
    number = 1
    if pages > 1:
        number = int(st.number_input(f"Page (of {pages})", 1, pages, 1, key="patient_page"))
    listed = store.patients.page(
        dataset_id, search, PATIENTS_PER_PAGE, (number - 1) * PATIENTS_PER_PAGE
    )
    names = {p["pseudonym"]: p["id"] for p in listed}
    if flagged and not search and number == 1:  # open on a patient flagged as deteriorating
        names = {flagged[0]: flagged[1], **names}
    if not names:
        st.info("No patient's pseudonym starts with that.")
        return None
    caption = f"{total:,} patients" + (f", {PATIENTS_PER_PAGE} a page" if pages > 1 else "")
    chosen = st.selectbox("Patient (pseudonymous id)", list(names), help=caption)
    return names[chosen]


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
    scale = attribution_scale(store.path, model["id"])[0]
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


latest, called = _latest_calls(store.path, model["id"]) if model else (pd.DataFrame(), 0)
overview, detail = st.tabs(["Cohort overview", "One patient"])

with overview:
    if latest.empty:
        st.caption("Trend calls appear here once a model is active and embedded.")
    else:
        shown = (
            f"the first {OVERVIEW_ROWS:,} of {called:,} (find the others under One patient)"
            if called > OVERVIEW_ROWS
            else ""
        )
        st.caption(
            "Each patient's latest trend call (between the last two visits), deteriorations "
            f"first{'; ' + shown if shown else ''}. The trend caller learned from the "
            "patients ticked as trained on; the others are new to it (the Training page "
            "gives its score on test patients)."
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
    flagged = None
    if not latest.empty:
        deteriorating = latest[latest["call"] == "deteriorated"]
        if len(deteriorating):
            first = deteriorating.iloc[0]
            flagged = (str(first["patient"]), int(first["patient_id"]))
    patient_id = _pick_patient(flagged)
    visits = store.images.patient_visits(patient_id) if patient_id is not None else []
    ids = [v["id"] for v in visits]
    scores = store.embeddings.severity_scores(model["id"], ids) if model and ids else {}

    st.subheader("Visits")
    drawn = _visit_maps(ids) if model and visits else None
    columns = st.columns(max(len(visits), 1))
    for column, visit in zip(columns, visits, strict=False):
        score = scores.get(visit["id"], (None, None))[0]
        caption = _visit_label(visit) + (f" · s={score:.2f}" if score is not None else "")
        picture = thumbnail_array(store.media_path(visit["pixel_path"]), 128)
        if drawn and visit["id"] in drawn[0] and model:
            scale = attribution_scale(store.path, model["id"])[0]
            picture = overlay(picture, drawn[0][visit["id"]], scale, drawn[1])
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

    if model and patient_id is not None:
        mine = pd.DataFrame(store.embeddings.trends(model["id"], patient_id))
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
