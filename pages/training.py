"""Training page: model versions, training jobs and their live progress."""

from __future__ import annotations

from functools import partial

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from core.exports import model_card_bytes
from core.exports.metric_labels import METRICS
from core.learning.config import uses_small_input
from core.learning.method_info import METHOD_INFO
from core.learning.recipes import SCRATCH_EVERY_KEY, steps_per_phase
from core.worker.activation import HELD_BACK
from core.worker.autoretrain import RETRAIN_EVERY_KEY, retrain_every, scratch_every
from core.worker.status import lease_note, retrain_blockers
from core.worker.train_job import train_defaults, train_job
from pages.common import open_store, signed_in_user, worker_banner
from pages.training_versions import delete_version

# plotted across versions
KEY_METRICS = ("tau_abnormal", "macro_f1", "val_judgment_agreement")


def per_dataset(metrics: dict) -> dict:
    """Each dataset's own ordering figures (``tau_truth@Synthetic cohort``), as columns."""
    return {
        f"{key.split('@', 1)[1]}: {key.split('@', 1)[0]}": value
        for key, value in sorted(metrics.items())
        if "@" in key
    }


def _metrics_across_versions(models: list[dict], activations: list[dict]) -> None:
    """The key metrics by version, one panel per dataset; a diamond marks each version
    when it was activated, a cross a roll back (a version older than the one it replaced)."""
    rows = [
        {
            "dataset": m["dataset"] or "all datasets",
            "version": m["version"],
            "metric": METRICS[key][0],
            "value": m["metrics"].get(key),
        }
        for m in models
        for key in KEY_METRICS
        if m["metrics"].get(key) is not None
    ]
    if not rows:
        return
    frame = pd.DataFrame(rows).sort_values("version")
    facets = sorted(frame["dataset"].unique())  # the panels, in this order
    figure = px.line(
        frame,
        x="version",
        y="value",
        color="metric",
        facet_col="dataset",
        category_orders={"dataset": facets},
        markers=True,
    )
    column_of = {name: k + 1 for k, name in enumerate(facets)}
    by_id = {m["id"]: m for m in models}
    previous: dict = {}
    for event in activations:
        model = by_id.get(event["model_id"])
        if model is None:
            continue
        scope = model["dataset"] or "all datasets"
        rollback = scope in previous and model["version"] < previous[scope]
        previous[scope] = model["version"]
        if scope not in column_of:  # a version without any of the plotted metrics
            continue
        figure.add_trace(
            go.Scatter(
                x=[model["version"]],
                y=[0],
                mode="markers",
                marker={"symbol": "x" if rollback else "diamond", "size": 11, "color": "black"},
                name="rolled back to" if rollback else "activated",
                legendgroup="rolled back to" if rollback else "activated",
                showlegend=False,
                hovertext=f"v{model['version']} {'rolled back to' if rollback else 'activated'} "
                f"{event['activated_at'][:16].replace('T', ' ')}",
            ),
            row=1,
            col=column_of[scope],
        )
    figure.update_layout(height=300, margin={"t": 30, "b": 0}, legend_title_text="")
    figure.update_xaxes(dtick=1)
    st.plotly_chart(figure, width="stretch", key="metrics_by_version")
    st.caption(
        "Key metrics by version. Along the bottom, a diamond marks each activation and a "
        "cross a roll back to an older version."
    )


def _loss_curve(fresh, jobs: list[dict]) -> None:
    """The chosen training job's loss, step by step (updates while it runs)."""
    training = [j for j in jobs if j["kind"] == "train"]
    if not training:
        return
    labels = {f"#{j['id']} · {j['status']}": j["id"] for j in training}
    chosen = labels[st.selectbox("Loss curve of training job", list(labels), key="loss_job")]
    points = pd.DataFrame(fresh.jobs.losses(chosen))
    if points.empty:
        st.caption("No loss recorded for this job (yet).")
        return
    figure = px.line(points, x="step", y="loss", color="phase", facet_col="phase")
    figure.update_yaxes(matches=None, showticklabels=True)
    figure.update_xaxes(matches=None)
    figure.update_layout(height=260, margin={"t": 30, "b": 0}, showlegend=False)
    st.plotly_chart(figure, width="stretch", key="loss_curve")


store = open_store()
st.title("Training")
worker_banner(store)
user = signed_in_user(store)
lead = user is not None and user.is_admin
if not lead:
    st.caption(
        "Study leads activate or roll back versions, queue training and change settings: "
        + ("sign in (in the sidebar)." if user is None else "ask yours.")
    )


def _against_active(metrics: dict) -> str | None:
    """The comparison made before activation: new minus the then active version, on the
    same validation images, with its 95% interval over patients."""
    if "vs_active" not in metrics:
        return None
    return (
        f"{metrics['vs_active']:+.3f} [{metrics['vs_active_low']:+.3f}, "
        f"{metrics['vs_active_high']:+.3f}] vs v{metrics['vs_active_version']}"
    )


def _held_back(model: dict) -> str:
    why = model["metrics"].get(HELD_BACK)
    return f"not activated: {why}" if why and model["status"] == "candidate" else ""


def _kind(model: dict, number_of: dict[int, int]) -> str:
    """How a version was trained: from scratch, or warm from its parent version."""
    if model["kind"] == "warm":
        return f"warm from v{number_of.get(model['parent_id'], '?')}"
    return "from scratch"


def _model_card_download(models: list[dict]) -> None:
    """A version's model card, built from the database when the button is clicked."""
    labels = {f"v{m['version']} · {m['method']} · {m['status']}": m["version"] for m in models}
    left, right = st.columns([3, 1])
    version = labels[left.selectbox("Model card of version", list(labels), key="card_version")]
    right.download_button(
        "Model card",
        partial(model_card_bytes, store.path, version),
        f"model-card-v{version}.md",
        "text/markdown",
        key="model_card_download",
        width="stretch",
        help="Method and recipe, data, answers used, validation figures, activation "
        "history, intended use and known limitations: every figure from the database.",
    )


st.subheader("Model versions")
for blocker in retrain_blockers(store):
    st.error(blocker, icon=":material/error:")
models = store.models.list()
if not models:
    st.info("No model yet. Start one below, or let the worker train the first one.")
else:
    number_of = {m["id"]: m["version"] for m in models}
    table = pd.DataFrame(
        [
            {
                "version": m["version"],
                "dataset": m["dataset"] or "all datasets",
                "method": m["method"],
                "trained": _kind(m, number_of),
                "status": m["status"],
                "active": bool(m["active"]),
                "map": m["chain"],
                "against active": _against_active(m["metrics"]),
                "problem": m["error"] or _held_back(m),
                "created": m["created_at"][:19].replace("T", " "),
                "judgments trained on": m["metrics"].get("n_judgments_trained_on"),
                **{METRICS[k][0]: m["metrics"].get(k) for k in METRICS},
                **per_dataset(m["metrics"]),
            }
            for m in models
        ]
    )
    table = table.dropna(axis="columns", how="all")  # metrics no version has
    number = st.column_config.NumberColumn
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            title: number(title, help=help_text, format="%.3f")
            for title, help_text in METRICS.values()
            if title in table
        }
        | {
            "judgments trained on": number(format="%d"),
            "against active": st.column_config.TextColumn(
                help="Before activation, each new version is compared with the active "
                "version on the same validation images (severity against grade, and "
                "against held-out answers): new minus active, with a 95% interval over "
                "patients. A version whose whole interval is below zero stays a "
                "candidate; the problem column says so."
            ),
        },
    )
    st.caption(
        "Hover over a column title for what it measures. Columns named after a dataset "
        "give that dataset's own figures."
    )
    _metrics_across_versions(models, store.models.activations())
    usable = {
        f"v{m['version']} · {m['method']} · {m['dataset'] or 'all datasets'} · {m['status']}": m
        for m in models
        if m["status"] in ("candidate", "retired", "active") and m["chain"] == "ready"
    }
    if usable and lead:
        left, right = st.columns([3, 1])
        choice = usable[left.selectbox("Version to use", list(usable))]
        if right.button("Activate", disabled=bool(choice["active"]), width="stretch"):
            store.models.activate(choice["id"])
            st.success(
                f"Version {choice['version']} is now active for "
                f"{choice['dataset'] or 'every dataset without a version of its own'}."
            )
            st.rerun()
    st.caption(
        "Each dataset has its own model: activating a version replaces the active version "
        "of its dataset only. Only versions whose map is ready can be activated. A version "
        "whose map failed shows why; retry its failed job below."
    )
    if lead:
        _model_card_download(models)
        delete_version(store, models)


def _train_form() -> None:
    st.subheader("Train a new version")
    with st.form("train"):
        columns = st.columns(4)
        defaults = train_defaults(store)
        method = columns[0].selectbox(
            "Method",
            list(METHOD_INFO),
            index=list(METHOD_INFO).index(defaults.method),
            format_func=lambda m: m,
            help="\n".join(f"{m.name}: {m.description}" for m in METHOD_INFO.values()),
        )
        budget = _budget_input(columns[1], defaults)
        sizes = sorted({28, 32, 48, 64, 128, 224, defaults.image_size})
        size = columns[2].selectbox("Image size", sizes, index=sizes.index(defaults.image_size))
        datasets = {d["name"]: d["id"] for d in store.datasets.list()} | {"All datasets": None}
        dataset = columns[3].selectbox(
            "Dataset",
            list(datasets),
            help="A model per dataset orders each better than one model for all "
            "(docs/benchmarks.md); one for all serves datasets without their own.",
        )
        if st.form_submit_button("Queue training", type="primary"):
            queued = train_job(
                store,
                datasets[dataset],
                method=method,
                **budget,
                image_size=int(size),
                # the study's stem at its size; the stem that suits the size otherwise
                small_input=(
                    defaults.small_input
                    if int(size) == defaults.image_size
                    else uses_small_input(int(size))
                ),
            )
            job = store.jobs.submit("train", queued.to_params())
            st.success(f"Queued as job {job}.")


def _budget_input(column, defaults) -> dict:
    """How long each phase trains: in steps when the study's defaults give a fixed budget
    (the first-run recipe does: every dataset gets the same), else in passes over the
    training images."""
    steps = steps_per_phase(defaults)
    if steps is not None:
        steps = column.number_input(
            "Steps per phase",
            1,
            max(100_000, steps),
            steps,
            10,
            help=f"{defaults.batch_size} pairs a step. On two CPU cores at 32 px a step "
            "takes about 0.25 s with ImageNet's stem (the first-run recipe's), 2 s with "
            "the 3x3 stride-1 stem; about twice that on the worker's one core",
        )
        return {"pairs_per_phase": int(steps) * defaults.batch_size}
    epochs = column.number_input("Epochs", 0.5, 200.0, defaults.epochs, 0.5)
    return {"epochs": float(epochs)}


def _auto_retrain() -> None:
    st.subheader("Automatic retraining")
    every = st.number_input(
        "Retrain after this many new judgments (0 turns it off)",
        0,
        100_000,
        retrain_every(store),
        10,
    )
    if every != retrain_every(store):
        store.settings.set(RETRAIN_EVERY_KEY, int(every))
        st.toast(
            f"Automatic retraining: every {every} judgments"
            if every
            else "Automatic retraining is off"
        )
    scratch = st.number_input(
        "Retrain from scratch after this many warm retrains in a row (0: never)",
        0,
        1000,
        scratch_every(store),
        1,
        help="A warm retrain continues the active version for a fixed number of steps, so "
        "it costs the same however many answers the study holds. Now and then a retrain "
        "from random weights makes sure early mistakes are not locked in. 'Queue "
        "training' above trains one from scratch at any time.",
    )
    if scratch != scratch_every(store):
        store.settings.set(SCRATCH_EVERY_KEY, int(scratch))
        st.toast(f"A retrain from scratch after {scratch} warm ones" if scratch else "Never")


def _teaching() -> None:
    """Whether raters see the attribution maps on the Compare page: off for a study,
    since raters should judge the images and not the model's reading of them."""
    st.subheader("Teaching")
    shown = st.toggle(
        "Show what drives the score on the Compare page",
        value=store.attributions.shown_on_compare(),
        key="compare_attributions",
        help="Off by default. When on, every rater sees each image's attribution map on "
        "the Compare page: for teaching sessions, not for a study whose answers train "
        "the model (the map would steer the answers).",
    )
    if shown != store.attributions.shown_on_compare():
        store.attributions.show_on_compare(shown)
        st.toast("Raters now see the maps on Compare" if shown else "Maps hidden on Compare")


if lead:
    _train_form()
    _auto_retrain()
    _teaching()


@st.fragment(run_every=2)
def live_jobs() -> None:
    from core.store import Store

    with Store(store.path) as fresh:
        st.subheader("Jobs")
        jobs = fresh.jobs.list(limit=15)
        if not jobs:
            st.caption("No jobs yet.")
        _loss_curve(fresh, jobs)
        for job in jobs:
            left, right = st.columns([5, 1])
            note = lease_note(job)
            label = (
                f"#{job['id']} {job['kind']} · {job['status']}"
                f"{' · ' + job['phase'] if job['phase'] else ''}"
                f"{' · ' + job['message'] if job['message'] and not note else ''}"
            )
            if note:
                left.caption(f":material/sync_problem: {note}")
            if job["status"] in ("queued", "running"):
                left.progress(min(max(job["progress"], 0.0), 1.0), text=label)
                if lead and right.button("Cancel", key=f"cancel_{job['id']}"):
                    fresh.jobs.request_cancel(job["id"])
                    st.rerun(scope="fragment")
            else:
                left.caption(label + (f" · {job['error']}" if job["error"] else ""))
                if (
                    lead
                    and job["status"] in ("failed", "cancelled")
                    and right.button("Retry", key=f"retry_{job['id']}")
                ):
                    fresh.jobs.retry(job["id"])
                    st.rerun(scope="fragment")


live_jobs()
