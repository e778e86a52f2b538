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
from core.learning.config import TrainConfig
from core.learning.from_store import train_from_store
from core.store import Store

from .handlers import Reporter


def rank_command(db: str, job_id: int, out: str, config: TrainConfig, dataset: str | None):
    """The module and arguments each process runs (after the launcher's own)."""
    argv = ["-m", "core.worker.ranks", "--db", db, "--job-id", str(job_id), "--out", out]
    argv += ["--config-json", json.dumps(config.to_dict())]
    return argv + (["--dataset", dataset] if dataset else [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.worker.ranks")
    parser.add_argument("--db", required=True)
    parser.add_argument("--job-id", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--config-json", required=True)  # the job's whole configuration
    parser.add_argument("--dataset")
    args = parser.parse_args(argv)
    config = TrainConfig.from_dict(json.loads(args.config_json))
    try:
        with Store(args.db) as store:
            report = Reporter(store, args.job_id)
            train_from_store(
                store, config, args.out, args.dataset, report.training_progress, args.job_id
            )
    finally:
        distributed.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
