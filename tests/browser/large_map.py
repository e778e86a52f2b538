"""A study with a large map, built in seconds for the browser tests: a small real demo
cohort (its pictures on disk), then ``images`` rows in all that reuse those pictures,
one version with a severity per image and a 2-D UMAP map of every image.

The map's points lie in five clusters, one per grade, with severity rising along x,
so a box drawn on the map has a known content to check the gallery against."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.demo import import_cohort
from core.store import Store
from core.store.rows import utc_now
from core.synthetic import CohortConfig


def large_map_study(path: Path, images: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    with Store(path) as store:
        import_cohort(store, CohortConfig(patients=4, image_size=32))
        real = store.all("SELECT dataset_id, pixel_path, width, height FROM images ORDER BY id")
        dataset_id = real[0]["dataset_id"]
        extra = images - len(real)
        patients = -(-extra // 5)  # five visits each
        now = utc_now()
        with store.transaction():
            store.db.insert_all(
                "patients",
                [{"pseudonym": f"L-{k:06d}", "created_at": now} for k in range(patients)],
            )
        first_patient = store.one_row(
            "SELECT MIN(id) AS id FROM patients WHERE pseudonym LIKE 'L-%'"
        )["id"]
        grades = rng.integers(0, 5, extra)
        rows = [
            {
                "dataset_id": dataset_id,
                "patient_id": first_patient + k // 5,
                "visit_index": k % 5,
                "grade": int(grades[k]),
                "split": "train" if k % 5 else "val",
                "content_hash": f"large-map-{seed}-{k}",
                "pixel_path": real[k % len(real)]["pixel_path"],
                "width": real[k % len(real)]["width"],
                "height": real[k % len(real)]["height"],
                "created_at": now,
            }
            for k in range(extra)
        ]
        with store.transaction():
            store.db.insert_all("images", rows)
        ids = [r["id"] for r in store.all("SELECT id, grade FROM images ORDER BY id")]
        grade_of = {r["id"]: r["grade"] for r in store.all("SELECT id, grade FROM images")}
        g = np.array([grade_of[i] if grade_of[i] is not None else 0 for i in ids], dtype=float)
        coords = np.column_stack([g * 4 + rng.normal(0, 1, len(ids)), rng.normal(0, 1, len(ids))])
        severity = coords[:, 0] / 20 + rng.normal(0, 0.01, len(ids))
        model = store.models.create("conpro", {}, dataset_id=dataset_id)
        store.models.finish(model["id"], "large-map.pt", {})
        store.embeddings.save(model["id"], ids, rng.normal(size=(len(ids), 8)), severity)
        store.embeddings.save_projection(model["id"], "umap", ids, coords)
        store.models.chain_ready(model["id"])
        store.models.activate(model["id"])
    return path
