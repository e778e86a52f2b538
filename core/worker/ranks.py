"""One process of a training job on several processes (one per GPU), started by the
worker through ``torch.distributed.run``:

    python -m torch.distributed.run ... -m core.worker.ranks --db DB --job-id N --out DIR

Every rank trains through the library's ``train_from_store``; progress reaches the job
through the library's ``Progress`` callback, which the worker's ``Reporter`` implements
(rank 0 registers the version and writes the checkpoint)."""

from __future__ import annotations

import argparse
import json
import sys

from core.learning import distributed
from core.learning.from_store import train_from_store
from core.store import Store
from core.store.jobs import Lease

from .handlers import Reporter
from .train_job import TrainJob


def rank_command(
    db: str, job_id: int, out: str, job: TrainJob, parent_id: int | None = None
) -> list[str]:
    """The module and arguments each process runs (after the launcher's own)."""
    argv = ["-m", "core.worker.ranks", "--db", db, "--job-id", str(job_id), "--out", out]
    argv += ["--params-json", json.dumps(job.to_params())]
    return argv + (["--parent-id", str(parent_id)] if parent_id is not None else [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.worker.ranks")
    parser.add_argument("--db", required=True)
    parser.add_argument("--job-id", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--params-json", required=True)  # the job as the worker runs it
    parser.add_argument("--parent-id", type=int)  # the version a warm job continues
    args = parser.parse_args(argv)
    try:
        with Store(args.db) as store:
            job = TrainJob.from_params(json.loads(args.params_json), store)
            report = Reporter(store, args.job_id)
            parent = store.models.get(args.parent_id) if args.parent_id is not None else None
            # the lease the worker claimed the job under, just before it started us
            with store.jobs.holding(Lease.of(store.jobs.get(args.job_id))):
                train_from_store(
                    store,
                    job.config,
                    args.out,
                    job.dataset_id,
                    report.training_progress,
                    args.job_id,
                    parent,
                )
    finally:
        distributed.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
