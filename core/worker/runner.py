"""The worker loop: heartbeat, recovery of jobs whose worker died, automatic triggers,
then claim one job and run it. Several workers may share one database (a SQLite file on
one machine, or PostgreSQL across machines), each taking the kinds of job it is given."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.imaging import remove_stale_parts
from core.learning.device import resolve_device
from core.learning.train import TrainingCancelled
from core.store import DatabaseUnavailable, LeaseLost, Store, StoreBusy
from core.store.jobs import JOB_KINDS, Lease

from .autoretrain import maybe_queue_first_models, maybe_queue_retrains
from .handlers import HANDLERS, JobCancelled, JobContext, Reporter, WorkerStopping
from .status import HEARTBEAT_KEY

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    db_path: str
    device: str = "auto"  # auto, cpu or cuda
    models_dir: str | None = None  # default: models/ in the store's media folder
    kinds: tuple[str, ...] = JOB_KINDS  # the job kinds this worker takes (routing)
    nproc: int = 0  # training processes; 0: one per CUDA GPU (1 without CUDA)
    poll_seconds: float = 1.0  # idle wait between looks at the queue
    stale_after_seconds: float = 30.0  # a running job silent this long is presumed dead
    report_every_seconds: float = 2.0  # progress and heartbeat while a job runs
    exit_when_idle: bool = False  # stop when the queue is empty (scripts and tests)
    auto_triggers: bool = True  # first model and retrain-after-N-judgments
    # Integrated Gradients' points per attribution map; None: attribution.STEPS (32).
    # Fewer is faster and further from completeness (the sum that equals the score)
    attribution_steps: int | None = None


class Worker:
    def __init__(self, config: WorkerConfig):
        self.config = config
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.device = str(resolve_device(config.device))
        unknown = set(config.kinds) - set(JOB_KINDS)
        if unknown or not config.kinds:
            raise ValueError(
                f"Unknown job kind(s) {', '.join(sorted(unknown)) or '(none given)'}; "
                f"a worker takes some of {', '.join(JOB_KINDS)}."
            )
        self.models_dir = config.models_dir
        self.nproc = config.nproc or _gpus(self.device)
        self._stopping = False
        self.lost_leases: list[str] = []  # why each job this worker lost was dropped

    def run(self) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        with Store(self.config.db_path) as store:
            if self.models_dir is None:  # where every machine sharing the media finds it
                self.models_dir = str(store.media_root / "models")
            remove_stale_parts(Path(self.models_dir))  # checkpoints a killed worker left
            while not self._stopping:
                try:
                    worked = self.tick(store)
                except StoreBusy:
                    worked = False
                if not worked:
                    if self.config.exit_when_idle:
                        return
                    time.sleep(self.config.poll_seconds)

    def tick(self, store: Store) -> bool:
        """One look at the queue; returns whether a job ran."""
        self.beat(store)
        stale_before = datetime.now(UTC) - timedelta(seconds=self.config.stale_after_seconds)
        store.jobs.recover_stale(stale_before.isoformat(timespec="milliseconds"))
        if self.config.auto_triggers:
            maybe_queue_first_models(store)
            maybe_queue_retrains(store)
        job = store.jobs.claim(self.worker_id, self.config.kinds)
        if job is None:
            return False
        self.execute(store, job)
        return True

    def execute(self, store: Store, job: dict) -> None:
        """Run a claimed job under its lease. A worker that lost the lease (its heartbeat
        went stale and another worker took the job) drops what it made: every write
        that matters was refused, and the job is left to the worker that holds it now."""
        lease = Lease.of(job)
        done = threading.Event()
        beating = threading.Thread(target=self._keep_alive, args=(lease, done), daemon=True)
        beating.start()
        try:
            with store.jobs.holding(lease):
                self._run(store, job)
        except LeaseLost as exc:
            logger.warning("worker %s dropped its result: %s", self.worker_id, exc)
            self.lost_leases.append(str(exc))
        finally:
            done.set()
            beating.join()

    def _keep_alive(self, lease: Lease, done: threading.Event) -> None:
        """The held job's heartbeat, from a thread with its own connection, every third
        of the stale limit: loading, embedding or saving a large study can run longer
        than the limit without a progress report, and a live job must not be taken over.
        Stops when the job ends or is no longer this worker's."""
        every = self.config.stale_after_seconds / 3
        if self.config.db_path == ":memory:":  # another connection would see another db
            return
        with Store(self.config.db_path) as own:
            while not done.wait(every):
                try:
                    if not own.jobs.beat(lease):
                        return
                except (StoreBusy, DatabaseUnavailable):  # the next beat comes soon enough
                    continue

    def _run(self, store: Store, job: dict) -> None:
        report = Reporter(
            store, job["id"], self.config.report_every_seconds, lambda: self._stopping
        )
        context = JobContext(
            str(self.device),
            str(self.models_dir),
            self.config.db_path,
            self.nproc,
            self.config.attribution_steps,
        )
        try:
            result = HANDLERS[job["kind"]](store, job, report, context)
        except WorkerStopping as exc:
            with store.transaction():
                store.models.fail_unfinished_of_job(job["id"], str(exc))
                store.jobs.requeue(job["id"], f"Re-queued: {exc}; it runs again at the next start.")
        except (TrainingCancelled, JobCancelled) as exc:
            self._contain(store, job, "cancelled", str(exc))
        except LeaseLost:
            raise  # not this worker's job any more: it records nothing about it
        except Exception as exc:  # a failed job must never take the worker down
            detail = "".join(traceback.format_exception_only(exc)).strip()
            self._contain(store, job, "failed", detail)
        else:
            store.jobs.finish(job["id"], "done", result=result)

    @staticmethod
    def _contain(store: Store, job: dict, status: str, reason: str) -> None:
        """A job that did not finish: its version is failed (training) or its chain is
        (embed, project), with the reason, so the pages can say so and offer a retry."""
        with store.transaction():  # all of it under the lease, or none of it
            store.models.fail_unfinished_of_job(job["id"], reason)
            store.jobs.fail_chain(job, reason)
            store.jobs.finish(job["id"], status, error=reason)

    def beat(self, store: Store) -> None:
        beat = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "worker": self.worker_id,
            "host": socket.gethostname(),
            "device": self.device,
            "kinds": list(self.config.kinds),
        }
        store.settings.set(HEARTBEAT_KEY, beat)  # the latest of any worker
        store.settings.set(f"{HEARTBEAT_KEY}:{self.worker_id}", beat)  # this worker's

    def _stop(self, *_: object) -> None:
        self._stopping = True


def _gpus(device: str) -> int:
    """One training process per GPU on a CUDA machine; one on a CPU."""
    if not device.startswith("cuda"):
        return 1
    import torch

    return max(1, torch.cuda.device_count())


def yield_to_the_app(nice: int, threads: int | None) -> int:
    """Lower this process's CPU priority and bound torch's threads, so that a training
    job shares the machine with the Streamlit process instead of starving it; returns
    the thread count."""
    import torch

    if nice > 0:
        os.nice(nice)
    threads = threads or max(1, (os.cpu_count() or 2) - 1)
    torch.set_num_threads(threads)
    return threads
