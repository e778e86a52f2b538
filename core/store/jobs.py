"""Background jobs: queued by the app or the CLI, claimed atomically by workers.

A claim is a lease: the job's id and its attempt number (``attempts``, one more at each
claim). A worker whose heartbeat went stale may still be alive (a remote GPU that lost
its connection); by then ``recover_stale`` has given its job to another worker. While a
store holds a lease (``Jobs.holding``), every write that matters for that job (a
heartbeat, its finish, registering or activating a version, renaming a checkpoint into
place) first checks, in the same transaction, that the job is still running under that
lease, and raises ``LeaseLost`` otherwise: the late worker's result is dropped, never
registered twice."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import LeaseLost, NotFound
from .rows import decode_json_columns, to_json, utc_now

if TYPE_CHECKING:
    from .store import Store

JOB_KINDS = ("train", "embed", "project", "import", "attribute")
CHAIN_KINDS = ("embed", "project")  # what runs on a version after its training
# how a re-queued job's message starts when its worker went silent (the Training page)
TAKEN_OVER = "Re-queued: its worker"


@dataclass(frozen=True)
class Lease:
    """A worker's hold on one claimed job: it holds while the job is running under this
    attempt for this worker (a fencing token checked at each commit)."""

    job_id: int
    attempt: int  # the job's ``attempts`` at the claim: a later claim has a larger one
    worker_id: str

    @classmethod
    def of(cls, job: dict) -> Lease:
        """The lease of a job row as ``Jobs.claim`` returned it."""
        return cls(int(job["id"]), int(job["attempts"]), str(job["worker_id"]))


class Jobs:
    def __init__(self, store: Store):
        self._store = store
        self.lease: Lease | None = None  # the job whose writes this store fences

    @contextlib.contextmanager
    def holding(self, lease: Lease) -> Iterator[Lease]:
        """Fence this store's writes by ``lease`` while the block runs (a worker runs a
        job's handler inside it)."""
        before, self.lease = self.lease, lease
        try:
            yield lease
        finally:
            self.lease = before

    def check_lease(self, job_id: int | None = None) -> None:
        """Raise ``LeaseLost`` unless the lease this store holds (if any, and if it is
        the lease of ``job_id`` when one is given) still holds. Call it inside the write
        transaction it guards: on SQLite the write lock, on PostgreSQL a lock on the
        job's row, keep it holding until that transaction commits."""
        lease = self.lease
        if lease is None or (job_id is not None and job_id != lease.job_id):
            return
        # PostgreSQL: the row stays locked until commit, so a re-queue waits for this
        # write (NO KEY UPDATE: the heartbeat that follows needs no stronger lock)
        lock = " FOR NO KEY UPDATE" if self._store.is_postgres else ""
        row = self._store.one(
            f"SELECT status, attempts, worker_id FROM jobs WHERE id = ?{lock}", [lease.job_id]
        )
        if (
            row is None
            or row["status"] != "running"
            or row["attempts"] != lease.attempt
            or row["worker_id"] != lease.worker_id
        ):
            now = "gone" if row is None else f"{row['status']}, attempt {row['attempts']}"
            raise LeaseLost(
                f"Job {lease.job_id} is no longer held by worker {lease.worker_id} "
                f"(it held attempt {lease.attempt}; the job is now {now}): "
                "its heartbeat went stale and the job was recovered, so this late write "
                "was refused."
            )

    def submit(
        self, kind: str, params: dict[str, Any] | None = None, trigger_key: str | None = None
    ) -> int:
        """Queue a job. With ``trigger_key``, a second submit for the same key is a no-op
        that returns the first job's id (auto-retrain must never queue twice)."""
        if kind not in JOB_KINDS:
            raise ValueError(f"Unknown job kind {kind!r}; expected one of {', '.join(JOB_KINDS)}.")
        row = {
            "kind": kind,
            "params": to_json(params or {}),
            "status": "queued",
            "created_at": utc_now(),
        }
        with self._store.transaction(serialize=False):
            self.check_lease()  # a worker that lost its job queues nothing after it
            if trigger_key:
                return self._store.db.get_or_insert("jobs", {"trigger_key": trigger_key}, row)
            return self._store.db.insert("jobs", row)

    def claim(self, worker_id: str, kinds: tuple[str, ...] = JOB_KINDS) -> dict | None:
        """Atomically take the oldest queued job of ``kinds``, a training after the others
        (a trained version's map, or an import, does not wait behind the next training:
        with two first models queued, the first map comes after one training, not two)
        and attribution maps last (minutes on a CPU: a retrain does not wait for them);
        None when there is none. SQLite: under its single write lock. PostgreSQL: the row
        is locked, and rows other workers hold are skipped (``FOR UPDATE SKIP LOCKED``),
        so workers never wait on each other nor take the same job."""
        marks = ",".join("?" * len(kinds))
        skip_locked = " FOR UPDATE SKIP LOCKED" if self._store.is_postgres else ""
        with self._store.transaction(serialize=False):
            row = self._store.one(
                f"SELECT id FROM jobs WHERE status = 'queued' AND kind IN ({marks}) "
                f"ORDER BY CASE kind WHEN 'train' THEN 1 WHEN 'attribute' THEN 2 ELSE 0 END, id "
                f"LIMIT 1{skip_locked}",
                list(kinds),
            )
            if row is None:
                return None
            now = utc_now()
            cursor = self._store.db.execute(
                "UPDATE jobs SET status = 'running', worker_id = ?, started_at = ?, "
                "heartbeat_at = ?, attempts = attempts + 1, phase = 'starting' "
                "WHERE id = ? AND status = 'queued'",
                [worker_id, now, now, row["id"]],
            )
            if cursor.rowcount != 1:  # pragma: no cover - the row lock makes this impossible
                return None
        return self.get(row["id"])

    def beat(self, lease: Lease) -> bool:
        """The heartbeat of a held job, fenced by the statement itself: it lands only
        while the job runs under ``lease``. Returns whether it did (a job taken over, or
        finished, is not touched). A worker's heartbeat thread calls it between the
        handler's progress reports, so a long phase without progress is not mistaken
        for a dead worker."""
        with self._store.transaction(serialize=False):
            self._store.db.execute(
                "UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND status = 'running' "
                "AND attempts = ? AND worker_id = ?",
                [utc_now(), lease.job_id, lease.attempt, lease.worker_id],
            )
            row = self._store.one(
                "SELECT status, attempts, worker_id FROM jobs WHERE id = ?", [lease.job_id]
            )
        return bool(
            row
            and row["status"] == "running"
            and row["attempts"] == lease.attempt
            and row["worker_id"] == lease.worker_id
        )

    def report(
        self,
        job_id: int,
        *,
        progress: float | None = None,
        phase: str | None = None,
        message: str | None = None,
    ) -> bool:
        """Heartbeat plus optional progress. Returns True when a cancel was requested."""
        sets: list[str] = ["heartbeat_at = ?"]
        params: list[object] = [utc_now()]
        for column, value in (("progress", progress), ("phase", phase), ("message", message)):
            if value is not None:
                sets.append(f"{column} = ?")
                params.append(value)
        with self._store.transaction(serialize=False):
            self.check_lease(job_id)
            self._store.db.execute(
                f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?", [*params, job_id]
            )
            row = self._store.one("SELECT cancel_requested FROM jobs WHERE id = ?", [job_id])
        return bool(row and row["cancel_requested"])

    def add_losses(self, job_id: int, points: list[tuple[str, int, float]]) -> None:
        """Training loss points ``(phase, step, loss)`` of a job, for its curve."""
        if not points:
            return
        with self._store.transaction(serialize=False):
            self.check_lease(job_id)
            last = self._store.one_row(
                "SELECT COALESCE(MAX(seq), 0) AS n FROM job_losses WHERE job_id = ?", [job_id]
            )["n"]
            self._store.db.upsert_all(  # a re-run of the job replaces its points
                "job_losses",
                [
                    {"job_id": job_id, "phase": phase, "step": step, "loss": loss, "seq": last + k}
                    for k, (phase, step, loss) in enumerate(points, start=1)
                ],
                key=("job_id", "phase", "step"),
            )

    def losses(self, job_id: int) -> list[dict]:
        """The job's loss points in the order they were written."""
        return self._store.all(
            "SELECT phase, step, loss FROM job_losses WHERE job_id = ? ORDER BY seq", [job_id]
        )

    def finish(
        self,
        job_id: int,
        status: str = "done",
        result: dict | None = None,
        error: str | None = None,
    ) -> None:
        if status not in ("done", "failed", "cancelled"):
            raise ValueError(f"A job cannot finish as {status!r}.")
        with self._store.transaction():
            self.check_lease(job_id)
            self._store.db.execute(
                "UPDATE jobs SET status = ?, finished_at = ?, heartbeat_at = ?, error = ?, "
                "message = NULL, "
                "result = ?, progress = CASE WHEN ? = 'done' THEN 1 ELSE progress END "
                "WHERE id = ?",
                [status, utc_now(), utc_now(), error, to_json(result or {}), status, job_id],
            )

    def request_cancel(self, job_id: int) -> None:
        """Queued jobs are cancelled at once; running ones stop at their next heartbeat."""
        with self._store.transaction():
            job = self.get(job_id)
            if job["status"] == "queued":
                self._store.db.execute(
                    "UPDATE jobs SET status = 'cancelled', cancel_requested = 1, "
                    "finished_at = ? WHERE id = ?",
                    [utc_now(), job_id],
                )
            elif job["status"] == "running":
                self._store.db.execute(
                    "UPDATE jobs SET cancel_requested = 1 WHERE id = ?", [job_id]
                )

    def requeue(self, job_id: int, message: str) -> None:
        """Put a running job back in the queue (its worker is stopping cleanly)."""
        with self._store.transaction():
            self.check_lease(job_id)
            self._store.db.execute(
                "UPDATE jobs SET status = 'queued', worker_id = NULL, message = ? "
                "WHERE id = ? AND status = 'running'",
                [message, job_id],
            )

    def recover_stale(self, stale_before: str, max_attempts: int = 2) -> list[int]:
        """Jobs whose worker stopped heart-beating (killed, crashed): re-queue them, or
        fail them once they have been tried ``max_attempts`` times. Returns their ids."""
        lock = " FOR UPDATE" if self._store.is_postgres else ""
        with self._store.transaction():
            # the rows are locked (PostgreSQL; SQLite's write lock already is): a worker's
            # heartbeat cannot commit between this look and the re-queue
            stale = self._store.all(
                "SELECT id, kind, attempts, worker_id FROM jobs WHERE status = 'running' "
                f"AND heartbeat_at < ?{lock}",
                [stale_before],
            )
            for job in stale:
                self._store.models.fail_unfinished_of_job(
                    job["id"], "the worker stopped while training it"
                )
                if job["attempts"] >= max_attempts:
                    reason = (
                        f"The worker stopped during this job {job['attempts']} times; "
                        "not retried again."
                    )
                    self._store.db.execute(
                        "UPDATE jobs SET status = 'failed', finished_at = ?, error = ? "
                        "WHERE id = ?",
                        [utc_now(), reason, job["id"]],
                    )
                    self.fail_chain(self.get(job["id"]), reason)
                else:
                    self._store.db.execute(
                        "UPDATE jobs SET status = 'queued', worker_id = NULL, message = ? "
                        "WHERE id = ?",
                        [f"{TAKEN_OVER} {job['worker_id']} stopped heart-beating.", job["id"]],
                    )
        return [j["id"] for j in stale]

    def fail_chain(self, job: dict, reason: str) -> None:
        """An embed or project job that failed leaves its version's chain failed."""
        model_id = job["params"].get("model_id")
        self.check_lease(job["id"])
        if job["kind"] in CHAIN_KINDS and model_id is not None:
            self._store.models.chain_failed(
                model_id, f"{job['kind']} job {job['id']} failed: {reason}"
            )

    def retry(self, job_id: int) -> int:
        """Queue a failed or cancelled job again (a new job linked by ``retry_of``); an
        embed or project retry makes its version's chain pending again."""
        with self._store.transaction():
            job = self.get(job_id)
            if job["status"] not in ("failed", "cancelled"):
                raise ValueError(
                    f"Job {job_id} is {job['status']}; "
                    "only failed or cancelled jobs can be retried."
                )
            again = self._store.one(
                "SELECT id FROM jobs WHERE retry_of = ? AND status IN ('queued', 'running')",
                [job_id],
            )
            if again:
                return again["id"]
            new_id = self._store.db.insert(
                "jobs",
                {
                    "kind": job["kind"],
                    "params": to_json(job["params"]),
                    "status": "queued",
                    "created_at": utc_now(),
                    "retry_of": job_id,
                },
            )
            if job["kind"] in CHAIN_KINDS and job["params"].get("model_id") is not None:
                self._store.models.chain_pending(job["params"]["model_id"])
        return new_id

    def latest_for_model(self, model_id: int) -> dict | None:
        """The newest embed or project job of a version."""
        row = self._store.one(
            f"SELECT * FROM jobs WHERE kind IN ({','.join('?' * len(CHAIN_KINDS))}) "
            f"AND {self._store.db.dialect.json_int('params', 'model_id')} = ? "
            "ORDER BY id DESC LIMIT 1",
            [*CHAIN_KINDS, model_id],
        )
        return decode_json_columns(row, "params", "result")

    def get(self, job_id: int) -> dict:
        row = self._store.one("SELECT * FROM jobs WHERE id = ?", [job_id])
        if row is None:
            raise NotFound(f"Job {job_id} does not exist.")
        return decode_json_columns(row, "params", "result")

    def list(self, limit: int = 50, statuses: tuple[str, ...] | None = None) -> list[dict]:
        sql, params = "SELECT * FROM jobs", []
        if statuses:
            sql += f" WHERE status IN ({','.join('?' * len(statuses))})"
            params = list(statuses)
        rows = self._store.all(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
        return [decode_json_columns(r, "params", "result") for r in rows]
