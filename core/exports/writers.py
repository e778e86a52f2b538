"""A CSV or Parquet file written one batch at a time, whole or not at all: batches go
to ``NAME.part``, which replaces ``NAME`` only once the last one is written, so an export
that fails half-way leaves no half file behind. Parquet gets one row group per batch
(pyarrow's ``ParquetWriter``), CSV one header and the rows (pyarrow's ``CSVWriter``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from .names import FORMATS


class TableFile:
    def __init__(self, path: str | Path, file_format: str, schema: pa.Schema):
        if file_format not in FORMATS:
            raise ValueError(
                f"Unknown format {file_format!r}; expected one of {', '.join(FORMATS)}."
            )
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(f"{self.path} is a folder; give the file to write.")
        self.format = file_format
        self.schema = schema
        self.rows = 0
        self._partial = self.path.with_name(self.path.name + ".part")
        self._writer: Any = None

    def __enter__(self) -> TableFile:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.format == "parquet":
            self._writer = pq.ParquetWriter(self._partial, self.schema)
        else:
            self._writer = pa_csv.CSVWriter(self._partial, self.schema)
        return self

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)
        self.rows += batch.num_rows

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            self._writer.close()
            if exc_type is None:
                os.replace(self._partial, self.path)
        finally:
            self._partial.unlink(missing_ok=True)
