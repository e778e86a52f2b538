"""One file of an import, up to its pixels on disk: checked, decoded, de-identified and
written to the media folder. Runs in the importing process or in a decoding process
(``core.importers.parallel``), so it takes and returns plain data and never touches the
database; what needs the study's salt (a DICOM date's shift) is left to the caller."""

from __future__ import annotations

import errno
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from core.imaging import ImageRejected, decode_raster
from core.imaging.dicom import decode_dicom
from core.store.errors import is_disk_full

from .ingest import ImageFacts, StoredPixels, store_pixels

RASTER_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
DICOM_SUFFIXES = {".dcm", ".dicom", ".dic"}


@dataclass(frozen=True)
class FileTask:
    path: Path
    relative: str  # the name in the report: the path relative to the import folder
    real_root: Path  # the import folder, symlinks resolved: nothing outside it is read
    media_root: Path
    facts: ImageFacts | None  # from the manifest, if it lists the file
    problem: str = ""  # the manifest's line for this file was invalid: why


@dataclass(frozen=True)
class PreparedFile:
    relative: str
    stored: StoredPixels | None = None  # None: rejected (``problem``) or the disk is full
    facts: ImageFacts | None = None
    study_date: date | None = None  # a DICOM header's date, to be shifted by the caller
    problem: str = ""
    disk_full: OSError | None = None  # the write failed for want of space: stop there


def prepare_file(task: FileTask) -> PreparedFile:
    """``task``'s pixels stored, or why not; never raises for a bad file."""
    if not is_inside(task.real_root, task.path):
        problem = "the path leads outside the import folder (a link or '..'); it was not read"
        return PreparedFile(task.relative, problem=problem)
    if task.problem:
        return PreparedFile(task.relative, problem=task.problem)
    try:
        decoded, facts, study_date = decode_file(task.path, task.relative, task.facts)
        stored = store_pixels(task.media_root, decoded)
    except ImageRejected as exc:
        return PreparedFile(task.relative, problem=str(exc))
    except MemoryError:
        problem = "the image is too large to open on this machine"
        return PreparedFile(task.relative, problem=problem)
    except Exception as exc:  # one unexpected failure must not stop the batch ...
        if is_disk_full(exc):  # ... but a full disk stops every one (the caller stops)
            return PreparedFile(task.relative, disk_full=OSError(errno.ENOSPC, str(exc)))
        problem = f"unexpected problem while reading: {exc}"
        return PreparedFile(task.relative, problem=problem)
    return PreparedFile(task.relative, stored, facts, study_date)


def decode_file(path: Path, relative: str, facts: ImageFacts | None):
    """The file's display pixels, its facts with the source path de-identified, and a
    DICOM header's study date (``None`` where the manifest gave the visit date)."""
    facts = facts or ImageFacts()
    if is_dicom(path):
        dicom = decode_dicom(path)
        patient = facts.patient_source_id or dicom.patient_source_id
        facts = replace(
            facts,
            patient_source_id=patient,
            laterality=facts.laterality or dicom.laterality,
            source=redact(relative, [*dicom.identifiers, patient or ""]),
        )
        header_date = dicom.study_date if facts.visit_date is None and patient else None
        return dicom.image, facts, header_date
    if path.suffix.lower() in RASTER_SUFFIXES:
        decoded = decode_raster(path)
        identifiers = [facts.patient_source_id] if facts.patient_source_id else []
        return decoded, replace(facts, source=redact(relative, identifiers)), None
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


def is_inside(real_root: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(real_root)
    except OSError:
        return False
