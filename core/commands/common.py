"""Options shared by several commands."""

from __future__ import annotations

import argparse


def add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        help="SQLite file or postgresql:// URL (default: $SEVERITY_DB or data/app.db)",
    )
