"""What a model version produces per image: embeddings and severity scores, trend calls
between visits, and 2-D / 3-D projections of the latent space."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core.projection_align import Layout, align, displacement, shared_ids

if TYPE_CHECKING:
    from .store import Store


# a trend's call, the likeliest of the three (the first of them on a tie, as argmax
# over ``TRENDS``), and that call's probability
CALL = (
    "CASE WHEN t.p_improved >= t.p_same AND t.p_improved >= t.p_deteriorated "
    "THEN 'improved' WHEN t.p_same >= t.p_deteriorated THEN 'same' ELSE 'deteriorated' END"
)
CALL_PROBABILITY = (
    "CASE WHEN t.p_improved >= t.p_same AND t.p_improved >= t.p_deteriorated "
    "THEN t.p_improved WHEN t.p_same >= t.p_deteriorated THEN t.p_same "
    "ELSE t.p_deteriorated END"
)

# the maps a version may have: the projections table's CHECK constraints allow these
MAP_KINDS = tuple((method, dims) for method in ("pca", "tsne", "umap") for dims in (2, 3))


class Embeddings:
    def __init__(self, store: Store):
        self._store = store

    # -- embeddings and severity scores ------------------------------------------------

    def save(
        self,
        model_id: int,
        image_ids: list[int],
        vectors: np.ndarray,
        severity: np.ndarray,
        severity_std: np.ndarray | None = None,
    ) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        std = [None] * len(image_ids) if severity_std is None else severity_std.tolist()
        rows = [
            {
                "model_id": model_id,
                "image_id": int(i),
                "vector": v.tobytes(),
                "severity": float(s),
                "severity_std": None if e is None else float(e),
            }
            for i, v, s, e in zip(image_ids, vectors, severity, std, strict=True)
        ]
        with self._store.transaction():
            self._store.db.execute("DELETE FROM embeddings WHERE model_id = ?", [model_id])
            self._store.db.insert_all("embeddings", rows)

    def vectors(self, model_id: int) -> tuple[list[int], np.ndarray, np.ndarray]:
        rows = self._store.all(
            "SELECT image_id, vector, severity FROM embeddings WHERE model_id = ? "
            "ORDER BY image_id",
            [model_id],
        )
        ids = [r["image_id"] for r in rows]
        if not rows:
            return ids, np.zeros((0, 0), np.float32), np.zeros(0, np.float32)
        vectors = np.stack([np.frombuffer(bytes(r["vector"]), dtype=np.float32) for r in rows])
        return ids, vectors, np.array([r["severity"] for r in rows], dtype=np.float32)

    def severity_scores(
        self, model_id: int, image_ids: list[int] | None = None
    ) -> dict[int, tuple[float, float | None]]:
        """``{image id: (severity, its spread)}`` of a version's images, or of those of
        ``image_ids`` (one patient's visits: found by index, not read from all)."""
        sql = "SELECT image_id, severity, severity_std FROM embeddings WHERE model_id = ?"
        if image_ids is None:
            rows = self._store.all(sql, [model_id])
        else:
            ids = [int(i) for i in image_ids]
            rows = []
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows += self._store.all(f"{sql} AND image_id IN ({marks})", [model_id, *chunk])
        return {r["image_id"]: (r["severity"], r["severity_std"]) for r in rows}

    # -- trend calls ----------------------------------------------------------------------

    def save_trends(self, model_id: int, rows: list[tuple[int, int, float, float, float]]) -> None:
        with self._store.transaction():
            self._store.db.execute("DELETE FROM trends WHERE model_id = ?", [model_id])
            self._store.db.insert_all(
                "trends",
                [
                    {
                        "model_id": model_id,
                        "earlier_image_id": a,
                        "later_image_id": b,
                        "p_improved": p0,
                        "p_same": p1,
                        "p_deteriorated": p2,
                    }
                    for a, b, p0, p1, p2 in rows
                ],
            )

    def trends(self, model_id: int, patient_id: int | None = None) -> list[dict]:
        """A version's trend calls between consecutive visits (of one patient), each
        with its ``call`` and that call's ``probability``, by patient and visit."""
        sql = f"""SELECT t.*, i.patient_id, p.pseudonym AS patient, i.visit_date AS later_date,
                        i.visit_index AS later_index, i.split AS split,
                        {CALL} AS call, {CALL_PROBABILITY} AS probability
                 FROM trends t JOIN images i ON i.id = t.later_image_id
                 LEFT JOIN patients p ON p.id = i.patient_id WHERE t.model_id = ?"""
        params: list = [model_id]
        if patient_id is not None:  # through the patient's visits: index seeks, not a read
            # of the version's every trend (a trend joins two visits of one patient)
            sql += (
                " AND i.patient_id = ?"
                " AND t.earlier_image_id IN (SELECT id FROM images WHERE patient_id = ?)"
            )
            params += [patient_id, patient_id]
        return self._store.all(sql + " ORDER BY i.patient_id, i.visit_index, i.visit_date", params)

    def latest_calls(self, model_id: int, limit: int) -> tuple[list[dict], int]:
        """Each patient's latest trend call (at their last visit), deteriorations first,
        then "same", then improvements, each most certain first: the first ``limit``
        rows, and how many patients have a call (``CALL``); sorted in the database, so a
        cohort of 20,000 patients is not read into the page."""
        rows = self._store.all(
            f"""WITH ranked AS (
                  SELECT t.*, i.patient_id, i.visit_date AS later_date, i.split,
                         {CALL} AS call, {CALL_PROBABILITY} AS probability,
                         ROW_NUMBER() OVER (PARTITION BY i.patient_id
                                            ORDER BY i.visit_index DESC NULLS LAST,
                                                     i.visit_date DESC NULLS LAST)
                           AS nth
                  FROM trends t JOIN images i ON i.id = t.later_image_id
                  WHERE t.model_id = ? AND i.patient_id IS NOT NULL
                ), latest AS (
                  SELECT r.*,
                         CASE r.call WHEN 'deteriorated' THEN 0
                                     WHEN 'same' THEN 1 ELSE 2 END AS call_rank
                  FROM ranked r WHERE r.nth = 1
                )
                SELECT l.*, p.pseudonym AS patient, COUNT(*) OVER () AS patients_called
                FROM latest l LEFT JOIN patients p ON p.id = l.patient_id
                ORDER BY l.call_rank, l.probability DESC, l.patient_id
                LIMIT ?""",
            [model_id, limit],
        )
        return rows, (int(rows[0]["patients_called"]) if rows else 0)

    # -- projections ---------------------------------------------------------------------

    def save_projection(
        self, model_id: int, method: str, image_ids: list[int], coords: np.ndarray
    ) -> None:
        dims = coords.shape[1]
        rows = [
            {
                "model_id": model_id,
                "method": method,
                "dims": dims,
                "image_id": int(i),
                "x": float(c[0]),
                "y": float(c[1]),
                "z": float(c[2]) if dims == 3 else None,
            }
            for i, c in zip(image_ids, coords, strict=True)
        ]
        with self._store.transaction():
            self._store.db.execute(
                "DELETE FROM projections WHERE model_id = ? AND method = ? AND dims = ?",
                [model_id, method, dims],
            )
            self._store.db.insert_all("projections", rows)

    def projection(self, model_id: int, method: str, dims: int) -> list[dict]:
        """A version's map of this kind, one row per image with what the page shows of
        it; how many judgments each image has is ``judgment_counts`` (it changes with
        every answer, the map does not)."""
        return self._store.all(
            """SELECT pr.image_id, pr.x, pr.y, pr.z, e.severity, i.grade, i.split,
                      p.pseudonym AS patient, i.dataset_id
               FROM projections pr JOIN images i ON i.id = pr.image_id
               LEFT JOIN embeddings e ON e.model_id = pr.model_id AND e.image_id = pr.image_id
               LEFT JOIN patients p ON p.id = i.patient_id
               WHERE pr.model_id = ? AND pr.method = ? AND pr.dims = ?""",
            [model_id, method, dims],
        )

    def map_stamp(self, model_id: int, method: str, dims: int) -> tuple[int, float]:
        """A short summary of a version's map (its points, and the sum of their
        coordinates) that changes when the worker makes the map again: what a page's
        cache of the map is keyed on."""
        row = self._store.one_row(
            "SELECT COUNT(*) AS n, COALESCE(SUM(x) + SUM(y), 0) AS total FROM projections "
            "WHERE model_id = ? AND method = ? AND dims = ?",
            [model_id, method, dims],
        )
        return int(row["n"]), float(row["total"])

    def judgment_counts(self, model_id: int, method: str, dims: int) -> list[dict]:
        """How many standing judgments each image on this map appears in (``image_id``,
        ``judgments``), found through the judgments' image indexes."""
        return self._store.all(
            """SELECT pr.image_id,
                      (SELECT COUNT(*) FROM effective_judgments j
                        WHERE j.left_image_id = pr.image_id OR j.right_image_id = pr.image_id)
                      AS judgments
               FROM projections pr
               WHERE pr.model_id = ? AND pr.method = ? AND pr.dims = ?""",
            [model_id, method, dims],
        )

    def available_projections(self, model_id: int) -> list[tuple[str, int]]:
        """The kinds of map the version has, as (method, dims), sorted: one index probe
        per kind the schema allows, rather than a read past every point of every map."""
        probes = " UNION ALL ".join(
            f"SELECT '{method}' AS method, {dims} AS dims WHERE EXISTS (SELECT 1 FROM "
            f"projections WHERE model_id = ? AND method = '{method}' AND dims = {dims})"
            for method, dims in MAP_KINDS
        )
        rows = self._store.all(probes, [model_id] * len(MAP_KINDS))
        return sorted((r["method"], int(r["dims"])) for r in rows)

    def layout(self, model_id: int, method: str, dims: int) -> Layout | None:
        """The version's stored map of this kind as ids and coordinates (``None`` where it
        has none): what alignment and displacement work on, without the page's columns."""
        rows = self._store.all(
            "SELECT image_id, x, y, z FROM projections "
            "WHERE model_id = ? AND method = ? AND dims = ? ORDER BY image_id",
            [model_id, method, dims],
        )
        if not rows:
            return None
        columns = ("x", "y", "z")[:dims]
        coords = np.array([[r[c] for c in columns] for r in rows], dtype=np.float64)
        return Layout(np.array([r["image_id"] for r in rows]), coords)

    def map_shift(
        self, from_model_id: int, to_model_id: int, method: str, dims: int, align_maps: bool = True
    ) -> list[dict]:
        """How far each image moved between two versions' maps of this kind: one row per
        image on both, with its place on each (``x_from`` ... ``z_to``; z is None in 2-D) and
        ``shift``, the distance as a share of the ``from`` map's width. With ``align_maps``
        the ``to`` map is first laid over the ``from`` map (``core.projection_align``; next to
        nothing for maps the worker aligned when it made them), so the shift is what the
        model moved, not the frame; the ``to`` coordinates are then that aligned map's. No
        rows where either version has no map of this kind or they share no image."""
        before = self.layout(from_model_id, method, dims)
        after = self.layout(to_model_id, method, dims)
        if before is None or after is None:
            return []
        if align_maps:
            after, _ = align(after, before)
        ids = shared_ids(before, after)
        if len(ids) == 0:
            return []
        shifts = displacement(before, after, ids)
        start, end = before.at(ids), after.at(ids)
        return [
            {
                "image_id": int(image_id),
                **_place("from", start[k]),
                **_place("to", end[k]),
                "shift": float(shifts[k]),
            }
            for k, image_id in enumerate(ids)
        ]


def _place(side: str, point: np.ndarray) -> dict[str, float | None]:
    return {
        f"x_{side}": float(point[0]),
        f"y_{side}": float(point[1]),
        f"z_{side}": float(point[2]) if len(point) == 3 else None,
    }
