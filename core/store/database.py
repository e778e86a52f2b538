"""Opening the database, SQLite (the embedded default) or PostgreSQL, chosen by URL.

A path, ``:memory:`` or ``sqlite:///...`` opens SQLite with WAL, foreign keys on and a
busy timeout; ``postgresql://user@host/db`` opens PostgreSQL through psycopg 3. Both go
through SQLAlchemy Core (URLs, pooling, the driver's errors), and every pending
migration is applied on open, each in its own transaction.

The repositories write one portable SQL with ``?`` placeholders; ``Database`` turns it
into the driver's style, and ``Dialect`` holds the few phrases that differ.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import NullPool

from .errors import NOT_REACHABLE, NOT_SAVED, DatabaseUnavailable
from .faults import pause_point
from .migrations import MIGRATIONS

__all__ = ["Database", "IntegrityError", "OperationalError", "connect", "is_postgres_url"]

BUSY_TIMEOUT_S = 15.0
T = TypeVar("T")


@dataclass(frozen=True)
class Dialect:
    """The phrases that differ between the two engines, in one place."""

    name: str  # "sqlite" or "postgresql"

    @property
    def forced_join(self) -> str:
        """A join whose left side stays the outer loop: SQLite's planner honours CROSS
        JOIN as that hint; PostgreSQL plans joins itself (and has no CROSS JOIN ... ON)."""
        return "CROSS JOIN" if self.name == "sqlite" else "JOIN"

    def json_int(self, column: str, key: str) -> str:
        """An integer field of a JSON text column, as an SQL expression."""
        if self.name == "sqlite":
            return f"json_extract({column}, '$.{key}')"
        return f"(({column})::jsonb ->> '{key}')::bigint"


def is_postgres_url(location: str | Path) -> bool:
    return str(location).startswith(("postgresql://", "postgresql+psycopg://", "postgres://"))


def sqlite_file(location: str | Path) -> str:
    """The file (or ``:memory:``) of a SQLite location: a path or a ``sqlite:///`` URL."""
    text = str(location)
    if text.startswith("sqlite:///"):
        return text.removeprefix("sqlite:///") or ":memory:"
    if text in ("sqlite://", ""):
        return ":memory:"
    return text


class Database:
    """One connection to the database, held for the life of a ``Store``.

    Statements run in autocommit unless inside ``begin()`` ... ``commit()``; the
    ``Store`` decides when a write transaction starts and how it waits for its turn.

    PostgreSQL: a connection the server dropped (a restart, a failover) is replaced on
    the next use. A read (``SELECT``) or a ``BEGIN`` outside a transaction is tried once
    more on the new connection; anything else that met the drop (a write, or any
    statement of a transaction, whose ``COMMIT`` may or may not have landed) raises
    ``DatabaseUnavailable`` and is never repeated here: its caller resends it with the
    same request token. SQLite files are never dropped, and get none of this.
    """

    def __init__(self, engine: Engine, dialect: Dialect):
        self.engine = engine
        self.dialect = dialect
        self._conn: Connection = engine.connect()  # the engine is in autocommit mode
        self._dropped = False  # the server dropped ``_conn``; connect again before use
        self.in_transaction = False
        self._savepoints = 0
        self._live_savepoints: set[str] = set()  # those of the current connection

    # -- statements ----------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> CursorResult:
        native, values = self._native(sql), tuple(params or ())
        return self._reconnecting(lambda: self._conn.exec_driver_sql(native, values), _is_read(sql))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [tuple(r) for r in rows]
        if rows:
            native = self._native(sql)
            self._reconnecting(lambda: self._conn.exec_driver_sql(native, rows), False)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Rows as dicts, read through the driver's cursor directly (one layer less per
        read; the Compare page reads a few dozen times per answer). A driver error is
        raised as SQLAlchemy's, as for writes."""
        return self._reconnecting(lambda: self._query(sql, params), _is_read(sql))

    def _query(self, sql: str, params: Sequence[Any] | None) -> list[dict[str, Any]]:
        native, values = self._native(sql), tuple(params or ())
        cursor = self.driver_connection.cursor()
        try:
            cursor.execute(native, values)
            rows = cursor.fetchall()
            keys = [column[0] for column in cursor.description]
        except self.engine.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                native, values, exc, self.engine.dialect.loaded_dbapi.Error
            ) from exc
        finally:
            cursor.close()
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def insert(self, table: str, row: dict[str, Any]) -> int:
        """Insert one row and return its ``id``."""
        columns = list(row)
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))}) RETURNING id"
        )
        return int(self.execute(sql, [row[c] for c in columns]).scalar_one())

    def insert_all(self, table: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = list(rows[0])
        self.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            ([r[c] for c in columns] for r in rows),
        )

    def upsert_all(self, table: str, rows: list[dict[str, Any]], key: Sequence[str]) -> None:
        """Insert ``rows``; a row whose ``key`` exists replaces that row's other columns."""
        if not rows:
            return
        columns = list(rows[0])
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        self.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}",
            ([r[c] for c in columns] for r in rows),
        )

    def get_or_insert(self, table: str, key: dict[str, Any], extra: dict[str, Any]) -> int:
        """The ``id`` of the row matching ``key`` (a unique column set), inserting it
        with ``extra`` first if there is none: the engine's ``ON CONFLICT DO NOTHING``,
        so two writers at once cannot both insert."""
        row = {**key, **extra}
        columns = list(row)
        inserted = self.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT ({', '.join(key)}) DO NOTHING RETURNING id",
            [row[c] for c in columns],
        ).scalar_one_or_none()
        if inserted is not None:
            return int(inserted)
        where = " AND ".join(f"{c} = ?" for c in key)
        return int(
            self.execute(f"SELECT id FROM {table} WHERE {where}", list(key.values())).one()[0]
        )

    def tables(self) -> list[str]:
        return sorted(sa.inspect(self._conn).get_table_names())

    def columns(self, table: str) -> list[str]:
        return [c["name"] for c in sa.inspect(self._conn).get_columns(table)]

    @property
    def driver_connection(self) -> Any:
        """The driver's own connection (``sqlite3.Connection`` or ``psycopg.Connection``)."""
        return self._conn.connection.driver_connection

    # -- transactions --------------------------------------------------------------------

    def begin(self, statement: str = "BEGIN") -> None:
        # nothing was asked of the server yet: safe to repeat on a new connection
        self._reconnecting(lambda: self._conn.exec_driver_sql(statement), True)
        self.in_transaction = True

    def commit(self) -> None:
        try:
            self._reconnecting(lambda: self._conn.exec_driver_sql("COMMIT"), False)
        finally:
            self.in_transaction = False

    def rollback(self) -> None:
        self.in_transaction = False
        if self._dropped:
            return  # the server already rolled back the transaction of a lost connection
        self._conn.exec_driver_sql("ROLLBACK")

    def savepoint(self) -> str:
        self._savepoints += 1
        name = f"sp_{self._savepoints}"
        self._reconnecting(lambda: self._conn.exec_driver_sql(f"SAVEPOINT {name}"), False)
        self._live_savepoints.add(name)
        return name

    def release(self, name: str) -> None:
        self._live_savepoints.discard(name)
        self._conn.exec_driver_sql(f"RELEASE SAVEPOINT {name}")

    def rollback_to(self, name: str) -> None:
        if name not in self._live_savepoints:
            return  # it went with a dropped connection, and its transaction with it
        self._live_savepoints.discard(name)
        self._conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {name}")
        self._conn.exec_driver_sql(f"RELEASE SAVEPOINT {name}")

    def close(self) -> None:
        if self.in_transaction:
            self.rollback()
        self._conn.close()

    # -- a connection the server dropped -------------------------------------------------

    def _reconnecting(self, run: Callable[[], T], repeatable: bool) -> T:
        """``run()``; on PostgreSQL, after a dropped connection, on a new one (see the
        class's note): once more when ``repeatable`` and no transaction was open, else
        ``DatabaseUnavailable``."""
        if self.dialect.name != "postgresql":
            return run()
        if self._dropped:
            self._connect_again(NOT_REACHABLE if repeatable else NOT_SAVED)
        try:
            return run()
        except DBAPIError as exc:
            if not self._was_dropped(exc):
                raise
            in_transaction = self.in_transaction
            self._forget_connection()
            if not repeatable or in_transaction:
                raise DatabaseUnavailable(NOT_SAVED) from exc
            self._connect_again(NOT_REACHABLE)
            try:
                return run()
            except DBAPIError as again:
                if self._was_dropped(again):
                    self._forget_connection()
                    raise DatabaseUnavailable(NOT_REACHABLE) from again
                raise

    def _was_dropped(self, exc: DBAPIError) -> bool:
        if exc.connection_invalidated:
            return True
        try:
            driver = self.driver_connection
        except Exception:  # SQLAlchemy already let go of it
            return True
        return bool(driver.closed or getattr(driver, "broken", False))

    def _forget_connection(self) -> None:
        """Give the dead connection back to the pool as invalid; its transaction, and
        every savepoint in it, ended with it on the server."""
        self._dropped = True
        self.in_transaction = False
        self._live_savepoints.clear()
        with contextlib.suppress(Exception):
            self._conn.invalidate()
        with contextlib.suppress(Exception):
            self._conn.close()

    def _connect_again(self, message: str) -> None:
        try:
            self._conn = self.engine.connect()  # pool_pre_ping: a live connection or none
        except DBAPIError as exc:
            raise DatabaseUnavailable(message) from exc
        self._dropped = False

    def _native(self, sql: str) -> str:
        return sql if self.dialect.name == "sqlite" else _pyformat(sql)


def _is_read(sql: str) -> bool:
    """A statement that changes nothing, so may be sent again after a dropped connection."""
    return sql.lstrip().upper().startswith("SELECT")


@functools.lru_cache(maxsize=4096)
def _pyformat(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (and a literal ``%`` doubled), leaving
    quoted text alone."""
    parts = re.split(r"('(?:[^']|'')*')", sql)
    for i in range(0, len(parts), 2):  # even parts are outside quotes
        parts[i] = parts[i].replace("%", "%%").replace("?", "%s")
    return "".join(parts)


# -- opening -------------------------------------------------------------------------------


def connect(location: str | Path) -> Database:
    """Open ``location`` with the project's settings and every migration applied."""
    try:
        db = _open_postgres(str(location)) if is_postgres_url(location) else _open_sqlite(location)
    except DBAPIError as exc:
        raise DatabaseUnavailable(
            f"Cannot open the database at {safe_location(location)}: {exc.orig}"
        ) from exc
    try:
        migrate(db)
    except BaseException:
        db.close()
        raise
    return db


def _open_sqlite(location: str | Path) -> Database:
    path = sqlite_file(location)
    in_memory = path == ":memory:"
    if not in_memory:
        if Path(path).is_dir():
            raise DatabaseUnavailable(f"{path} is a folder, not a database file.")
        Path(path).parent.mkdir(parents=True, exist_ok=True)

    def creator() -> sqlite3.Connection:
        # isolation_level=None: the driver never begins on its own; the Store does
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, check_same_thread=False, isolation_level=None
        )
        conn.execute("PRAGMA foreign_keys = ON")
        if not in_memory:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    engine = sa.create_engine(
        "sqlite://", creator=creator, poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        return Database(engine, Dialect("sqlite"))
    except DBAPIError as exc:
        raise DatabaseUnavailable(f"Cannot open the database at {path}: {exc.orig}") from exc


_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _postgres_engine(url: str) -> Engine:
    """One pool per server and process: every Streamlit session and worker thread
    checks a connection out for its ``Store`` and gives it back on close."""
    with _ENGINES_LOCK:
        if url not in _ENGINES:
            driver_url = re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql+psycopg://", url)
            _ENGINES[url] = sa.create_engine(
                driver_url,
                isolation_level="AUTOCOMMIT",
                pool_size=10,
                max_overflow=90,
                pool_pre_ping=True,
            )
        return _ENGINES[url]


def _forget_inherited_engines() -> None:
    """In a forked child: the parent's pooled connections are the parent's sockets.
    Leave them to it (``close=False``) and open new ones here."""
    for engine in _ENGINES.values():
        engine.dispose(close=False)
    _ENGINES.clear()


os.register_at_fork(after_in_child=_forget_inherited_engines)


def dispose(url: str) -> None:
    """Close every pooled connection to ``url`` (a dropped test database, the end of a
    migration)."""
    if is_postgres_url(url):
        with _ENGINES_LOCK:
            engine = _ENGINES.pop(url, None)
        if engine is not None:
            engine.dispose()


def _open_postgres(url: str) -> Database:
    return Database(_postgres_engine(url), Dialect("postgresql"))


def safe_location(location: str | Path) -> str:
    """A location fit for a message: a URL's password is never shown."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", str(location))


# -- migrations ----------------------------------------------------------------------------

# An arbitrary fixed key: PostgreSQL sessions migrating at once take turns on it.
_MIGRATION_LOCK = 716_290_115


def schema_version(db: Database) -> int:
    """SQLite keeps it in ``PRAGMA user_version``; PostgreSQL in a one-row table."""
    if db.dialect.name == "sqlite":
        return int(db.execute("PRAGMA user_version").scalar_one())
    if db.execute("SELECT to_regclass('schema_version')").scalar_one() is None:
        return 0
    return int(db.execute("SELECT MAX(version) FROM schema_version").scalar_one() or 0)


def migrate(db: Database) -> list[int]:
    """Apply every migration newer than the database, each in one transaction with the
    new version number; return the numbers applied. A process killed half-way through
    one leaves the database as it was before that migration (both engines roll an
    unfinished transaction back, DDL included), and the next open applies it again."""
    applied = []
    for migration in MIGRATIONS:
        if migration.number <= schema_version(db):
            continue
        if db.dialect.name == "sqlite":
            db.begin("BEGIN IMMEDIATE")
        else:
            db.begin()
            db.execute(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
        try:
            # Re-check under the lock: another process may have just migrated.
            if migration.number > schema_version(db):
                point = f"migration-{migration.number}"
                if db.dialect.name == "sqlite":
                    for k, statement in enumerate(_split_statements(migration.sqlite), 1):
                        pause_point(f"{point}-statement-{k}")
                        db.execute(statement)
                else:  # a whole script (function bodies hold ';'), no parameters
                    pause_point(f"{point}-statement-1")
                    db.driver_connection.execute(migration.postgresql)
                pause_point(f"{point}-before-version")
                _set_version(db, migration.number)
                pause_point(f"{point}-before-commit")
                applied.append(migration.number)
            db.commit()
        except BaseException:
            db.rollback()
            raise
    return applied


def _set_version(db: Database, number: int) -> None:
    if db.dialect.name == "sqlite":
        db.execute(f"PRAGMA user_version = {number}")
    else:
        db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        db.execute("DELETE FROM schema_version")
        db.execute("INSERT INTO schema_version (version) VALUES (?)", [number])


def _split_statements(sql: str) -> list[str]:
    """Split a SQLite migration script into complete statements (triggers hold ';')."""
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        if line.strip().startswith("--") and not buffer.strip():
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
