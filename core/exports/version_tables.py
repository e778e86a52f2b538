"""A version's results as data: its scores, embeddings, trend calls or projections as
CSV or Parquet, read in one consistent snapshot of the study and written a batch at a
time, so that a 100,000-image study exports in bounded memory (the Data page and
``python -m core export``)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.store import Store

from .names import BATCH_ROWS, FORMATS, WHATS
from .tables import arrow_schema, columns_of, record_batch
from .writers import TableFile


class ExportUnavailable(ValueError):
    """The version has nothing of that kind to export (yet); the message says why."""


@dataclass(frozen=True)
class ExportReport:
    path: Path
    version: int
    what: str
    format: str
    rows: int

    def summary(self) -> str:
        return (
            f"{self.what} of version {self.version}: {self.rows} rows written to "
            f"{self.path} ({self.format})"
        )


def export_version_table(
    store: Store,
    version: int,
    what: str,
    file_format: str,
    out: str | Path,
    batch_rows: int = BATCH_ROWS,
) -> ExportReport:
    """Write export ``what`` of version ``version`` into ``out`` (whole or not at all)."""
    if what not in WHATS:
        raise ValueError(f"Unknown export {what!r}; expected one of {', '.join(WHATS)}.")
    if file_format not in FORMATS:
        raise ValueError(f"Unknown format {file_format!r}; expected one of {', '.join(FORMATS)}.")
    if batch_rows < 1:
        raise ValueError("The rows written at a time (--batch-rows) must be at least 1.")
    with store.snapshot():
        model = store.models.by_version(version)
        _check_available(store, model, what)
        dims = store.version_rows.dimensions(model["id"]) if what == "embeddings" else None
        columns = columns_of(what, dims)
        schema = arrow_schema(columns)
        source = store.version_rows.columns(what)
        with TableFile(out, file_format, schema) as table:
            for rows in store.version_rows.batches(what, model["id"], batch_rows):
                table.write(record_batch(what, source, rows, version, columns, schema))
    return ExportReport(Path(out), version, what, file_format, table.rows)


def export_bytes(location: str, version: int, what: str, file_format: str) -> bytes:
    """The export as bytes, for a download button: read through a connection of its own
    (the button calls it on another thread) and streamed into a temporary file first."""
    with tempfile.TemporaryDirectory() as folder, Store(location) as store:
        target = Path(folder) / f"export.{file_format}"
        export_version_table(store, version, what, file_format, target)
        return target.read_bytes()


def _check_available(store: Store, model: dict, what: str) -> None:
    number = model["version"]
    if store.version_rows.count("embeddings", model["id"]) == 0:
        if model["status"] == "failed":
            why = "its training failed"
        elif model["status"] == "training":
            why = "it is still training"
        else:
            why = "its embed job has not finished"
        raise ExportUnavailable(f"Version {number} has no scores or embeddings yet: {why}.")
    if what == "projections" and store.version_rows.count("projections", model["id"]) == 0:
        why = f"its map failed ({model['error']})" if model["chain"] == "failed" else "not yet"
        raise ExportUnavailable(f"Version {number} has no projections: {why}.")
