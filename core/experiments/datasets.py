"""The benchmarks' data: a MedMNIST-style ``.npz`` (its test split, or a stratified
slice of its training split held out), or the synthetic cohort split by patient, whose
rendered severity is the truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.importers.splits import assign_split
from core.learning.data import ImageSet, load_npz_splits, to_tensor
from core.learning.patches import scale_lesions
from core.synthetic import CohortConfig, generate_with_lesions

HOLDOUT_SEED = 12345  # the held-out test slice never depends on the method's seed
HOLDOUT_FRACTION = 0.2

# train, validation and test images, and where the test images came from (said in reports)
BenchmarkData = tuple[ImageSet, ImageSet, ImageSet, str]


def holdout_split(train_set: ImageSet) -> tuple[ImageSet, ImageSet]:
    """A stratified slice of the training split, held out as the test set."""
    rng = np.random.default_rng(HOLDOUT_SEED)
    test_index = []
    for grade in np.unique(train_set.grades):
        members = rng.permutation(np.flatnonzero(train_set.grades == grade))
        test_index += members[: round(len(members) * HOLDOUT_FRACTION)].tolist()
    test_mask = np.zeros(len(train_set), dtype=bool)
    test_mask[test_index] = True
    return train_set.subset(np.flatnonzero(~test_mask)), train_set.subset(np.flatnonzero(test_mask))


def load_benchmark_data(train_npz: str, test_npz: str | None, size: int) -> BenchmarkData:
    splits = load_npz_splits(train_npz, size)
    if "val" not in splits:
        raise ValueError(f"{train_npz} has no val split, needed for model selection")
    if test_npz:
        test = load_npz_splits(test_npz, size).get("test")
        if test is None:
            raise ValueError(f"{test_npz} has no test_images / test_labels")
        return splits["train"], splits["val"], test, f"{Path(test_npz).name}:test"
    train_set, test = holdout_split(splits["train"])
    return train_set, splits["val"], test, f"stratified {HOLDOUT_FRACTION:.0%} of train held out"


def load_cohort_data(patients: int, size: int) -> BenchmarkData:
    """The synthetic cohort, split by patient: its rendered severity is the truth."""
    splits = cohort_splits(CohortConfig(patients=patients), size)
    held_out = len(set(splits["test"].patients))
    return (
        splits["train"],
        splits["val"],
        splits["test"],
        f"synthetic cohort, {patients} patients, {held_out} held-out test patients",
    )


def cohort_splits(cohort: CohortConfig, size: int) -> dict[str, ImageSet]:
    visits, pixels, drawn = zip(*generate_with_lesions(cohort), strict=True)
    images = to_tensor(np.stack(pixels), size)
    rendered = (cohort.image_size, cohort.image_size)
    lesions = [
        scale_lesions([(s.kind, s.x, s.y, s.radius) for s in spots], rendered, size)
        for spots in drawn
    ]
    patients = np.array([v.patient_code for v in visits], dtype=object)
    full = ImageSet(
        images,
        np.array([v.grade for v in visits]),
        np.array([v.severity for v in visits]),
        np.arange(len(visits)),
        patients,
        np.array([v.visit_index for v in visits], dtype=float),
        lesions=lesions,
    )
    split_of = np.array([assign_split(p) for p in patients])
    return {s: full.subset(np.flatnonzero(split_of == s)) for s in ("train", "val", "test")}
