"""Every judgment row (append-only history included) as CSV or Parquet, and a
consistent copy of the whole database."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pandas as pd

from core.store import Store

from .spreadsheet import spreadsheet_safe

JUDGMENT_COLUMNS = [
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


def judgments_frame(store: Store) -> pd.DataFrame:
    rows = store.judgments.export_rows()
    return spreadsheet_safe(pd.DataFrame(rows, columns=JUDGMENT_COLUMNS))


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
