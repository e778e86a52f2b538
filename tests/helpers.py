"""Setup shared by several test folders."""

from pathlib import Path

from core.demo import import_cohort
from core.store import Store
from core.synthetic import CohortConfig
from core.worker.runner import Worker, WorkerConfig


def run_worker_until_idle(path: Path, **overrides) -> None:
    """A CPU worker in this process (by default without automatic triggers, and with 2
    integration points per attribution map instead of 32: maps all the same, in a
    sixteenth of the time) until the queue is empty."""
    settings = {
        "auto_triggers": False,
        "report_every_seconds": 0,
        "attribution_steps": 2,
        **overrides,
    }
    config = WorkerConfig(db_path=str(path), device="cpu", exit_when_idle=True, **settings)
    Worker(config).run()


def modelled_cohort(path: Path, image_size: int, train_params: dict) -> Path:
    """A 16-patient synthetic cohort with one trained, embedded and projected model."""
    with Store(path) as store:
        import_cohort(store, CohortConfig(patients=16, image_size=image_size))
        store.jobs.submit("train", train_params)
    run_worker_until_idle(path)
    return path


def database_text(store) -> str:
    """Every row of every table as text: what a leak of the database would show."""
    return "\n".join(
        repr(row) for table in store.db.tables() for row in store.all(f"SELECT * FROM {table}")
    )
