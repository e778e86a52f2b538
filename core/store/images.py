"""Images: one row per stored pixel file, deduplicated by content hash."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import NotFound
from .rows import decode_json_columns, to_json, utc_now

if TYPE_CHECKING:
    from .store import Store

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class NewImage:
    """Everything needed to insert one image row (pixels are already stored)."""

    dataset_id: int
    content_hash: str
    pixel_path: str  # relative to the store's media root
    width: int
    height: int
    split: str
    patient_id: int | None = None
    visit_date: str | None = None  # ISO date, de-identified where it came from DICOM
    visit_index: int | None = None
    laterality: str | None = None
    view: str | None = None
    grade: int | None = None  # 0 = normal
    known_severity: float | None = None  # continuous, rises with severity
    source: str | None = None
    quality_flags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


class Images:
    def __init__(self, store: Store):
        self._store = store

    def add(self, image: NewImage) -> tuple[int, bool]:
        """Insert ``image``; return ``(id, created)``. An existing hash is not duplicated."""
        if image.split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, not {image.split!r}")
        row = asdict(image)
        row["quality_flags"] = to_json(image.quality_flags)
        row["metadata"] = to_json(image.metadata)
        row["created_at"] = utc_now()
        with self._store.transaction():
            existing = self.find_by_hash(image.content_hash)
            if existing:
                return existing["id"], False
            return self._store.db.insert("images", row), True

    def find_by_hash(self, content_hash: str) -> dict | None:
        return self._store.one("SELECT * FROM images WHERE content_hash = ?", [content_hash])

    def get(self, image_id: int) -> dict:
        row = self._store.one(
            """SELECT i.*, p.pseudonym AS patient, d.name AS dataset FROM images i
               JOIN datasets d ON d.id = i.dataset_id
               LEFT JOIN patients p ON p.id = i.patient_id WHERE i.id = ?""",
            [image_id],
        )
        if row is None:
            raise NotFound(f"Image {image_id} does not exist.")
        return decode_json_columns(row, "quality_flags", "metadata")

    def query(
        self,
        dataset_id: int | None = None,
        grades: list[int] | None = None,
        patient_id: int | None = None,
        split: str | None = None,
        abnormal_only: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[dict]:
        where, params = self._filters(dataset_id, grades, patient_id, split, abnormal_only)
        sql = f"""SELECT i.id, i.dataset_id, i.patient_id, p.pseudonym AS patient, i.visit_date,
                         i.visit_index, i.laterality, i.grade, i.known_severity, i.split,
                         i.pixel_path, i.width, i.height, i.source
                  FROM images i LEFT JOIN patients p ON p.id = i.patient_id
                  {where} ORDER BY i.patient_id, i.visit_index, i.visit_date, i.id"""
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        return self._store.all(sql, params)

    def ids(self, **filters: Any) -> list[int]:
        where, params = self._filters(**filters)
        return [r["id"] for r in self._store.all(f"SELECT i.id FROM images i {where}", params)]

    def count(self, **filters: Any) -> int:
        where, params = self._filters(**filters)
        return self._store.one_row(f"SELECT COUNT(*) AS n FROM images i {where}", params)["n"]

    def grade_counts(
        self, dataset_id: int | None = None, split: str | None = None
    ) -> dict[int | None, int]:
        where, params = self._filters(dataset_id=dataset_id, split=split)
        rows = self._store.all(
            f"SELECT i.grade, COUNT(*) AS n FROM images i {where} GROUP BY i.grade", params
        )
        return {r["grade"]: r["n"] for r in rows}

    def mark_normal(self, image_ids: list[int]) -> int:
        """Mark ungraded images as normal (grade 0): what a clinician knows about a few
        of their own images before any model exists. A grade already given is kept.
        Returns how many images were marked."""
        ids = [int(i) for i in image_ids]
        if not ids:
            return 0
        with self._store.transaction():
            cursor = self._store.db.execute(
                f"UPDATE images SET grade = 0 WHERE grade IS NULL "
                f"AND id IN ({','.join('?' * len(ids))})",
                ids,
            )
        return cursor.rowcount

    def lesions(self, image_ids: list[int]) -> dict[int, list]:
        """Recorded lesions (``metadata["lesions"]``: ``[kind, x, y, radius]`` in the
        stored pixels) of those of ``image_ids`` that have any key for them."""
        found: dict[int, list] = {}
        for start in range(0, len(image_ids), 500):
            chunk = [int(i) for i in image_ids[start : start + 500]]
            rows = self._store.all(
                f"SELECT id, metadata FROM images WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for row in rows:
                metadata = json.loads(row["metadata"] or "{}")
                if "lesions" in metadata:
                    found[row["id"]] = metadata["lesions"]
        return found

    def patient_visits(self, patient_id: int) -> list[dict]:
        return self.query(patient_id=patient_id)

    @staticmethod
    def _filters(
        dataset_id: int | None = None,
        grades: list[int] | None = None,
        patient_id: int | None = None,
        split: str | None = None,
        abnormal_only: bool = False,
    ) -> tuple[str, list]:
        clauses: list[str] = []
        params: list[object] = []
        if dataset_id is not None:
            clauses.append("i.dataset_id = ?")
            params.append(dataset_id)
        if grades:
            clauses.append(f"i.grade IN ({','.join('?' * len(grades))})")
            params += list(grades)
        if patient_id is not None:
            clauses.append("i.patient_id = ?")
            params.append(patient_id)
        if split is not None:
            clauses.append("i.split = ?")
            params.append(split)
        if abnormal_only:
            clauses.append("i.grade > 0")
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), params
