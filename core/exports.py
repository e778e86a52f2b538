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
    ]
    frame = pd.DataFrame(store.judgments.export_rows(), columns=columns)
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].map(neutralise_formulas)
    return frame


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
