"""The step every importer ends with: store the pixels, then the rows.

Pixels go first, each file written atomically; rows follow, a batch of images in one
transaction (``RowBatch``). A crash in between leaves files no row points at (harmless,
and reused when the same image comes again), never a row that points at nothing. A
killed import loses at most the rows of the batch it was writing; running it again
stores those and recognises the rest by their content hash, so nothing is added twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from core.imaging import DecodedImage, content_hash, save_pixels
from core.store import NewImage, StorageFull, Store
from core.store.errors import is_disk_full

from .report import ImportReport
from .splits import assign_split

# A batch's rows are written in one transaction: up to this many images, or what came
# in this many seconds, whichever is first (a rater's answer waits for the write lock at
# most about that long; one transaction per image made the database half of the cost)
BATCH_IMAGES = 200
BATCH_SECONDS = 0.5


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


@dataclass(frozen=True)
class StoredPixels:
    """One image's pixels as written to the media folder, and what its row needs of them."""

    content_hash: str
    pixel_path: str  # relative to the media folder
    width: int
    height: int
    quality_flags: list[str]
    metadata: dict[str, Any]


def store_pixels(media_root, decoded: DecodedImage) -> StoredPixels:
    """Write ``decoded``'s pixels (once per content: an existing file is kept)."""
    relative, digest = save_pixels(media_root, decoded.pixels)
    height, width = decoded.pixels.shape[:2]
    return StoredPixels(
        digest, relative, width, height, list(decoded.quality_flags), dict(decoded.metadata)
    )


def ingest(
    store: Store, dataset_id: int, decoded: DecodedImage, facts: ImageFacts
) -> tuple[int, bool]:
    """Store one decoded image; returns ``(image id, created)``. Idempotent by content."""
    existing = store.images.find_by_hash(content_hash(decoded.pixels))
    if existing:
        return existing["id"], False
    stored = store_pixels(store.media_root, decoded)  # pixels first, then the row
    with store.transaction():
        return write_row(store, dataset_id, stored, facts, {})


def write_row(
    store: Store,
    dataset_id: int,
    stored: StoredPixels,
    facts: ImageFacts,
    patients: dict[str, int],
) -> tuple[int, bool]:
    """The image's row (and its patient's, if new), inside the caller's transaction;
    ``patients`` caches patient ids met in that same transaction."""
    patient_id = None
    if facts.patient_source_id:
        patient_id = patients.get(facts.patient_source_id)
        if patient_id is None:
            patient_id = store.patients.ensure(facts.patient_source_id)
            patients[facts.patient_source_id] = patient_id
    split = facts.split or assign_split(
        store.patients.pseudonym(facts.patient_source_id)
        if facts.patient_source_id
        else stored.content_hash
    )
    return store.images.add(
        NewImage(
            dataset_id=dataset_id,
            content_hash=stored.content_hash,
            pixel_path=stored.pixel_path,
            width=stored.width,
            height=stored.height,
            split=split,
            patient_id=patient_id,
            visit_date=facts.visit_date,
            visit_index=facts.visit_index,
            laterality=facts.laterality,
            view=facts.view,
            grade=facts.grade,
            known_severity=facts.known_severity,
            source=facts.source,
            quality_flags=stored.quality_flags,
            metadata={**stored.metadata, **facts.metadata},
        )
    )


@dataclass
class _Pending:
    name: str
    stored: StoredPixels | None = None  # None: rejected, for ``reason``
    facts: ImageFacts | None = None
    reason: str = ""


class RowBatch:
    """The rows of an import's images, written a batch at a time, with each file's
    outcome added to ``report`` in the order the files came, once its row is committed.

    A batch that fails as a whole is written again one image at a time, so that one
    row the database refuses rejects that file alone. A full disk stops the import
    (``StorageFull``, naming the first file not stored); what was committed stays."""

    def __init__(
        self,
        store: Store,
        dataset_id: int,
        report: ImportReport,
        max_images: int = BATCH_IMAGES,
        max_seconds: float = BATCH_SECONDS,
    ):
        self.store, self.dataset_id, self.report = store, dataset_id, report
        self.max_images, self.max_seconds = max_images, max_seconds
        self._pending: list[_Pending] = []
        self._started = 0.0

    def add(self, name: str, stored: StoredPixels, facts: ImageFacts) -> None:
        self._queue(_Pending(name, stored, facts))

    def reject(self, name: str, reason: str) -> None:
        self._queue(_Pending(name, reason=reason))

    def stop_if_disk_full(self, exc: BaseException, name: str) -> None:
        """For a file whose pixels could not be written: a full disk writes the rows
        before it and stops the import there; any other problem returns."""
        if is_disk_full(exc):
            self.flush()
            stop_if_disk_full(exc, name, self.report)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not any(p.stored for p in pending):
            self._record(pending, [None] * len(pending))
            return
        try:
            results = self.store.retrying(lambda: self._write_all(pending))
        except Exception:  # written again one by one, below: each file its own outcome
            self._write_one_by_one(pending)
        else:
            self._record(pending, results)

    def _queue(self, item: _Pending) -> None:
        if not self._pending:
            self._started = time.monotonic()
        self._pending.append(item)
        if (
            len(self._pending) >= self.max_images
            or time.monotonic() - self._started >= self.max_seconds
        ):
            self.flush()

    def _write_all(self, pending: list[_Pending]) -> list[tuple[int, bool] | None]:
        patients: dict[str, int] = {}
        with self.store.transaction():
            return [self._write(p, patients) for p in pending]

    def _write(self, item: _Pending, patients: dict[str, int]) -> tuple[int, bool] | None:
        if item.stored is None or item.facts is None:
            return None
        return write_row(self.store, self.dataset_id, item.stored, item.facts, patients)

    def _write_one_by_one(self, pending: list[_Pending]) -> None:
        for item in pending:
            try:
                with self.store.transaction():
                    result = self._write(item, {})
            except Exception as exc:
                stop_if_disk_full(exc, item.name, self.report)
                self._record([item], [None], f"unexpected problem while storing: {exc}")
            else:
                self._record([item], [result])

    def _record(
        self, pending: list[_Pending], results: list[tuple[int, bool] | None], problem: str = ""
    ) -> None:
        for item, result in zip(pending, results, strict=True):
            if item.stored is None or result is None:
                self.report.add(item.name, "rejected", item.reason or problem)
                continue
            image_id, created = result
            self.report.add(
                item.name,
                "imported" if created else "duplicate",
                "" if created else "the same image is already stored",
                image_id,
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
