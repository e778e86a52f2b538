"""Raters page: how consistent each rater is, how they agree, and how far to trust them.

A rater sees their own figures; the study lead sees everyone's, the agreement between
raters, and sets what raters see while judging and the share of repeat pairs. UI only:
the measures are in core.raters.
"""

from __future__ import annotations

import html

import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.exports import table_csv
from core.imaging.display import thumbnail_array
from core.raters import (
    DEFAULT_SHARE,
    FAST_ANSWER_MS,
    MIN_GAP,
    RaterReport,
    rater_report,
    repeat_share,
    set_repeat_share,
)
from core.store import NotFound, Store
from core.store.blinding import (
    BLINDINGS,
    DATES_AND_GRADES_SHOWN,
    DATES_SHOWN,
    NOTHING_SHOWN,
    rater_blinding,
    set_rater_blinding,
)
from pages.common import open_store, signed_in_or_stop

HELP = {
    "answers": "Standing answers (left, right or equal; skips and withdrawn answers left out).",
    "self_consistency": f"Share of repeat pairs (shown again {MIN_GAP} or more answers later, "
    "sides swapped, unannounced) answered as the first time.",
    "position_bias": "Share of left/right answers that chose the LEFT image: 0.5 is none. "
    "Sides are random, so a deviation is the rater's habit, not the images'.",
    "position_bias_p": "Binomial test of the left share against 0.5 (small: real bias).",
    "agreement_consensus": "Share of answers that match the majority of the OTHER raters "
    "who answered the same pair.",
    "agreement_model": "Share of answers where the active model scores the chosen image "
    "as more severe.",
    "cycles": "Triples answered as A > B > C > A: no order of severity satisfies them.",
    "reliability": "Crowd-BT trust: the chance this rater reports the true order "
    "(0.5 = guessing, 1 = always).",
    "median_response_s": "Median seconds from the pair appearing to the answer.",
    "fast_answers": f"Answers given in under {FAST_ANSWER_MS / 1000:.1f} s.",
}
BLINDING_LABELS = {
    NOTHING_SHOWN: "Nothing: the images only (blinded)",
    DATES_SHOWN: "Dates and details: image, dataset, patient and visit date",
    DATES_AND_GRADES_SHOWN: "Dates, details and grades",
}

store = open_store()
st.title("Raters")
user = signed_in_or_stop(store, "see rater figures")


def _blinding_setting() -> None:
    """The study lead's decision, before any answer is given: raters cannot override it."""
    st.subheader("What raters see while judging")
    current = rater_blinding(store)
    chosen = st.radio(
        "Under each image on the Compare page, a rater may show",
        BLINDINGS,
        index=BLINDINGS.index(current),
        format_func=BLINDING_LABELS.__getitem__,
        key="rater_blinding",
        help="Nothing by default: an answer given with the grade in view measures the "
        "grade, not the rater. Each answer records the setting it was given under (the "
        "judgments export's `blinding` column).",
    )
    if chosen != current:
        set_rater_blinding(store, chosen)
        st.toast(f"Raters may now see: {BLINDING_LABELS[chosen].split(':')[0].lower()}.")


if user.is_admin:
    _blinding_setting()


@st.cache_data(show_spinner="Measuring the raters...", max_entries=4)
def _report(db_path: str, high_water: int, models: tuple) -> RaterReport:
    """Recomputed only when an answer was added or another model version became active."""
    with Store(db_path) as fresh:
        return rater_report(fresh)


models = tuple(sorted(m["id"] for m in store.models.list() if m["status"] == "active"))
report = _report(store.path, store.judgments.high_water_mark(), models)
me = store.raters.name(user.rater_id)
if not report.raters:
    st.info("No answers yet: the figures appear once raters have judged some pairs.")
    st.stop()

table = report.table()
if not user.is_admin:
    table = table[table["rater"] == me]
    st.caption("Your own figures. The study lead sees every rater's.")
columns = {name: st.column_config.Column(name.replace("_", " "), help=HELP[name]) for name in HELP}
st.dataframe(table, hide_index=True, column_config=columns, key="rater_table")
if table.empty:
    st.info("You have no answers yet.")

if user.is_admin:
    left, middle, right = st.columns(3)
    left.metric(
        "Krippendorff's alpha (ordinal)",
        report.alpha.text(),
        help="Agreement between raters on the pairs two or more of them answered, "
        "corrected for chance: 1 is perfect, 0 is chance.",
    )
    middle.metric("Pairs answered by 2+ raters", report.alpha.n)
    right.metric("Percent agreement", report.percent_agreement.text())
    st.download_button(
        "Rater table as CSV", table_csv(table), "raters.csv", "text/csv", key="export_raters"
    )


def _bias_figure(report: RaterReport, names: list[str]) -> go.Figure:
    rows = [
        (name, report.raters[name].position_bias)
        for name in names
        if report.raters[name].position_bias.enough
    ]
    figure = go.Figure(
        go.Scatter(
            x=[m.value for _, m in rows],
            y=[html.escape(name) for name, _ in rows],
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [m.ci95[1] - m.value for _, m in rows],
                "arrayminus": [m.value - m.ci95[0] for _, m in rows],
            },
            mode="markers",
        )
    )
    figure.add_vline(x=0.5, line_dash="dash", annotation_text="no bias")
    figure.update_layout(
        xaxis={"title": "share of answers choosing the left image", "range": [0, 1]},
        height=120 + 30 * len(rows),
        margin={"t": 30},
    )
    return figure


names = list(report.raters) if user.is_admin else [me]
st.subheader("Position bias")
if any(report.raters[n].position_bias.enough for n in names if n in report.raters):
    st.plotly_chart(_bias_figure(report, [n for n in names if n in report.raters]))
else:
    st.caption("Not enough answers yet to measure it.")

if user.is_admin and len(report.agreement) >= 2:
    st.subheader("Agreement between raters")
    labels = [html.escape(name) for name in report.agreement.index]
    heat = px.imshow(
        report.agreement.to_numpy(),
        x=labels,
        y=labels,
        zmin=0,
        zmax=1,
        color_continuous_scale="Viridis",
        text_auto=".2f",
        labels={"color": "agreement"},
    )
    heat.update_traces(
        customdata=report.shared.to_numpy(),
        hovertemplate="%{y} and %{x}: %{z:.2f} on %{customdata} shared pairs<extra></extra>",
    )
    st.plotly_chart(heat)
    st.caption("Share of identical answers on the pairs both raters answered (blank: none).")

st.subheader("Intransitive answers")
sources = {f"{n}'s answers": report.raters[n].cycles for n in names if n in report.raters}
if user.is_admin:
    sources = {"The panel's majority": report.majority_cycles, **sources}
source = st.selectbox("Cycles in", list(sources), key="cycle_source")
cycles = sources[source]
st.caption(f"{len(cycles)} cycle(s) of three images; the first 10 are shown.")
for a, b, c in cycles[:10]:
    st.markdown(f"#{a} > #{b} > #{c} > #{a}")
    for column, image_id in zip(st.columns(6)[:3], (a, b, c), strict=True):
        try:
            row = store.images.get(image_id)
            column.image(thumbnail_array(store.media_path(row["pixel_path"])), width=96)
        except (NotFound, FileNotFoundError, OSError):
            column.caption(f"#{image_id}: image missing")

if user.is_admin:
    st.subheader("Repeat pairs")
    share = st.number_input(
        "Share of pairs shown again (%)",
        min_value=0.0,
        max_value=50.0,
        value=100 * repeat_share(store),
        step=1.0,
        key="repeat_share",
        help=f"Default {100 * DEFAULT_SHARE:.0f}%. A repeat shows a pair the rater answered "
        f"{MIN_GAP} or more answers earlier, sides swapped; raters are not told which.",
    )
    if abs(share / 100 - repeat_share(store)) > 1e-9:
        set_repeat_share(store, share / 100)
        st.toast(f"Repeat pairs: {share:.0f}% from the next pair on.")
