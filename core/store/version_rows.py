"""What one version produced, read for exports and model cards: its scores, embeddings,
trend calls and projections row by row (inside ``Store.snapshot()``), and the counts a
model card reports. Reads only."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from .snapshot import stream_rows

if TYPE_CHECKING:
    from .store import Store

# each table: its columns, in the order the query returns them, and the query (one
# parameter: the model's id), in primary-key order so that it streams without a sort
TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "scores": (
        (
            "image_id",
            "patient",
            "visit_date",
            "visit_index",
            "dataset",
            "split",
            "grade",
            "severity",
            "severity_std",
        ),
        """SELECT e.image_id, p.pseudonym, i.visit_date, i.visit_index, d.name, i.split,
                  i.grade, e.severity, e.severity_std
           FROM embeddings e JOIN images i ON i.id = e.image_id
           JOIN datasets d ON d.id = i.dataset_id
           LEFT JOIN patients p ON p.id = i.patient_id
           WHERE e.model_id = ? ORDER BY e.image_id""",
    ),
    "embeddings": (
        ("image_id", "vector"),
        "SELECT image_id, vector FROM embeddings WHERE model_id = ? ORDER BY image_id",
    ),
    "trends": (
        (
            "patient",
            "earlier_image_id",
            "later_image_id",
            "earlier_visit_date",
            "later_visit_date",
            "dataset",
            "split",
            "p_improved",
            "p_same",
            "p_deteriorated",
        ),
        """SELECT p.pseudonym, t.earlier_image_id, t.later_image_id, a.visit_date,
                  b.visit_date, d.name, b.split, t.p_improved, t.p_same, t.p_deteriorated
           FROM trends t JOIN images a ON a.id = t.earlier_image_id
           JOIN images b ON b.id = t.later_image_id
           JOIN datasets d ON d.id = b.dataset_id
           LEFT JOIN patients p ON p.id = b.patient_id
           WHERE t.model_id = ? ORDER BY t.earlier_image_id, t.later_image_id""",
    ),
    "projections": (
        ("method", "dims", "image_id", "x", "y", "z"),
        """SELECT method, dims, image_id, x, y, z FROM projections
           WHERE model_id = ? ORDER BY method, dims, image_id""",
    ),
}
# the table each export's row count comes from
SOURCE = {"scores": "embeddings", "embeddings": "embeddings"}


class VersionRows:
    def __init__(self, store: Store):
        self._store = store

    @staticmethod
    def columns(what: str) -> tuple[str, ...]:
        return TABLES[what][0]

    def batches(self, what: str, model_id: int, batch_rows: int) -> Iterator[list[tuple]]:
        """The rows of ``what`` (scores, embeddings, trends, projections) for a version,
        ``batch_rows`` at a time, in ``columns(what)`` order."""
        return stream_rows(self._store.db, TABLES[what][1], [model_id], batch_rows)

    def count(self, what: str, model_id: int) -> int:
        table = SOURCE.get(what, what)
        sql = f"SELECT COUNT(*) AS n FROM {table} WHERE model_id = ?"
        return int(self._store.one_row(sql, [model_id])["n"])

    def dimensions(self, model_id: int) -> int | None:
        """The length of the version's embedding vectors (float32), None without any."""
        sql = "SELECT vector FROM embeddings WHERE model_id = ? LIMIT 1"
        row = self._store.one(sql, [model_id])
        return None if row is None else len(bytes(row["vector"])) // 4

    def by_split_and_grade(self, model_id: int) -> list[dict]:
        """How many images the version scored, by split and grade (NULL: ungraded)."""
        return self._store.all(
            """SELECT i.split, i.grade, COUNT(*) AS n
               FROM embeddings e JOIN images i ON i.id = e.image_id
               WHERE e.model_id = ? GROUP BY i.split, i.grade""",
            [model_id],
        )

    def datasets(self, model_id: int) -> list[dict]:
        """The datasets of the images the version scored: name and source."""
        return self._store.all(
            """SELECT d.name, d.source FROM datasets d
               WHERE EXISTS (SELECT 1 FROM images i JOIN embeddings e ON e.image_id = i.id
                             WHERE i.dataset_id = d.id AND e.model_id = ?)
               ORDER BY d.name""",
            [model_id],
        )
