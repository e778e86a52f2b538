"""Exports for researchers: every judgment row (append-only history included) as CSV
or Parquet, and a consistent copy of the whole database. Pages offer them to study
leads only."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pandas as pd

from core.store import Store

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # OWASP: CSV injection


def neutralise_formulas(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe,
    as OWASP recommends; other values are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells a spreadsheet will not run as formulas."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise_formulas)
    return safe


def table_csv(frame: pd.DataFrame) -> bytes:
    return spreadsheet_safe(frame).to_csv(index=False).encode()


def judgments_frame(store: Store) -> pd.DataFrame:
    columns = [
        "id",
        "rater",
        "left_image_id",
        "right_image_id",
        "outcome",
        "created_at",
        "response_ms",
        "strategy",
        "comment",
        "supersedes",
        "repeat_of",
    ]
    return spreadsheet_safe(pd.DataFrame(store.judgments.export_rows(), columns=columns))


def judgments_csv(store: Store) -> bytes:
    return judgments_frame(store).to_csv(index=False).encode()


def judgments_parquet(store: Store) -> bytes:
    buffer = io.BytesIO()
    judgments_frame(store).to_parquet(buffer, index=False)
    return buffer.getvalue()


def database_backup(store: Store) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "backup.db"
        store.backup_to(target)
        return target.read_bytes()
