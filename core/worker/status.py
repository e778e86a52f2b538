"""Is a worker alive, and what became of the jobs of one that went silent? Kept free of
heavy imports: every page asks, on every rerun."""

from __future__ import annotations

from datetime import UTC, datetime

from core.store import Store
from core.store.jobs import TAKEN_OVER

HEARTBEAT_KEY = "worker_heartbeat"


def worker_status(store: Store, fresh_within_seconds: float = 30.0) -> dict | None:
    """The latest heartbeat, if it is recent enough to trust; None otherwise."""
    now = datetime.now(UTC)
    beat = store.settings.get(HEARTBEAT_KEY)
    if beat:
        age = (now - datetime.fromisoformat(beat["at"])).total_seconds()
        if age <= fresh_within_seconds:
            return {**beat, "age_seconds": age}
    for job in store.jobs.list(statuses=("running",)):  # busy on a long job
        age = (now - datetime.fromisoformat(job["heartbeat_at"])).total_seconds()
        if age <= fresh_within_seconds:
            return {
                "worker": job["worker_id"],
                "at": job["heartbeat_at"],
                "age_seconds": age,
                "device": (beat or {}).get("device", "?"),
            }
    return None


def version_problem(store: Store, model: dict) -> str | None:
    """Why a version cannot be used, in words for the pages and the CLI; None if it can
    (or is simply still on its way)."""
    if model["status"] == "failed":
        return f"Version {model['version']} failed in training: {model['error'] or 'no reason'}"
    if model["chain"] == "failed":
        job = store.jobs.latest_for_model(model["id"])
        retry = f" Retry job {job['id']} to try again." if job else ""
        return f"Version {model['version']} has no map: {model['error'] or 'no reason'}.{retry}"
    return None


def map_note(store: Store, dataset_id: int | None = None) -> str | None:
    """What to tell a user looking for the newest version's map (of those serving
    ``dataset_id``, when given) when it has none yet."""
    newest = store.models.newest(dataset_id)
    if newest is None or newest["chain"] == "ready":
        return None
    problem = version_problem(store, newest)
    if problem:
        return problem
    if newest["status"] == "training":
        return f"Version {newest['version']} is still training; its map follows."
    job = store.jobs.latest_for_model(newest["id"])
    doing = f" ({job['kind']} job {job['id']}: {job['status']})" if job else ""
    return f"Version {newest['version']} has no map yet: it is being embedded and projected{doing}."


def retrain_blocker(store: Store, dataset_id: int | None = None) -> str | None:
    """Automatic retraining (of ``dataset_id``'s model, when given) pauses while the
    newest version failed, since another version would most likely fail the same way;
    this says why, or None."""
    newest = store.models.newest(dataset_id)
    if newest is None:
        return None
    problem = version_problem(store, newest)
    if problem is None:
        return None
    scope = f" of {newest['dataset']}" if newest.get("dataset") else ""
    return (
        f"Automatic retraining{scope} is paused: {problem} "
        "It resumes once a retry succeeds or a new version is trained by hand."
    )


def retrain_blockers(store: Store) -> list[str]:
    """Why automatic retraining is paused, for each dataset where it is (once each)."""
    found = (retrain_blocker(store, d["id"]) for d in store.datasets.list())
    return list(dict.fromkeys(b for b in found if b))


def lease_note(job: dict) -> str | None:
    """What became of a job whose worker went silent (``Jobs.recover_stale``), in words
    for the Training page; None for any other job."""
    if job["status"] == "failed" and (job["error"] or "").startswith("The worker stopped"):
        tries = f"{job['attempts']} attempt{'' if job['attempts'] == 1 else 's'}"
        return (
            f"Failed after {tries}: its worker stopped answering each time, so it was not "
            "tried again."
        )
    message = job["message"] or ""
    if not message.startswith(TAKEN_OVER):
        return None
    silent = message.removeprefix(TAKEN_OVER).removesuffix(" stopped heart-beating.").strip()
    note = f"Worker {silent} stopped answering during this job; "
    if job["attempts"] > 1 and job["started_at"]:
        taken = datetime.fromisoformat(job["started_at"]).strftime("%H:%M")
        return note + f"another worker took it over at {taken} UTC."
    return note + "it waits for another worker."
