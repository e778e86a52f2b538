"""``python -m core check``: is this database sound, and can every version be loaded?

SQLite's integrity and foreign-key checks, then every version's checkpoint through the
safe loader. A checkpoint written before metrics were converted to plain values (numpy
scalars inside) is repaired: loaded once with the full unpickler (it is this app's own
file), converted and written back; its embed-and-project chain is then queued again.
A checkpoint that is missing or cannot be repaired fails its version, with the reason.
A loadable version whose map was never made (its chain failed or was lost) gets its
chain queued again.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.learning.checkpoint import check_checkpoint
from core.store import Store


@dataclass(frozen=True)
class Finding:
    subject: str
    state: str  # ok | repaired | failed | problem
    detail: str = ""

    @property
    def needs_attention(self) -> bool:
        return self.state == "problem"


def check_store(store: Store, repair: bool = True) -> list[Finding]:
    problems = store.integrity_problems()
    findings = [Finding("database", "problem", p) for p in problems] or [
        Finding("database", "ok", "integrity and foreign-key checks pass")
    ]
    for model in store.models.list():
        if model["status"] in ("training", "failed") or not model["checkpoint_path"]:
            continue
        findings.append(_check_version(store, model, repair))
    return findings


def _check_version(store: Store, model: dict, repair: bool) -> Finding:
    subject = f"version {model['version']}"
    result = check_checkpoint(store.media_path(model["checkpoint_path"]), repair=repair)
    if result.state == "ok":
        requeued = _requeue_chain(store, model) if repair else ""
        return Finding(subject, "ok", f"checkpoint loads; map {model['chain']}{requeued}")
    if result.state == "repaired":
        requeued = _requeue_chain(store, model)
        return Finding(
            subject, "repaired", f"{result.detail}; re-saved with plain values{requeued}"
        )
    if not repair:
        return Finding(subject, "problem", result.detail)
    if model["active"]:
        return Finding(
            subject,
            "problem",
            f"{result.detail}. It is the active version: its map stays, but it cannot be "
            "embedded again. Train a new version and activate it.",
        )
    store.models.mark_failed(model["id"], result.detail)
    return Finding(subject, "failed", result.detail)


def _requeue_chain(store: Store, model: dict) -> str:
    """A loadable version without a finished map gets its embed-and-project chain back."""
    if model["chain"] == "ready":
        return ""
    job = store.jobs.latest_for_model(model["id"])
    if job and job["status"] in ("failed", "cancelled"):
        return f"; retrying its {job['kind']} job as job {store.jobs.retry(job['id'])}"
    if job and job["status"] in ("queued", "running"):
        return ""
    new = store.jobs.submit("embed", {"model_id": model["id"], "activate_if_better": True})
    return f"; queued its embed job {new}"
