"""What researchers take away, for study leads only (the pages check the role):

- every judgment row, append-only history included, as CSV or Parquet, and a copy of
  the whole database (``judgments``);
- a version's scores, embeddings, trend calls and projections as CSV or Parquet, read in
  one snapshot and streamed (``version_tables``; columns in ``tables``);
- a model card per version in Markdown (``card``, from ``card_facts``);
- an export written to the study's exports folder for the Data page's download
  (``downloads``: Streamlit holds a download in memory, so large files stay on disk).

Text cells are spreadsheet-safe in every export (``spreadsheet``). The names below load
their module (and pandas, pyarrow) on first use only."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .names import BATCH_ROWS, FORMATS, WHATS

if TYPE_CHECKING:
    from .card import model_card, model_card_bytes
    from .downloads import DOWNLOAD_LIMIT_BYTES, PreparedExport, prepare_export
    from .judgments import database_backup, judgments_csv, judgments_frame, judgments_parquet
    from .spreadsheet import neutralise_formulas, spreadsheet_safe, table_csv
    from .tables import dtypes
    from .version_tables import (
        ExportReport,
        ExportUnavailable,
        export_bytes,
        export_version_table,
    )

_MODULE_OF = {
    "DOWNLOAD_LIMIT_BYTES": "downloads",
    "PreparedExport": "downloads",
    "prepare_export": "downloads",
    "database_backup": "judgments",
    "judgments_csv": "judgments",
    "judgments_frame": "judgments",
    "judgments_parquet": "judgments",
    "model_card": "card",
    "model_card_bytes": "card",
    "neutralise_formulas": "spreadsheet",
    "spreadsheet_safe": "spreadsheet",
    "table_csv": "spreadsheet",
    "dtypes": "tables",
    "ExportReport": "version_tables",
    "ExportUnavailable": "version_tables",
    "export_bytes": "version_tables",
    "export_version_table": "version_tables",
}

__all__ = [
    "BATCH_ROWS",
    "DOWNLOAD_LIMIT_BYTES",
    "FORMATS",
    "WHATS",
    "ExportReport",
    "ExportUnavailable",
    "PreparedExport",
    "database_backup",
    "dtypes",
    "export_bytes",
    "export_version_table",
    "judgments_csv",
    "judgments_frame",
    "judgments_parquet",
    "model_card",
    "model_card_bytes",
    "neutralise_formulas",
    "prepare_export",
    "spreadsheet_safe",
    "table_csv",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
