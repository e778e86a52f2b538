"""Reading a study in one consistent snapshot, a batch of rows at a time: what exports
use, so that a 100,000-image study is written in bounded memory and nothing written
while the export runs (a new version's scores, an answer) shows up half-way through it.

SQLite (WAL): a deferred ``BEGIN``; the first read fixes the snapshot and writers carry
on beside it. PostgreSQL: ``REPEATABLE READ, READ ONLY``, and rows come through a
server-side cursor, so the driver never holds the whole result."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator, Sequence
from typing import Any

from .database import Database

_CURSOR_NUMBERS = itertools.count(1)


@contextlib.contextmanager
def read_snapshot(db: Database) -> Iterator[None]:
    """Every read inside sees the database as it was at the first one. Inside a
    transaction already, that transaction is the snapshot."""
    if db.in_transaction:
        yield
        return
    postgres = db.dialect.name == "postgresql"
    db.begin("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" if postgres else "BEGIN")
    try:
        yield
    finally:
        if db.in_transaction:
            db.rollback()  # nothing was written: this only ends the snapshot


def stream_rows(
    db: Database, sql: str, params: Sequence[Any], batch_rows: int
) -> Iterator[list[tuple]]:
    """The rows of ``sql`` as lists of at most ``batch_rows`` tuples, in the query's
    column order. Read inside ``read_snapshot``: on PostgreSQL the server-side cursor
    lives in its transaction."""
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    if not db.in_transaction:
        raise RuntimeError("stream_rows reads inside read_snapshot() only")
    connection = db.driver_connection
    if db.dialect.name == "postgresql":
        cursor = connection.cursor(name=f"export_{next(_CURSOR_NUMBERS)}")
        cursor.itersize = batch_rows
    else:
        cursor = connection.cursor()
    try:
        cursor.execute(db._native(sql), tuple(params))
        while rows := cursor.fetchmany(batch_rows):
            yield rows
    finally:
        cursor.close()
