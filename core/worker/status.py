"""Is a worker alive? Kept free of heavy imports: every page asks, on every rerun."""

from __future__ import annotations

from datetime import UTC, datetime

from core.store import Store

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
