"""Model versions, their per-image embeddings and severity scores, and projections."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import NotFound
from .rows import decode_json_columns, to_json, utc_now

if TYPE_CHECKING:
    from .store import Store


class Models:
    def __init__(self, store: Store):
        self._store = store

    def create(self, method: str, config: dict[str, Any], trained_through: int = 0) -> dict:
        """Register a new version in status ``training``; returns the row."""
        with self._store.transaction():
            version = self._store.one("SELECT COALESCE(MAX(version), 0) + 1 AS v FROM models")["v"]
            model_id = (
                self._store.db["models"]
                .insert(
                    {
                        "version": version,
                        "method": method,
                        "config": to_json(config),
                        "metrics": "{}",
                        "status": "training",
                        "active": 0,
                        "created_at": utc_now(),
                        "trained_through_judgment_id": trained_through,
                    }
                )
                .last_pk
            )
        return self.get(model_id)

    def finish(self, model_id: int, checkpoint_path: str, metrics: dict[str, Any]) -> None:
        """Record the checkpoint and metrics; the version becomes a candidate."""
        with self._store.transaction():
            self._store.db.execute(
                "UPDATE models SET checkpoint_path = ?, metrics = ?, status = 'candidate' "
                "WHERE id = ?",
                [checkpoint_path, to_json(metrics), model_id],
            )

    def mark_failed(self, model_id: int) -> None:
        self._store.db.execute(
            "UPDATE models SET status = 'failed' WHERE id = ? AND active = 0", [model_id]
        )

    def activate(self, model_id: int) -> None:
        """Make ``model_id`` the one active version (roll forward or back)."""
        with self._store.transaction():
            model = self.get(model_id)
            if model["status"] in ("training", "failed") or not model["checkpoint_path"]:
                raise ValueError(
                    f"Version {model['version']} has no finished checkpoint and cannot be used."
                )
            self._store.db.execute(
                "UPDATE models SET active = 0, status = 'retired' WHERE active = 1"
            )
            self._store.db.execute(
                "UPDATE models SET active = 1, status = 'active' WHERE id = ?", [model_id]
            )

    def get(self, model_id: int) -> dict:
        row = self._store.one("SELECT * FROM models WHERE id = ?", [model_id])
        if row is None:
            raise NotFound(f"Model {model_id} does not exist.")
        return decode_json_columns(row, "config", "metrics")

    def active(self) -> dict | None:
        row = self._store.one("SELECT * FROM models WHERE active = 1")
        return decode_json_columns(row, "config", "metrics")

    def list(self) -> list[dict]:
        rows = self._store.all("SELECT * FROM models ORDER BY version DESC")
        return [decode_json_columns(r, "config", "metrics") for r in rows]

    # -- embeddings and severity scores ------------------------------------------------

    def save_embeddings(
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
            self._store.db["embeddings"].insert_all(rows, batch_size=500)

    def embeddings(self, model_id: int) -> tuple[list[int], np.ndarray, np.ndarray]:
        rows = self._store.all(
            "SELECT image_id, vector, severity FROM embeddings WHERE model_id = ? "
            "ORDER BY image_id",
            [model_id],
        )
        ids = [r["image_id"] for r in rows]
        if not rows:
            return ids, np.zeros((0, 0), np.float32), np.zeros(0, np.float32)
        vectors = np.stack([np.frombuffer(r["vector"], dtype=np.float32) for r in rows])
        return ids, vectors, np.array([r["severity"] for r in rows], dtype=np.float32)

    def severity_scores(self, model_id: int) -> dict[int, tuple[float, float | None]]:
        rows = self._store.all(
            "SELECT image_id, severity, severity_std FROM embeddings WHERE model_id = ?",
            [model_id],
        )
        return {r["image_id"]: (r["severity"], r["severity_std"]) for r in rows}

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
            self._store.db["projections"].insert_all(rows, batch_size=1000)

    def projection(self, model_id: int, method: str, dims: int) -> list[dict]:
        return self._store.all(
            """SELECT pr.image_id, pr.x, pr.y, pr.z, e.severity, i.grade, i.split,
                      p.pseudonym AS patient, i.dataset_id,
                      (SELECT COUNT(*) FROM effective_judgments j
                        WHERE j.left_image_id = i.id OR j.right_image_id = i.id) AS judgments
               FROM projections pr JOIN images i ON i.id = pr.image_id
               LEFT JOIN embeddings e ON e.model_id = pr.model_id AND e.image_id = pr.image_id
               LEFT JOIN patients p ON p.id = i.patient_id
               WHERE pr.model_id = ? AND pr.method = ? AND pr.dims = ?""",
            [model_id, method, dims],
        )

    def available_projections(self, model_id: int) -> list[tuple[str, int]]:
        rows = self._store.all(
            "SELECT DISTINCT method, dims FROM projections WHERE model_id = ? ORDER BY 1, 2",
            [model_id],
        )
        return [(r["method"], r["dims"]) for r in rows]
