"""Import a folder (recursively) of PNG / JPEG / TIFF / BMP / DICOM files, with an
optional manifest. Every file ends as imported, duplicate or rejected with a reason;
one bad file never stops the batch.

Files are decoded and their pixels written in worker processes when there are many
(``core.importers.parallel``), and their rows written a batch at a time
(``core.importers.ingest.RowBatch``); the report lists the files in their order either
way. Importing the same folder again, after a kill or to add files, stores only what is
not there yet."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from core.imaging import remove_stale_parts
from core.store import Store

from .ingest import RowBatch
from .manifest import ManifestRow, read_manifest
from .parallel import DecodingStopped, import_workers, in_order
from .prepare import (
    DICOM_SUFFIXES,
    RASTER_SUFFIXES,
    FileTask,
    PreparedFile,
    is_dicom,
    is_inside,
    prepare_file,
    redact,
)
from .report import ImportReport

__all__ = [
    "DICOM_SUFFIXES",
    "RASTER_SUFFIXES",
    "import_files",
    "import_folder",
    "is_dicom",
    "is_inside",
    "redact",
    "relative_name",
    "walk_images",
]

Progress = Callable[[int, int], None]


def import_folder(
    store: Store,
    root: str | Path,
    dataset: str,
    manifest: str | Path | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> ImportReport:
    """Import every image below ``root`` into ``dataset``.

    Raises ``FileNotFoundError`` for a missing root and ``ManifestError`` for an
    unusable manifest, before anything is written. ``workers``: decoding processes
    (0: decode here); by default as many as the cores and memory allow for a large
    import, none for a small one (``parallel.import_workers``).
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"The folder {root} does not exist.")
    rows = read_manifest(Path(manifest)) if manifest else {}
    skip = Path(manifest).resolve() if manifest else None
    if root.is_dir():  # the manifest itself is not an image (resolving every path is slow)
        files = sorted(
            p
            for p in walk_images(root)
            if skip is None or p.name != skip.name or p.resolve() != skip
        )
    else:
        files = [root]
    return import_files(
        store, root if root.is_dir() else root.parent, files, dataset, rows, progress, workers
    )


def import_files(
    store: Store,
    root: Path,
    files: Iterable[Path],
    dataset: str,
    manifest_rows: dict[str, ManifestRow] | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> ImportReport:
    remove_stale_parts(store.media_root)  # left by an import that was killed
    dataset_id = store.datasets.ensure(dataset, source=str(root))
    unmatched = dict(manifest_rows or {})
    report = ImportReport()
    real_root = root.resolve()
    tasks = []
    for path in (f for p in files for f in (walk_images(p) if p.is_dir() else [p])):
        relative = relative_name(path, root)
        row = unmatched.pop(relative, None)
        facts, problem = (row.facts, row.problem) if row else (None, "")
        tasks.append(FileTask(path, relative, real_root, store.media_root, facts, problem))
    total = len(tasks) + len(unmatched)
    batch = RowBatch(store, dataset_id, report)
    workers = import_workers(len(tasks)) if workers is None else workers
    with contextlib.closing(in_order(prepare_file, tasks, workers)) as prepared:
        try:
            for done, file in enumerate(prepared, start=1):
                _take(store, batch, file)
                if progress:
                    progress(done, total)
        except DecodingStopped:
            batch.flush()  # the files before it are kept
            raise
    for relative, row in unmatched.items():  # listed, but no such file was found
        reason = "listed in the manifest but not found in the folder"
        if not is_inside(real_root, root / relative):
            reason = "the manifest path leads outside the import folder; it was not read"
        batch.reject(relative, f"manifest line {row.line}: {reason}")
    batch.flush()
    return report


def _take(store: Store, batch: RowBatch, file: PreparedFile) -> None:
    if file.disk_full is not None:
        batch.stop_if_disk_full(file.disk_full, file.relative)  # raises StorageFull
    if file.stored is None or file.facts is None:
        batch.reject(file.relative, file.problem)
        return
    facts = file.facts
    if file.study_date is not None and facts.patient_source_id:
        # Header dates are identifying: shift them by a stable per-patient offset,
        # which keeps the intervals between one patient's visits.
        shift = store.patients.date_shift_days(facts.patient_source_id)
        visit_date = (file.study_date - timedelta(days=shift)).isoformat()
        facts = replace(facts, visit_date=visit_date)
    batch.add(file.relative, file.stored, facts)


def walk_images(root: Path) -> list[Path]:
    """Files below ``root``. Symlinked folders are not followed; symlinked files are
    listed so that they can be refused, with a reason, when they lead outside."""
    return [
        Path(folder) / name
        for folder, _, names in os.walk(root, followlinks=False)
        for name in names
    ]


def relative_name(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
