"""Copying a whole study from one database to another (SQLite to PostgreSQL for a study
that outgrows one machine, or PostgreSQL to a SQLite file for a backup), every row with
its id, in one transaction on the target, with the counts checked at the end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import StoreError

if TYPE_CHECKING:
    from .store import Store

# Parents before children; within a table rows go in id order, so that a row pointing at
# an earlier row of its own table (a correction, a retry) finds it already there.
TABLES = (
    ("datasets", "id"),
    ("patients", "id"),
    ("images", "id"),
    ("raters", "id"),
    ("judgments", "id"),
    ("jobs", "id"),
    ("models", "id"),
    ("model_activations", "id"),
    ("embeddings", "model_id, image_id"),
    ("attribution_maps", "model_id, image_id"),
    ("projections", "model_id, method, dims, image_id"),
    ("trends", "model_id, earlier_image_id, later_image_id"),
    ("beliefs", "image_id"),
    ("on_screen", "rater_id"),
    ("job_losses", "job_id, phase, step"),
    ("settings", "key"),
)
BATCH = 5_000


class CopyError(StoreError):
    """The target is not empty, or a count differs after copying."""


@dataclass(frozen=True)
class CopyReport:
    counts: dict[str, int]  # rows per table, equal in both databases


def copy_database(source: Store, target: Store) -> CopyReport:
    """Copy every row of ``source`` into the empty ``target`` (both at the latest
    schema). Nothing is written unless everything is: one transaction on the target."""
    if target.one("SELECT 1 AS x FROM images LIMIT 1") or target.one(
        "SELECT 1 AS x FROM judgments LIMIT 1"
    ):
        raise CopyError(
            "The target database already holds a study; copy into an empty database only "
            "(nothing was changed)."
        )
    with target.transaction():
        for table, order in TABLES:
            columns = [c for c in source.db.columns(table) if c in set(target.db.columns(table))]
            select = f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}"
            offset = 0
            while rows := source.all(f"{select} LIMIT ? OFFSET ?", [BATCH, offset]):
                target.db.insert_all(table, rows)
                offset += len(rows)
        if target.is_postgres:  # identities continue after the copied ids
            for table, order in TABLES:
                if order == "id":
                    target.db.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                    )
    counts = {table: _count(source, table) for table, _ in TABLES}
    copied = {table: _count(target, table) for table, _ in TABLES}
    differing = {t: (n, copied[t]) for t, n in counts.items() if copied[t] != n}
    if differing:
        detail = ", ".join(f"{t}: {a} here, {b} there" for t, (a, b) in differing.items())
        raise CopyError(f"The copy is incomplete ({detail}).")
    return CopyReport(counts)


def _count(store: Store, table: str) -> int:
    return store.one_row(f"SELECT COUNT(*) AS n FROM {table}")["n"]
