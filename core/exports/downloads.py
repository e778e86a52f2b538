"""A version's export prepared for the browser (the Data page): written a batch at a time
to a file in the study's exports folder, then offered for download from that file when it
is small enough.

Streamlit 1.67 cannot stream a download: whatever a download button serves (bytes, a file
object or a callable's result) is read whole into the server's in-memory media store and
kept there until the session moves on. So the file is written first, in bounded memory,
and only a file up to ``DOWNLOAD_LIMIT_BYTES`` is handed to the browser; a larger one
(512-dimensional embeddings of a 100,000-image study are 283 MB as Parquet, 533 MB as
CSV) stays on the server, where the page says, beside the ``python -m core export``
command that writes it anywhere."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from core.store import Store

from .version_tables import export_version_table

# Streamlit's own advice is to keep a download "under a couple hundred megabytes"
DOWNLOAD_LIMIT_BYTES = 200 * 1024 * 1024
EXPORTS_FOLDER = "exports"


@dataclass(frozen=True)
class PreparedExport:
    path: Path  # the file on the server
    version: int
    what: str
    format: str
    rows: int
    size: int  # bytes

    @property
    def downloadable(self) -> bool:
        """Small enough for the browser download (which holds it in memory)."""
        return self.size <= DOWNLOAD_LIMIT_BYTES

    @property
    def command(self) -> str:
        """The command line that writes the same export anywhere, in bounded memory."""
        return (
            f"python -m core export --version {self.version} {self.what} "
            f"--format {self.format} --out {self.path.name}"
        )


def exports_folder(store: Store) -> Path:
    """``exports/`` beside the study's media folder: ``data/exports`` by default, with
    SQLite and PostgreSQL alike; beside ``$SEVERITY_MEDIA`` where that is set. Not inside
    the media folder, whose stale ``.part`` files imports sweep away."""
    return store.media_root.parent / EXPORTS_FOLDER


def export_file_name(version: int, what: str, file_format: str) -> str:
    return f"severity-v{version}-{what}.{file_format}"


def prepare_export(store: Store, version: int, what: str, file_format: str) -> PreparedExport:
    """Write export ``what`` of ``version`` into the exports folder, replacing an earlier
    one of the same name whole (two leads preparing it at once each write a file of their
    own first). Raises ``ExportUnavailable`` when the version has nothing of that kind."""
    target = exports_folder(store) / export_file_name(version, what, file_format)
    scratch = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    try:
        report = export_version_table(store, version, what, file_format, scratch)
        os.replace(scratch, target)
    finally:
        scratch.unlink(missing_ok=True)
    return PreparedExport(target, version, what, file_format, report.rows, target.stat().st_size)
