"""A backup of the study as one SQLite file, complete and verified or absent.

It is written to ``NAME.part`` beside the target (SQLite's online backup API, a few
megabytes at a time; from PostgreSQL, every table copied in one snapshot), checked
(``integrity_check``, ``foreign_key_check``, the schema version), flushed to the disk and
only then renamed to ``NAME``: a backup killed or failing half-way (a full disk) never
leaves a file under the final name, and a leftover ``.part`` is replaced next time."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from .database import schema_version
from .errors import StorageFull, StoreError, is_disk_full
from .faults import pause_point

if TYPE_CHECKING:
    from .store import Store

PAGES_PER_STEP = 1024  # SQLite pages copied per step (4 MiB with the default page size)


class BackupFailed(StoreError):
    """The copy did not pass its checks; no backup file was left."""


def write_backup(store: Store, target: str | Path) -> Path:
    """Back ``store`` up to ``target`` (whole and verified, or nothing); returns it."""
    target = Path(target)
    if target.is_dir():
        raise ValueError(f"{target} is a folder; give the backup file to write.")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    _remove(part)  # a killed backup's leftover
    try:
        _copy(store, part)
        pause_point("backup-before-verify")
        _verify(part, schema_version(store.db))
        _fsync(part)
        pause_point("backup-before-rename")
        os.replace(part, target)
        _fsync(target.parent)  # the rename itself survives a power cut
    except BaseException as exc:
        _remove(part)
        if is_disk_full(exc):
            raise StorageFull(
                f"The disk holding {target.parent} is full: the backup {target.name} was not "
                "written (nothing partial was left)."
            ) from exc
        raise
    return target


def _copy(store: Store, part: Path) -> None:
    if store.is_postgres:
        from .copy import copy_database
        from .store import Store as TargetStore

        with TargetStore(part, media_root=store.media_root) as target:
            copy_database(store, target)
    else:
        destination = sqlite3.connect(str(part))
        try:
            store.db.driver_connection.backup(
                destination, pages=PAGES_PER_STEP, progress=lambda *_: pause_point("backup-step")
            )
        finally:
            destination.close()
    # the copy has the study's WAL mode: make it one self-contained file
    written = sqlite3.connect(str(part))
    try:
        written.execute("PRAGMA journal_mode = DELETE")
    finally:
        written.close()


def _verify(part: Path, expected_version: int) -> None:
    copy = sqlite3.connect(f"file:{part}?mode=ro", uri=True)
    try:
        problems = [r[0] for r in copy.execute("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [
            f"{r[0]} row {r[1]} points to a missing {r[2]} row"
            for r in copy.execute("PRAGMA foreign_key_check")
        ]
        version = copy.execute("PRAGMA user_version").fetchone()[0]
    finally:
        copy.close()
    if version != expected_version:
        problems.append(f"schema version {version}, not {expected_version}")
    if problems:
        raise BackupFailed(f"The backup copy failed its checks: {'; '.join(problems[:5])}.")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(part: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        part.with_name(part.name + suffix).unlink(missing_ok=True)
