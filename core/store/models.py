"""Model versions: their state, checkpoint, metrics and activations. What a version
produces per image (embeddings, trends, projections) is in ``embeddings.py``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import NotFound
from .rows import decode_json_columns, to_json, utc_now

if TYPE_CHECKING:
    from .store import Store


# versions that serve a dataset: its own, and those trained on every dataset at once
SERVING = "(dataset_id = ? OR dataset_id IS NULL)"
# every version row with the name of the dataset it serves (NULL: every dataset)
WITH_DATASET = (
    "SELECT m.*, d.name AS dataset FROM models m LEFT JOIN datasets d ON d.id = m.dataset_id"
)
# the same scope as a given version: its dataset, or every dataset (NULL)
SAME_SCOPE = "COALESCE(dataset_id, 0) = COALESCE(?, 0)"


class Models:
    """Versions are trained on one dataset (``dataset_id``) or on all of them (NULL).
    Each dataset has at most one active version of its own; a version trained on all
    datasets serves those that have none."""

    def __init__(self, store: Store):
        self._store = store

    def create(
        self,
        method: str,
        config: dict[str, Any],
        trained_through: int = 0,
        job_id: int | None = None,
        dataset_id: int | None = None,
        parent_id: int | None = None,
    ) -> dict:
        """Register a new version in status ``training``; returns the row. A version
        with a ``parent_id`` continues from that version (a warm retrain)."""
        with self._store.transaction():
            self._store.jobs.check_lease()  # a worker that lost its job registers nothing
            sql = "SELECT COALESCE(MAX(version), 0) + 1 AS v FROM models"
            version = self._store.one_row(sql)["v"]
            model_id = self._store.db.insert(
                "models",
                {
                    "version": version,
                    "method": method,
                    "config": to_json(config),
                    "metrics": "{}",
                    "status": "training",
                    "active": 0,
                    "created_at": utc_now(),
                    "trained_through_judgment_id": trained_through,
                    "job_id": job_id,
                    "dataset_id": dataset_id,
                    "kind": "scratch" if parent_id is None else "warm",
                    "parent_id": parent_id,
                },
            )
        return self.get(model_id)

    def finish(self, model_id: int, checkpoint_path: str, metrics: dict[str, Any]) -> None:
        """Record the checkpoint and metrics; the version becomes a candidate."""
        with self._store.transaction():
            self._store.jobs.check_lease()
            self._store.db.execute(
                "UPDATE models SET checkpoint_path = ?, metrics = ?, status = 'candidate' "
                "WHERE id = ?",
                [checkpoint_path, to_json(metrics), model_id],
            )

    def add_metrics(self, model_id: int, extra: dict[str, Any]) -> None:
        """Figures measured after training (the held-out trend calls) join the version's
        metrics; a figure already there is replaced by the new measurement."""
        with self._store.transaction():
            metrics = self.get(model_id)["metrics"] or {}
            self._store.db.execute(
                "UPDATE models SET metrics = ? WHERE id = ?",
                [to_json({**metrics, **extra}), model_id],
            )

    def mark_failed(self, model_id: int, reason: str) -> None:
        """The version cannot be used at all (its training failed); ``reason`` says why."""
        self._store.db.execute(
            "UPDATE models SET status = 'failed', error = ? WHERE id = ? AND active = 0",
            [reason, model_id],
        )

    def fail_unfinished_of_job(self, job_id: int, reason: str) -> int:
        """Versions left in ``training`` by a job that stopped; returns how many. A
        worker that lost the job's lease fails nothing: the versions in training are
        those of the worker that holds it now."""
        self._store.jobs.check_lease(job_id)
        cursor = self._store.db.execute(
            "UPDATE models SET status = 'failed', error = ? "
            "WHERE job_id = ? AND status = 'training'",
            [reason, job_id],
        )
        return cursor.rowcount

    # -- the chain after training: embed, then project -----------------------------------

    def chain_failed(self, model_id: int, reason: str) -> None:
        """An embed or project step failed: the version keeps its checkpoint but cannot
        be activated until a retry of that step succeeds."""
        self._store.db.execute(
            "UPDATE models SET chain = 'failed', error = ? WHERE id = ?", [reason, model_id]
        )

    def chain_pending(self, model_id: int) -> None:
        self._store.db.execute(
            "UPDATE models SET chain = 'pending', error = NULL WHERE id = ?", [model_id]
        )

    def chain_ready(self, model_id: int) -> None:
        self._store.db.execute(
            "UPDATE models SET chain = 'ready', error = NULL WHERE id = ?", [model_id]
        )

    def of_job(self, job_id: int) -> dict | None:
        """The newest version the training job ``job_id`` registered, if any."""
        row = self._store.one(
            f"{WITH_DATASET} WHERE m.job_id = ? ORDER BY m.id DESC LIMIT 1", [job_id]
        )
        return decode_json_columns(row, "config", "metrics")

    def newest(self, dataset_id: int | None = None) -> dict | None:
        """The most recent version, whatever its state; with ``dataset_id``, the most
        recent of those that serve that dataset."""
        where, params = (f"WHERE {SERVING}", [dataset_id]) if dataset_id is not None else ("", [])
        row = self._store.one(f"{WITH_DATASET} {where} ORDER BY m.version DESC LIMIT 1", params)
        return decode_json_columns(row, "config", "metrics")

    def latest_snapshot(self, dataset_id: int | None = None) -> int:
        """The judgment high-water mark of the newest finished or running version (of
        those serving ``dataset_id``, when given)."""
        where, params = (f"AND {SERVING}", [dataset_id]) if dataset_id is not None else ("", [])
        row = self._store.one_row(
            "SELECT COALESCE(MAX(trained_through_judgment_id), 0) AS n FROM models "
            f"WHERE status != 'failed' {where}",
            params,
        )
        return row["n"]

    def activate(self, model_id: int) -> None:
        """Make ``model_id`` the active version of its dataset (roll forward or back);
        the one it replaces, trained on the same dataset, is retired."""
        with self._store.transaction():
            self._store.jobs.check_lease()
            model = self.get(model_id)
            if model["status"] in ("training", "failed") or not model["checkpoint_path"]:
                raise ValueError(
                    f"Version {model['version']} has no finished checkpoint and cannot be used."
                )
            if model["chain"] != "ready":
                why = (
                    f"its map could not be made ({model['error']})"
                    if model["chain"] == "failed"
                    else "its embeddings and map are not ready yet"
                )
                raise ValueError(f"Version {model['version']} cannot be activated: {why}.")
            self._store.db.execute(
                "UPDATE models SET active = 0, status = 'retired' "
                f"WHERE active = 1 AND {SAME_SCOPE}",
                [model["dataset_id"]],
            )
            self._store.db.execute(
                "UPDATE models SET active = 1, status = 'active' WHERE id = ?", [model_id]
            )
            self._store.db.execute(
                "INSERT INTO model_activations(model_id, activated_at) VALUES (?, ?)",
                [model_id, utc_now()],
            )

    def activations(self) -> list[dict]:
        """Every activation, oldest first, with the version and its dataset (NULL: all)."""
        return self._store.all(
            """SELECT a.activated_at, m.id AS model_id, m.version, m.dataset_id
               FROM model_activations a JOIN models m ON m.id = a.model_id ORDER BY a.id"""
        )

    def get(self, model_id: int) -> dict:
        row = self._store.one(f"{WITH_DATASET} WHERE m.id = ?", [model_id])
        if row is None:
            raise NotFound(f"Model {model_id} does not exist.")
        return decode_json_columns(row, "config", "metrics")

    def by_version(self, number: int) -> dict:
        """The row of version ``number`` (as the Training page numbers them)."""
        row = self._store.one(f"{WITH_DATASET} WHERE m.version = ?", [number])
        if row is None:
            span = self._store.one_row(
                "SELECT MIN(version) AS low, MAX(version) AS high FROM models"
            )
            known = (
                "there is none yet"
                if span["low"] is None
                else f"they are numbered {span['low']} to {span['high']}"
            )
            raise NotFound(f"There is no version {number} in this study ({known}).")
        return decode_json_columns(row, "config", "metrics")

    def active(self, dataset_id: int | None = None, own_only: bool = False) -> dict | None:
        """The active version serving ``dataset_id``: its own, else the one trained on
        every dataset (only its own with ``own_only``). Without a dataset: the active
        version trained on every dataset, else the newest active one."""
        if own_only:
            where, params, order = f"AND {SAME_SCOPE}", [dataset_id], "m.version DESC"
        elif dataset_id is None:
            where, params = "", []
            order = "m.dataset_id IS NOT NULL, m.version DESC"
        else:
            where, params = "AND (m.dataset_id = ? OR m.dataset_id IS NULL)", [dataset_id]
            order = "m.dataset_id IS NULL, m.version DESC"
        row = self._store.one(
            f"{WITH_DATASET} WHERE m.active = 1 {where} ORDER BY {order} LIMIT 1", params
        )
        return decode_json_columns(row, "config", "metrics")

    def warm_retrains_since_scratch(self, model_id: int) -> int:
        """How many warm retrains of this version's scope finished since the version
        trained from scratch that it descends from: those activated and those held back
        (a held-back retrain ran, and a study whose retrains keep being held back must
        still reach its scheduled retrain from scratch)."""
        model = self.get(model_id)
        while model["kind"] == "warm" and model["parent_id"] is not None:
            model = self.get(model["parent_id"])
        row = self._store.one_row(
            "SELECT COUNT(*) AS n FROM models WHERE kind = 'warm' AND version > ? "
            f"AND status IN ('candidate', 'active', 'retired') AND {SAME_SCOPE}",
            [model["version"], model["dataset_id"]],
        )
        return int(row["n"])

    def list(self) -> list[dict]:
        rows = self._store.all(f"{WITH_DATASET} ORDER BY m.version DESC")
        return [decode_json_columns(r, "config", "metrics") for r in rows]

    def removal_blocker(self, model_id: int) -> str | None:
        """Why a version cannot be removed now, in words for the Training page; None if
        it can. Kept: the active version, one still training or being worked on by a job,
        one another version continues (a warm retrain names its parent) and one the pair
        server's beliefs start from."""
        model = self.get(model_id)
        name = f"Version {model['version']}"
        if model["active"]:
            return (
                f"{name} is the version in use: the severity scores shown come from it. "
                "Activate another version first; then this one can be deleted."
            )
        if model["status"] == "training":
            return f"{name} is still training: cancel its job first."
        job = self._store.one(
            "SELECT id, kind FROM jobs WHERE status IN ('queued', 'running') "
            f"AND {self._store.db.dialect.json_int('params', 'model_id')} = ?",
            [model_id],
        )
        if job:
            return (
                f"{name} is still being worked on ({job['kind']} job {job['id']}): wait for "
                "it to finish, or cancel it first."
            )
        if self._store.one("SELECT 1 AS x FROM models WHERE parent_id = ?", [model_id]):
            return (
                f"{name} is the parent of a newer version (trained onward from it), so it "
                "is kept while that version exists."
            )
        if self._store.one("SELECT 1 AS x FROM beliefs WHERE model_id = ?", [model_id]):
            return (
                f"{name} still guides which pairs raters are shown; it can be deleted once "
                "a rater has been shown a pair under the active version."
            )
        return None

    def remove(self, model_id: int) -> None:
        """Remove a version with everything it produced (embeddings, trend calls,
        projections, attribution maps, activations) and its checkpoint file; the answers
        stay. Refused (``ValueError``, with ``removal_blocker``'s reason) for a version
        that must be kept."""
        with self._store.transaction():
            model = self.get(model_id)
            blocker = self.removal_blocker(model_id)
            if blocker:
                raise ValueError(blocker)
            self._store.attributions.remove(model_id)
            for table in ("embeddings", "trends", "projections", "model_activations"):
                self._store.db.execute(f"DELETE FROM {table} WHERE model_id = ?", [model_id])
            self._store.db.execute("DELETE FROM models WHERE id = ?", [model_id])
            path = model["checkpoint_path"]
            shared = self._store.one("SELECT 1 AS x FROM models WHERE checkpoint_path = ?", [path])
        if path and shared is None:  # kept while another version names the same file
            self._store.media_path(path).unlink(missing_ok=True)
