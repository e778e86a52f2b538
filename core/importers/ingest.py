"""The one step every importer ends with: store the pixels, then the row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.imaging import DecodedImage, content_hash, save_pixels
from core.store import NewImage, StorageFull, Store
from core.store.errors import is_disk_full

from .report import ImportReport
from .splits import assign_split


@dataclass
class ImageFacts:
    """What an importer knows about one image besides its pixels."""

    patient_source_id: str | None = None  # pseudonymised here, never stored as is
    visit_date: str | None = None
    visit_index: int | None = None
    laterality: str | None = None
    view: str | None = None
    grade: int | None = None
    known_severity: float | None = None
    split: str | None = None  # None: derived from the patient (or the content)
    source: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def ingest(
    store: Store, dataset_id: int, decoded: DecodedImage, facts: ImageFacts
) -> tuple[int, bool]:
    """Store one decoded image; returns ``(image id, created)``. Idempotent by content."""
    digest = content_hash(decoded.pixels)
    existing = store.images.find_by_hash(digest)
    if existing:
        return existing["id"], False
    # Pixels first, then the row: a crash in between leaves an unreferenced file
    # (harmless, reused next time), never a row that points at nothing.
    relative, digest = save_pixels(store.media_root, decoded.pixels)
    with store.transaction():
        patient_id = None
        if facts.patient_source_id:
            patient_id = store.patients.ensure(facts.patient_source_id)
        split = facts.split or assign_split(
            store.patients.pseudonym(facts.patient_source_id) if facts.patient_source_id else digest
        )
        height, width = decoded.pixels.shape[:2]
        return store.images.add(
            NewImage(
                dataset_id=dataset_id,
                content_hash=digest,
                pixel_path=relative,
                width=width,
                height=height,
                split=split,
                patient_id=patient_id,
                visit_date=facts.visit_date,
                visit_index=facts.visit_index,
                laterality=facts.laterality,
                view=facts.view,
                grade=facts.grade,
                known_severity=facts.known_severity,
                source=facts.source,
                quality_flags=decoded.quality_flags,
                metadata={**decoded.metadata, **facts.metadata},
            )
        )


def stop_if_disk_full(exc: BaseException, name: str, report: ImportReport) -> None:
    """A full disk (the media folder's or the database's) stops the whole import: every
    file after this one would fail the same way. Raises ``StorageFull`` naming the file
    it was on; that file left nothing (its pixels are written to a ``.part`` that is
    removed, its row rolled back), and the files before it stay imported."""
    if not is_disk_full(exc):
        return
    done = report.counts()
    raise StorageFull(
        f"The disk is full: the import stopped at {name}, which was not stored. "
        f"{done['imported']} files before it were imported and are kept "
        f"({done['duplicate']} duplicates, {done['rejected']} rejected). Free some space "
        "and import again: what is already stored is recognised and skipped."
    ) from exc
