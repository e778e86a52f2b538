"""Options and the opening of an existing study, shared by several commands."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.paths import resolve_db_path
from core.store import Store


def add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        help="SQLite file or postgresql:// URL (default: $SEVERITY_DB or data/app.db)",
    )


def existing_study(args: argparse.Namespace) -> Store:
    """The study's store; a SQLite file that is not there is an error (opening it would
    create an empty study)."""
    from core.store.database import is_postgres_url, sqlite_file

    location = resolve_db_path(args.db)
    if not is_postgres_url(location) and not Path(sqlite_file(location)).is_file():
        raise FileNotFoundError(
            f"There is no study database at {location} (give it with --db or $SEVERITY_DB)."
        )
    return Store(location)
