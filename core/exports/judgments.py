"""Every judgment row (append-only history included) as CSV or Parquet, and a
consistent copy of the whole database."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pandas as pd

from core.store import Store

from .spreadsheet import spreadsheet_safe
from .tables import JUDGMENTS

JUDGMENT_COLUMNS = [column.name for column in JUDGMENTS]


def judgments_frame(store: Store) -> pd.DataFrame:
    """Every judgment row, with the documented dtypes (``tables.JUDGMENTS``)."""
    rows = store.judgments.export_rows()
    frame = spreadsheet_safe(pd.DataFrame(rows, columns=JUDGMENT_COLUMNS))
    return frame.astype({column.name: column.dtype for column in JUDGMENTS})


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
