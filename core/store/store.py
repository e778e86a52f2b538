"""The Store: the one data-access layer. Pages, importers and the worker call it;
nothing else in the project writes SQL."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from core.paths import PROJECT_ROOT

from . import database
from .attributions import AttributionMaps
from .beliefs import Beliefs, Screens
from .catalog import Datasets, Patients, Raters, Settings
from .database import Database, OperationalError, connect, is_postgres_url, sqlite_file
from .embeddings import Embeddings
from .errors import StorageFull, StoreBusy, is_disk_full
from .images import Images
from .jobs import Jobs
from .judgments import Judgments
from .models import Models
from .snapshot import read_snapshot
from .version_rows import VersionRows

T = TypeVar("T")

SALT_ENV = "SEVERITY_SALT"
MEDIA_ENV = "SEVERITY_MEDIA"
PROJECT_DATA = PROJECT_ROOT / "data"
# the PostgreSQL advisory lock that write transactions take in turn (an arbitrary key)
WRITE_LOCK = 716_290_116
# how often a writer retries for the write lock; None leaves it to SQLite's busy handler
LOCK_POLL_SECONDS: float | None = 0.002


class Store:
    """A connection to one Severity Studio database plus its media folder.

    ``location`` is a SQLite file (or ``:memory:``, or a ``sqlite:///`` URL) or a
    ``postgresql://`` URL. Pixels and checkpoints live in the media folder: beside a
    SQLite file by default; for PostgreSQL, ``$SEVERITY_MEDIA`` (else ``data/media``).
    The database holds paths relative to it, never a machine's absolute paths.

    Open one per thread (Streamlit runs each session in its own thread).
    """

    def __init__(self, location: str | Path, media_root: str | Path | None = None):
        self.path = str(location)
        in_memory = not is_postgres_url(self.path) and sqlite_file(self.path) == ":memory:"
        self.db: Database = connect(self.path)
        self.media_root = Path(media_root or self._default_media(in_memory))
        self.datasets = Datasets(self)
        self.patients = Patients(self, self._load_salt(in_memory))
        self.images = Images(self)
        self.raters = Raters(self)
        self.judgments = Judgments(self)
        self.models = Models(self)
        self.embeddings = Embeddings(self)
        self.attributions = AttributionMaps(self)
        self.jobs = Jobs(self)
        self.settings = Settings(self)
        self.beliefs = Beliefs(self)
        self.screens = Screens(self)
        self.version_rows = VersionRows(self)

    @classmethod
    def memory(cls) -> Store:
        """A throw-away store for tests."""
        return cls(":memory:")

    @property
    def is_postgres(self) -> bool:
        return self.db.dialect.name == "postgresql"

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self, serialize: bool = True) -> Iterator[None]:
        """One write transaction; nested calls become savepoints.

        SQLite has one writer at a time (``BEGIN IMMEDIATE``). On PostgreSQL a
        ``serialize`` transaction takes the store's write lock (an advisory lock) for
        the same guarantee: a repository may read, decide and write, and answers are
        committed in id order, so "every answer after id N" never skips one that commits
        late. ``serialize=False`` is for writes that need neither (a heartbeat, a job
        claim with ``SKIP LOCKED``, a pair on screen)."""
        db = self.db
        if db.in_transaction:
            name = db.savepoint()
            try:
                yield
            except BaseException:
                db.rollback_to(name)
                raise
            db.release(name)
            return
        self._begin(serialize)
        try:
            yield
            db.commit()
        except BaseException as exc:
            with contextlib.suppress(Exception):  # a failed COMMIT may leave it open
                db.rollback()
            if is_disk_full(exc) and not isinstance(exc, StorageFull):
                raise StorageFull(
                    "The disk that holds the database is full: this change was not saved "
                    "(nothing of it was kept). Free some space and try again."
                ) from exc
            raise

    def snapshot(self) -> contextlib.AbstractContextManager[None]:
        """One consistent read of the study: every query inside sees the database as it
        was at the first one, whatever other connections commit meanwhile (exports read
        through it). Reads only; inside a transaction already, that transaction."""
        return read_snapshot(self.db)

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

    def _begin(self, serialize: bool) -> None:
        if self.is_postgres:
            self.db.begin()
            self.db.execute(f"SET LOCAL lock_timeout = '{int(database.BUSY_TIMEOUT_S * 1000)}ms'")
            if serialize:
                try:
                    self.db.execute(f"SELECT pg_advisory_xact_lock({WRITE_LOCK})")
                except OperationalError as exc:  # lock_timeout: another writer held on
                    self.db.rollback()
                    raise StoreBusy(
                        "The database is busy (another server or the worker is saving); "
                        "please try again in a moment. Nothing was lost."
                    ) from exc
            return
        try:
            if LOCK_POLL_SECONDS is None:
                self.db.begin("BEGIN IMMEDIATE")
            else:
                _poll_for_write_lock(self.db, LOCK_POLL_SECONDS)
        except OperationalError as exc:
            if _is_busy(exc):
                raise StoreBusy(
                    "The database is busy (the background worker is probably saving); "
                    "please try again in a moment. Nothing was lost."
                ) from exc
            raise

    def one(self, sql: str, params: list | tuple | None = None) -> dict | None:
        rows = self.db.query(sql, params)
        return rows[0] if rows else None

    def one_row(self, sql: str, params: list | tuple | None = None) -> dict[str, Any]:
        """The row of a query that always yields one, such as an aggregate (``COUNT``, ``MAX``)."""
        row = self.one(sql, params)
        if row is None:
            raise RuntimeError(f"Expected a row, got none from: {sql}")
        return row

    def all(self, sql: str, params: list | tuple | None = None) -> list[dict[str, Any]]:
        return self.db.query(sql, params)

    def integrity_problems(self) -> list[str]:
        """What the engine's own checks find; an empty list means the database is sound.
        SQLite: ``integrity_check`` and ``foreign_key_check``. PostgreSQL enforces
        foreign keys on every write and checksums its pages itself: nothing to list."""
        if self.is_postgres:
            return []
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

    def relative_to_media(self, path: str | Path) -> str:
        """``path`` as the database keeps it: relative to the media folder when inside it."""
        path = Path(path).resolve()
        try:
            return path.relative_to(self.media_root.resolve()).as_posix()
        except ValueError:
            return str(path)

    def backup_to(self, target: str | Path) -> None:
        """A consistent copy of the study as a SQLite file, complete and verified or
        absent (``backup.write_backup``)."""
        from .backup import write_backup

        write_backup(self, target)

    def _default_media(self, in_memory: bool) -> Path:
        if in_memory:
            return Path(tempfile.mkdtemp(prefix="severity-media-"))
        if self.is_postgres:
            return Path(os.environ.get(MEDIA_ENV) or PROJECT_DATA / "media")
        return Path(sqlite_file(self.path)).resolve().parent / "media"

    def _load_salt(self, in_memory: bool) -> bytes:
        """The pseudonymisation salt lives outside the database (env or a private file),
        so a leaked database alone cannot be matched against patient lists."""
        if os.environ.get(SALT_ENV):
            return os.environ[SALT_ENV].encode()
        if in_memory:
            return secrets.token_bytes(32)
        # beside the SQLite file; for PostgreSQL, beside the media folder
        folder = (
            self.media_root.resolve().parent
            if self.is_postgres
            else Path(sqlite_file(self.path)).resolve().parent
        )
        salt_file = folder / "pseudonym.salt"
        if not salt_file.exists():
            fd = os.open(salt_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
        return salt_file.read_text().strip().encode()


def _poll_for_write_lock(db: Database, every: float) -> None:
    """``BEGIN IMMEDIATE``, retried every few milliseconds (with jitter) until the busy
    timeout. SQLite's own busy handler sleeps longer and longer, up to 100 ms a try, and
    so misses the short free moments that newer writers then take: with many writers
    some waited seconds. Polling keeps every writer's wait close to the others'."""
    db.execute("PRAGMA busy_timeout = 0")
    try:
        deadline = time.monotonic() + database.BUSY_TIMEOUT_S
        while True:
            try:
                db.begin("BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(every * random.uniform(0.5, 1.5))
    finally:
        db.execute(f"PRAGMA busy_timeout = {int(database.BUSY_TIMEOUT_S * 1000)}")


def _is_busy(exc: OperationalError) -> bool:
    return "locked" in str(exc.orig) or "busy" in str(exc.orig)
