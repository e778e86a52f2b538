"""The optional manifest CSV that travels with an image folder.

Columns: ``file`` (required, relative to the folder) and any of ``patient_id``,
``visit_date`` (YYYY-MM-DD), ``visit_index``, ``laterality`` (L/R/B, OD/OS/OU),
``view``, ``grade`` (0 = normal), ``score``, ``split`` (train/val/test). Other
columns are kept as free metadata. A problem with the whole file is a
``ManifestError`` (nothing is imported); a problem with one row rejects that row's file.
Messages name lines and columns, never the file's contents.
"""

from __future__ import annotations

import csv
import io
import posixpath
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .ingest import ImageFacts

REQUIRED_COLUMNS = ("file",)
KNOWN_COLUMNS = (
    "file",
    "patient_id",
    "visit_date",
    "visit_index",
    "laterality",
    "view",
    "grade",
    "score",
    "split",
)
LATERALITY_WORDS = {
    "L": "L",
    "LEFT": "L",
    "OS": "L",
    "R": "R",
    "RIGHT": "R",
    "OD": "R",
    "B": "B",
    "BOTH": "B",
    "OU": "B",
}


class ManifestError(Exception):
    """The manifest as a whole cannot be used; the message says why."""


@dataclass
class ManifestRow:
    line: int
    file: str
    facts: ImageFacts | None  # None when the row is invalid
    problem: str = ""


def read_manifest(path: Path) -> dict[str, ManifestRow]:
    """Parse ``path``; keys are the ``file`` column normalised to forward slashes."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(
            f"The manifest {path.name} is not UTF-8 text (at byte {exc.start}). Save it as "
            "'CSV UTF-8' and try again; nothing was imported."
        ) from exc
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ManifestError(
            f"The manifest {path.name} is missing the required column(s): "
            f"{', '.join(missing)}. Its first line must be a header naming the columns "
            f"({', '.join(KNOWN_COLUMNS)}); nothing was imported."
        )
    rows: dict[str, ManifestRow] = {}
    for line, record in enumerate(reader, start=2):
        record = {(k or "").strip().lower(): (v or "").strip() for k, v in record.items()}
        file = record.get("file", "").replace("\\", "/")
        if not file:
            continue
        file = posixpath.normpath(file)
        if file in rows:
            raise ManifestError(
                f"Lines {rows[file].line} and {line} of the manifest name the same file; "
                "nothing was imported."
            )
        try:
            rows[file] = ManifestRow(line, file, _facts(record))
        except ValueError as exc:
            rows[file] = ManifestRow(line, file, None, f"manifest line {line}: {exc}")
    return rows


def _facts(record: dict[str, str]) -> ImageFacts:
    extra = {k: v for k, v in record.items() if k not in KNOWN_COLUMNS and k and v}
    return ImageFacts(
        patient_source_id=record.get("patient_id") or None,
        visit_date=_date(record.get("visit_date", "")),
        visit_index=_integer(record.get("visit_index", ""), "visit_index", minimum=0),
        laterality=_laterality(record.get("laterality", "")),
        view=record.get("view") or None,
        grade=_integer(record.get("grade", ""), "grade", minimum=0),
        known_severity=_number(record.get("score", ""), "score"),
        split=_split(record.get("split", "")),
        metadata={"manifest": extra} if extra else {},
    )


def _date(text: str) -> str | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError("visit_date is not a valid date (expected YYYY-MM-DD)") from None


def _integer(text: str, column: str, minimum: int) -> int | None:
    if not text:
        return None
    try:
        value = int(float(text)) if float(text).is_integer() else None
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise ValueError(f"{column} is not a whole number of at least {minimum}")
    return value


def _number(text: str, column: str) -> float | None:
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{column} is not a number") from None


def _laterality(text: str) -> str | None:
    if not text:
        return None
    if text.upper() not in LATERALITY_WORDS:
        raise ValueError("laterality is not one of L, R, B (or OD, OS, OU)")
    return LATERALITY_WORDS[text.upper()]


def _split(text: str) -> str | None:
    if not text:
        return None
    if text.lower() not in ("train", "val", "test"):
        raise ValueError("split is not one of train, val, test")
    return text.lower()
