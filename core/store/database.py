"""Opening a SQLite database the one way this project does it: WAL, foreign keys on,
a busy timeout, and every pending migration applied, each in its own transaction."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from .errors import DatabaseUnavailable
from .migrations import MIGRATIONS

BUSY_TIMEOUT_S = 15.0


def connect(path: str | Path) -> sqlite_utils.Database:
    """Open ``path`` (or ``":memory:"``) with the project's pragmas and migrations applied."""
    try:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        db = sqlite_utils.Database(conn, execute_plugins=False)
        db.execute("PRAGMA foreign_keys = ON")
        if str(path) != ":memory:":
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
        migrate(db)
    except sqlite3.DatabaseError as exc:
        raise DatabaseUnavailable(f"Cannot open the database at {path}: {exc}") from exc
    return db


def schema_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite_utils.Database) -> list[int]:
    """Apply every migration newer than the database; return the numbers applied."""
    applied = []
    for number, _name, sql in MIGRATIONS:
        if number <= schema_version(db):
            continue
        conn = db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-check under the write lock: another process may have just migrated.
            if number > schema_version(db):
                for statement in _split_statements(sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
                applied.append(number)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return applied


def _split_statements(sql: str) -> list[str]:
    """Split a migration script into complete statements (triggers contain ';')."""
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
