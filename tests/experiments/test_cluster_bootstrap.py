"""The cluster bootstrap: seeds, and within each the patients with all their images;
and the answers a curve needs to reach a figure."""

import numpy as np
import pytest

from core.experiments.cluster_bootstrap import (
    SeedBootstrap,
    interval,
    reach,
    reach_interval,
    unit_members,
)
from core.experiments.resampling import _tau


def correlated_seeds(seeds: int = 3, patients: int = 12, visits: int = 6) -> dict[int, dict]:
    """Held-out records whose score errors are shared by all of a patient's images (one
    error per patient), the same at every seed: the interval's width is the images'."""
    rng = np.random.default_rng(0)
    patient = np.repeat(np.arange(patients), visits)
    truth = rng.normal(size=patients)[patient] + 0.3 * rng.normal(size=patient.size)
    score = truth + rng.normal(size=patients)[patient]
    record = {"score": score.tolist(), "truth": truth.tolist(), "patient": patient.tolist()}
    return dict.fromkeys(range(seeds), record)


def width(draws: np.ndarray) -> float:
    low, high = interval(draws)
    return high - low


def test_patients_are_drawn_whole_and_their_shared_errors_widen_the_interval():
    records = correlated_seeds()
    boot = SeedBootstrap(300)
    by_patient = boot.tau_draws(records, "held_out", "patient")
    by_image = SeedBootstrap(300).tau_draws(records, "by image", None)
    assert width(by_patient) > 1.5 * width(by_image)
    for b in range(20):  # every drawn patient comes with its six images
        for seed, repeat in boot.seeds(b, [0, 1, 2]):
            index = boot.index(b, "held_out", seed, repeat, records[seed], "patient")
            counts = np.bincount(np.asarray(records[seed]["patient"])[index], minlength=12)
            assert len(index) == 72 and np.all(counts % 6 == 0)
    mean = np.mean([_tau(np.array(r["score"]), np.array(r["truth"])) for r in records.values()])
    assert interval(by_patient)[0] < mean < interval(by_patient)[1]


def test_figures_of_one_report_share_their_draws_and_seeds_are_drawn_by_name():
    """The same seeds and images are drawn for every arm (so a paired difference of an arm
    with itself is exactly 0 in every resample), whatever order figures ask in; a pool of
    seeds draws only from its own seeds."""
    records = correlated_seeds()
    shifted = {s: {**r, "score": list(np.array(r["score"])[::-1])} for s, r in records.items()}
    first, second = SeedBootstrap(50, seed=4), SeedBootstrap(50, seed=4)
    a = first.tau_draws(records, "held_out", "patient")
    first.tau_draws(shifted, "held_out", "patient")
    b = second.tau_draws(shifted, "held_out", "patient")  # asked in the other order
    assert np.array_equal(a, first.tau_draws(records, "held_out", "patient"))
    assert np.array_equal(b, first.tau_draws(shifted, "held_out", "patient"))
    assert not np.array_equal(a, b)
    for r in range(50):
        assert {s for s, _ in first.seeds(r, [0, 2])} <= {0, 2}
    with pytest.raises(ValueError, match="hold different images"):
        first.index(0, "held_out", 0, 0, {"truth": [1.0, 2.0]}, "patient")


def test_unit_members_group_a_patients_images_and_leave_unknown_ones_alone():
    record = {"truth": [0, 1, 2, 3, 4], "patient": [7, None, 7, 2, None]}
    groups = sorted(sorted(m.tolist()) for m in unit_members(record, "patient"))
    assert groups == [[0, 2], [1], [3], [4]]
    assert len(unit_members(record, None)) == 5


def test_reach_interpolates_between_checkpoints():
    curve = [(0, 0.4), (100, 0.5), (250, 0.7), (500, 0.8)]
    assert reach(curve, 0.6) == pytest.approx(175.0)  # half way from 100 to 250
    assert reach(curve, 0.75) == pytest.approx(375.0)
    assert reach(curve, 0.5) == pytest.approx(100.0)
    assert reach(curve, 0.3) == 0.0  # already there at the first point
    assert reach(curve, 0.81) is None
    falls_then_rises = [(100, 0.6), (250, 0.5), (500, 0.9)]
    assert reach(falls_then_rises, 0.8) == pytest.approx(250 + 250 * 3 / 4)
    assert reach(falls_then_rises, 0.6) == 100.0  # the first time it gets there


def test_the_reach_interval_counts_never_as_beyond_every_number():
    assert reach_interval([100.0] * 90 + [None] * 10) == {
        "ci95": [100.0, None],
        "never_share": 0.1,
    }
    low, high = reach_interval([float(k) for k in range(1, 201)])["ci95"]
    assert (low, high) == (5.0, 195.0)
