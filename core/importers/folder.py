"""Import a folder (recursively) of PNG / JPEG / TIFF / BMP / DICOM files, with an
optional manifest. Every file ends as imported, duplicate or rejected with a reason;
one bad file never stops the batch."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path

from core.imaging import ImageRejected, decode_raster, remove_stale_parts
from core.imaging.dicom import decode_dicom
from core.store import Store

from .ingest import ImageFacts, ingest, stop_if_disk_full
from .manifest import ManifestRow, read_manifest
from .report import ImportReport

RASTER_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
DICOM_SUFFIXES = {".dcm", ".dicom", ".dic"}
Progress = Callable[[int, int], None]


def import_folder(
    store: Store,
    root: str | Path,
    dataset: str,
    manifest: str | Path | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import every image below ``root`` into ``dataset``.

    Raises ``FileNotFoundError`` for a missing root and ``ManifestError`` for an
    unusable manifest, before anything is written.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"The folder {root} does not exist.")
    rows = read_manifest(Path(manifest)) if manifest else {}
    skip = {Path(manifest).resolve()} if manifest else set()
    if root.is_dir():
        files = sorted(p for p in walk_images(root) if p.resolve() not in skip)
    else:
        files = [root]
    return import_files(
        store, root if root.is_dir() else root.parent, files, dataset, rows, progress
    )


def import_files(
    store: Store,
    root: Path,
    files: Iterable[Path],
    dataset: str,
    manifest_rows: dict[str, ManifestRow] | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    remove_stale_parts(store.media_root)  # left by an import that was killed
    dataset_id = store.datasets.ensure(dataset, source=str(root))
    manifest_rows = dict(manifest_rows or {})
    report = ImportReport()
    files = [f for p in files for f in (walk_images(p) if p.is_dir() else [p])]
    real_root = root.resolve()
    for done, path in enumerate(files, start=1):
        relative = relative_name(path, root)
        row = manifest_rows.pop(relative, None)
        _import_one(store, dataset_id, real_root, path, relative, row, report)
        if progress:
            progress(done, len(files) + len(manifest_rows))
    for relative, row in manifest_rows.items():  # listed, but no such file was found
        reason = "listed in the manifest but not found in the folder"
        if not is_inside(real_root, root / relative):
            reason = "the manifest path leads outside the import folder; it was not read"
        report.add(relative, "rejected", f"manifest line {row.line}: {reason}")
    return report


def _import_one(
    store: Store,
    dataset_id: int,
    real_root: Path,
    path: Path,
    relative: str,
    row: ManifestRow | None,
    report: ImportReport,
) -> None:
    if not is_inside(real_root, path):
        report.add(
            relative,
            "rejected",
            "the path leads outside the import folder (a link or '..'); it was not read",
        )
        return
    if row is not None and row.facts is None:
        report.add(relative, "rejected", row.problem)
        return
    try:
        decoded, facts = _decode(store, path, relative, row.facts if row else None)
        image_id, created = ingest(store, dataset_id, decoded, facts)
    except ImageRejected as exc:
        report.add(relative, "rejected", str(exc))
    except MemoryError:
        report.add(relative, "rejected", "the image is too large to open on this machine")
    except Exception as exc:  # one unexpected failure must not stop the batch ...
        stop_if_disk_full(exc, relative, report)  # ... but a full disk stops every one
        report.add(relative, "rejected", f"unexpected problem while reading: {exc}")
    else:
        report.add(
            relative,
            "imported" if created else "duplicate",
            "" if created else "the same image is already stored",
            image_id,
        )


def _decode(store: Store, path: Path, relative: str, facts: ImageFacts | None):
    facts = facts or ImageFacts()
    if is_dicom(path):
        dicom = decode_dicom(path)
        patient = facts.patient_source_id or dicom.patient_source_id
        visit_date = facts.visit_date
        if visit_date is None and dicom.study_date and patient:
            # Header dates are identifying: shift them by a stable per-patient offset,
            # which keeps the intervals between one patient's visits.
            shift = store.patients.date_shift_days(patient)
            visit_date = (dicom.study_date - timedelta(days=shift)).isoformat()
        facts = ImageFacts(
            **{
                **facts.__dict__,
                "patient_source_id": patient,
                "visit_date": visit_date,
                "laterality": facts.laterality or dicom.laterality,
                "source": redact(relative, [*dicom.identifiers, patient or ""]),
            }
        )
        return dicom.image, facts
    if path.suffix.lower() in RASTER_SUFFIXES:
        decoded = decode_raster(path)
        identifiers = [facts.patient_source_id] if facts.patient_source_id else []
        return decoded, ImageFacts(**{**facts.__dict__, "source": redact(relative, identifiers)})
    raise ImageRejected(
        f"'{path.suffix or 'no extension'}' is not an image type this app imports "
        "(PNG, JPEG, TIFF, BMP or DICOM)."
    )


def redact(text: str, identifiers: list[str]) -> str:
    """Remove identifying values (patient id, name parts) from a path before storing it."""
    for value in sorted({v for v in identifiers if v and len(v) >= 2}, key=len, reverse=True):
        text = text.replace(value, "[redacted]")
    return text


def is_dicom(path: Path) -> bool:
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    if path.suffix.lower() in RASTER_SUFFIXES:
        return False
    try:
        with path.open("rb") as handle:
            return handle.read(132)[128:132] == b"DICM"
    except OSError:
        return False


def walk_images(root: Path) -> list[Path]:
    """Files below ``root``. Symlinked folders are not followed; symlinked files are
    listed so that they can be refused, with a reason, when they lead outside."""
    return [
        Path(folder) / name
        for folder, _, names in os.walk(root, followlinks=False)
        for name in names
    ]


def is_inside(real_root: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(real_root)
    except OSError:
        return False


def relative_name(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
