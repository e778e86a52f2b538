"""``kill -9`` at a named point of a child process (``core.store.faults``): the kill
tests and the fault benchmark share it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys

import psycopg

from core.paths import PROJECT_ROOT
from core.store import database
from core.store.faults import ANNOUNCE, POINT_ENV

TIMEOUT_S = 120


def kill_at(point: str, script: str, *args: str) -> list[str]:
    """Run ``python -c script args...`` and SIGKILL it when it reaches ``point``; return
    the points it passed. Raises ``AssertionError`` if it ends without reaching it."""
    child = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, POINT_ENV: point},
        stderr=subprocess.PIPE,
        text=True,
    )
    passed: list[str] = []
    try:
        assert child.stderr is not None
        for line in child.stderr:
            if line.startswith(ANNOUNCE):
                passed.append(line.split()[1])
                if passed[-1] == point:
                    child.send_signal(signal.SIGKILL)
                    break
        child.wait(TIMEOUT_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if not passed or passed[-1] != point or child.returncode != -signal.SIGKILL:
        raise AssertionError(f"the child never reached {point}; it passed {passed[-5:]}")
    return passed


# what the child runs: open (and so migrate) a database; back one up
OPEN = "import sys; from core.store import Store; Store(sys.argv[1]).close()"
BACKUP = (
    "import sys; from core.store import Store\n"
    "with Store(sys.argv[1]) as s: s.backup_to(sys.argv[2])"
)


def describe_schema(location: str) -> tuple[int, list[tuple]]:
    """(schema version, a description of every table, column, index, view, trigger and
    constraint), read without the store (which would migrate)."""
    if database.is_postgres_url(location):
        with psycopg.connect(location) as conn:
            has_version = conn.execute("SELECT to_regclass('schema_version')").fetchone()[0]
            version = (
                conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
                if has_version
                else 0
            )
            described = conn.execute(
                """SELECT 'column', table_name::text, column_name::text,
                          data_type || ' ' || is_nullable || ' ' || COALESCE(column_default, '')
                   FROM information_schema.columns WHERE table_schema = 'public'
                   UNION ALL
                   SELECT 'index', tablename::text, indexname::text, indexdef
                   FROM pg_indexes WHERE schemaname = 'public'
                   UNION ALL
                   SELECT 'constraint', conrelid::regclass::text, conname::text,
                          pg_get_constraintdef(oid)
                   FROM pg_constraint WHERE connamespace = 'public'::regnamespace
                   UNION ALL
                   SELECT 'view', table_name::text, '', view_definition
                   FROM information_schema.views WHERE table_schema = 'public'
                   ORDER BY 1, 2, 3, 4"""
            ).fetchall()
        return int(version or 0), [tuple(r) for r in described]
    conn = sqlite3.connect(database.sqlite_file(location))
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        described = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master "
            "WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        ).fetchall()
    finally:
        conn.close()
    return version, [tuple(r) for r in described]
