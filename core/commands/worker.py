"""``python -m core worker`` (the background worker) and ``python -m core jobs`` (queue,
list, cancel or retry its jobs)."""

from __future__ import annotations

import argparse
import json

from core.paths import resolve_db_path
from core.store import Store, StoreError
from core.store.database import safe_location
from core.store.jobs import JOB_KINDS
from core.worker.status import retrain_blockers, version_problem
from core.worker.train_job import train_job

from .common import add_db

USER_ERRORS = (StoreError, ValueError)


def add_parsers(commands) -> None:
    worker = commands.add_parser("worker", help="run the background worker")
    worker.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    worker.add_argument(
        "--exit-when-idle", action="store_true", help="stop once the queue is empty"
    )
    worker.add_argument(
        "--stale-after",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="re-queue running jobs whose worker has been silent this long",
    )
    worker.add_argument(
        "--no-auto", action="store_true", help="do not queue first-model or retrain jobs by itself"
    )
    worker.add_argument(
        "--nice",
        type=int,
        default=10,
        help="CPU priority below the app's (0: the same), so training never starves the pages",
    )
    worker.add_argument(
        "--kinds",
        default=",".join(JOB_KINDS),
        metavar="KIND,KIND",
        help="the job kinds this worker takes, e.g. train on a GPU machine and "
        "embed,project,import beside the app (default: all)",
    )
    worker.add_argument(
        "--nproc",
        type=int,
        default=0,
        help="processes per training job through torch.distributed.run (default: one per "
        "CUDA GPU; 1 on a CPU)",
    )
    worker.add_argument(
        "--attribution-steps",
        type=int,
        metavar="N",
        help="Integrated Gradients' points per attribution map (default 32; fewer is "
        "faster on a CPU and further from adding up to the score)",
    )
    worker.add_argument(
        "--threads",
        type=int,
        help="torch CPU threads (default: all cores but one, left to the app)",
    )
    worker.set_defaults(handler=run_worker)
    add_db(worker)

    jobs = commands.add_parser("jobs", help="queue, list or cancel background jobs")
    jobs.set_defaults(handler=run_jobs)
    verbs = jobs.add_subparsers(dest="verb", required=True)
    submit = verbs.add_parser("submit", help="queue a job")
    submit.add_argument("kind", choices=JOB_KINDS)
    submit.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="train: any training setting (method=conpro, epochs=4...); "
        "embed/project/attribute: model_id=N; import: src=PATH, dataset=NAME",
    )
    add_db(submit)
    listing = verbs.add_parser("list", help="the latest jobs")
    add_db(listing)
    cancel = verbs.add_parser("cancel", help="cancel a queued or running job")
    cancel.add_argument("job_id", type=int)
    add_db(cancel)
    retry = verbs.add_parser("retry", help="queue a failed or cancelled job again")
    retry.add_argument("job_id", type=int)
    add_db(retry)


def run_worker(args: argparse.Namespace) -> int:
    from core.worker.runner import Worker, WorkerConfig, yield_to_the_app

    config = WorkerConfig(
        db_path=resolve_db_path(args.db),
        device=args.device,
        exit_when_idle=args.exit_when_idle,
        auto_triggers=not args.no_auto,
        stale_after_seconds=args.stale_after,
        kinds=tuple(k.strip() for k in args.kinds.split(",") if k.strip()),
        nproc=args.nproc,
        attribution_steps=args.attribution_steps,
    )
    threads = yield_to_the_app(args.nice, args.threads)
    worker = Worker(config)
    print(
        f"worker {worker.worker_id} on {worker.device} ({threads} CPU threads, nice "
        f"{args.nice}), jobs {','.join(config.kinds)}, database {safe_location(config.db_path)}",
        flush=True,
    )
    worker.run()
    return 0


def run_jobs(args: argparse.Namespace) -> int:
    with Store(resolve_db_path(args.db)) as store:
        if args.verb == "submit":
            job_id = store.jobs.submit(args.kind, parse_params(store, args.kind, args.param))
            print(f"queued job {job_id}")
        elif args.verb == "cancel":
            store.jobs.request_cancel(args.job_id)
            print(f"job {args.job_id}: {store.jobs.get(args.job_id)['status']}, cancel requested")
        elif args.verb == "retry":
            print(f"job {args.job_id} queued again as job {store.jobs.retry(args.job_id)}")
        else:
            print_jobs(store)
    return 0


def print_jobs(store: Store) -> None:
    """The latest jobs, then every version that cannot be used and why."""
    for job in store.jobs.list():
        model = f"v{job['params']['model_id']} " if "model_id" in job["params"] else ""
        retry = f"(retry of {job['retry_of']}) " if job["retry_of"] else ""
        held = f"[{job['worker_id'].split(':')[0]}] " if job["status"] == "running" else ""
        print(
            f"{job['id']:>5} {job['kind']:<8} {job['status']:<10} "
            f"{100 * job['progress']:5.1f}%  {held}{model}{retry}{job['phase'] or ''} "
            f"{job['error'] or job['message'] or ''}"
        )
    problems = [p for m in store.models.list() if (p := version_problem(store, m))]
    for problem in problems:
        print(f"! {problem}")
    for blocker in retrain_blockers(store):
        print(f"! {blocker}")


def parse_params(store: Store, kind: str, pairs: list[str]) -> dict:
    """``KEY=VALUE`` pairs as a job's parameters; a training job's are built as the
    worker's own (``train_job``: the study's training defaults, then these settings)."""
    values = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--param needs KEY=VALUE, got {pair!r}")
        try:
            values[key] = json.loads(text)
        except json.JSONDecodeError:
            values[key] = text
    if kind == "train":
        dataset = values.pop("dataset", None)
        dataset_id = values.pop("dataset_id", None)
        if dataset is not None:
            dataset_id = store.datasets.by_name(str(dataset))["id"]
        elif dataset_id is not None:
            dataset_id = store.datasets.get(int(dataset_id))["id"]
        return train_job(store, dataset_id, **values).to_params()
    return values
