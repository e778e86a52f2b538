"""The Store: the one data-access layer. Pages, importers and the worker call it;
nothing else in the project writes SQL."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import sqlite_utils

from . import database
from .beliefs import Beliefs, Screens
from .catalog import Datasets, Patients, Raters, Settings
from .database import connect
from .errors import DatabaseUnavailable, StoreBusy
from .images import Images
from .jobs import Jobs
from .judgments import Judgments
from .models import Models

T = TypeVar("T")

SALT_ENV = "SEVERITY_SALT"
# how often a writer retries for the write lock; None leaves it to SQLite's busy handler
LOCK_POLL_SECONDS: float | None = 0.002


class Store:
    """A connection to one Severity Studio database plus its media folder.

    Open one per thread (Streamlit runs each session in its own thread); SQLite
    handles concurrency between processes through WAL and the busy timeout.
    """

    def __init__(self, path: str | Path, media_root: str | Path | None = None):
        self.path = str(path)
        in_memory = self.path == ":memory:"
        if not in_memory and Path(self.path).exists() and Path(self.path).is_dir():
            raise DatabaseUnavailable(f"{self.path} is a folder, not a database file.")
        self.db: sqlite_utils.Database = connect(self.path)
        if media_root is None:
            media_root = (
                tempfile.mkdtemp(prefix="severity-media-")
                if in_memory
                else Path(self.path).resolve().parent / "media"
            )
        self.media_root = Path(media_root)
        self.datasets = Datasets(self)
        self.patients = Patients(self, self._load_salt(in_memory))
        self.images = Images(self)
        self.raters = Raters(self)
        self.judgments = Judgments(self)
        self.models = Models(self)
        self.jobs = Jobs(self)
        self.settings = Settings(self)
        self.beliefs = Beliefs(self)
        self.screens = Screens(self)

    @classmethod
    def memory(cls) -> Store:
        """A throw-away store for tests."""
        return cls(":memory:")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (``BEGIN IMMEDIATE``); nested calls become savepoints."""
        conn = self.db.conn
        if conn.in_transaction:
            with self.db.atomic():
                yield
            return
        self._begin_immediate(conn)
        try:
            yield
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def retrying(self, action: Callable[[], T], attempts: int = 3, pause: float = 0.3) -> T:
        """``action()``, tried again after a short pause while the database stays busy
        (each try already waits ``BUSY_TIMEOUT_S`` for the write lock); the last
        ``StoreBusy`` is raised. For a person's action, such as an answer."""
        for attempt in range(attempts - 1):
            try:
                return action()
            except StoreBusy:
                time.sleep(pause * (attempt + 1))
        return action()

    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        try:
            if LOCK_POLL_SECONDS is None:
                conn.execute("BEGIN IMMEDIATE")
            else:
                _poll_for_write_lock(conn, LOCK_POLL_SECONDS)
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise StoreBusy(
                    "The database is busy (the background worker is probably saving); "
                    "please try again in a moment. Nothing was lost."
                ) from exc
            raise

    def one(self, sql: str, params: list | tuple | None = None) -> dict | None:
        return next(self.db.query(sql, params or []), None)

    def all(self, sql: str, params: list | tuple | None = None) -> list[dict[str, Any]]:
        return list(self.db.query(sql, params or []))

    def integrity_problems(self) -> list[str]:
        """What SQLite's own checks find: ``integrity_check`` and ``foreign_key_check``.
        An empty list means the file is sound."""
        problems = [
            row[0] for row in self.db.execute("PRAGMA integrity_check").fetchall() if row[0] != "ok"
        ]
        problems += [
            f"{table} row {rowid} points to a missing {parent} row"
            for table, rowid, parent, _ in self.db.execute("PRAGMA foreign_key_check").fetchall()
        ]
        return problems

    def media_path(self, relative: str) -> Path:
        return self.media_root / relative

    def backup_to(self, target: str | Path) -> None:
        """A consistent copy of the database through SQLite's online backup API."""
        destination = sqlite3.connect(str(target))
        try:
            self.db.conn.backup(destination)
        finally:
            destination.close()

    def _load_salt(self, in_memory: bool) -> bytes:
        """The pseudonymisation salt lives outside the database (env or a private file),
        so a leaked database alone cannot be matched against patient lists."""
        if os.environ.get(SALT_ENV):
            return os.environ[SALT_ENV].encode()
        if in_memory:
            return secrets.token_bytes(32)
        salt_file = Path(self.path).resolve().parent / "pseudonym.salt"
        if not salt_file.exists():
            fd = os.open(salt_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        return salt_file.read_text().strip().encode()


def _poll_for_write_lock(conn: sqlite3.Connection, every: float) -> None:
    """``BEGIN IMMEDIATE``, retried every few milliseconds (with jitter) until the busy
    timeout. SQLite's own busy handler sleeps longer and longer, up to 100 ms a try, and
    so misses the short free moments that newer writers then take: with many writers
    some waited seconds. Polling keeps every writer's wait close to the others'."""
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        deadline = time.monotonic() + database.BUSY_TIMEOUT_S
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(every * random.uniform(0.5, 1.5))
    finally:
        conn.execute(f"PRAGMA busy_timeout = {int(database.BUSY_TIMEOUT_S * 1000)}")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)
