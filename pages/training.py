"""Training page: model versions, training jobs and their live progress."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.learning.catalog import METHOD_INFO
from core.learning.config import uses_small_input
from core.worker.autoretrain import FIRST_MODEL, RETRAIN_EVERY_KEY, retrain_every
from core.worker.status import retrain_blockers
from pages.common import open_store, signed_in_user, worker_banner

SHOWN_METRICS = (
    "macro_f1",
    "maee",
    "maee_bayes",
    "qwk",
    "tau",
    "auc_abnormal",
    "tau_abnormal",
    "tau_truth",
    "val_macro_f1",
    "val_tau",
    "val_judgment_agreement",
    "trend_test_macro_f1",
    "trend_test_accuracy",
    "trend_test_majority_accuracy",
)


def per_dataset(metrics: dict) -> dict:
    """Each dataset's own ordering figures (``tau_truth@Synthetic cohort``), as columns."""
    return {
        f"{key.split('@', 1)[1]}: {key.split('@', 1)[0]}": value
        for key, value in sorted(metrics.items())
        if "@" in key
    }


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

st.subheader("Model versions")
for blocker in retrain_blockers(store):
    st.error(blocker, icon=":material/error:")
models = store.models.list()
if not models:
    st.info("No model yet. Start one below, or let the worker train the first one.")
else:
    table = pd.DataFrame(
        [
            {
                "version": m["version"],
                "dataset": m["dataset"] or "all datasets",
                "method": m["method"],
                "status": m["status"],
                "active": bool(m["active"]),
                "map": m["chain"],
                "problem": m["error"] or "",
                "created": m["created_at"][:19].replace("T", " "),
                "judgments trained on": m["metrics"].get("n_judgments_trained_on"),
                **{k: m["metrics"].get(k) for k in SHOWN_METRICS},
                **per_dataset(m["metrics"]),
            }
            for m in models
        ]
    )
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(
        "tau abnormal: how well the severity score orders grades among abnormal images; "
        "tau truth: against the synthetic cohort's known severity; the columns named "
        "after a dataset give them for that dataset alone. trend test: the trend calls on "
        "test-split patients, whom the trend caller never saw, beside always answering "
        "the commonest trend."
    )
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


def _train_form() -> None:
    st.subheader("Train a new version")
    with st.form("train"):
        columns = st.columns(4)
        method = columns[0].selectbox(
            "Method",
            list(METHOD_INFO),
            format_func=lambda m: m,
            help="\n".join(f"{m.name}: {m.description}" for m in METHOD_INFO.values()),
        )
        epochs = columns[1].number_input("Epochs", 0.5, 200.0, FIRST_MODEL.epochs, 0.5)
        size = columns[2].selectbox("Image size", [28, 32, 48, 64, 128, 224], index=1)
        datasets = [*[d["name"] for d in store.datasets.list()], "All datasets"]
        dataset = columns[3].selectbox(
            "Dataset",
            datasets,
            help="A model per dataset orders each better than one model for all "
            "(docs/benchmarks.md); one for all serves datasets without their own.",
        )
        if st.form_submit_button("Queue training", type="primary"):
            config = {
                **FIRST_MODEL.to_dict(),
                "method": method,
                "epochs": float(epochs),
                "image_size": int(size),
                "small_input": uses_small_input(int(size)),
            }
            chosen = None if dataset == "All datasets" else dataset
            job = store.jobs.submit("train", {"config": config, "dataset": chosen})
            st.success(f"Queued as job {job}.")


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


if lead:
    _train_form()
    _auto_retrain()


@st.fragment(run_every=2)
def live_jobs() -> None:
    from core.store import Store

    with Store(store.path) as fresh:
        st.subheader("Jobs")
        jobs = fresh.jobs.list(limit=15)
        if not jobs:
            st.caption("No jobs yet.")
        for job in jobs:
            left, right = st.columns([5, 1])
            label = (
                f"#{job['id']} {job['kind']} · {job['status']}"
                f"{' · ' + job['phase'] if job['phase'] else ''}"
                f"{' · ' + job['message'] if job['message'] else ''}"
            )
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
