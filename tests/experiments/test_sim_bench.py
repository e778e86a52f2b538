"""The learning-curve benchmark, end to end at toy size, and its Bradley-Terry ranking."""

import numpy as np
import pytest

from core.cli import main
from core.experiments.resampling import _tau
from core.experiments.sim_bench import SimBenchConfig, bradley_terry, run_sim_benchmark
from core.learning.config import TrainConfig

TOY = TrainConfig(
    method="conpro", image_size=16, batch_size=8, pairs_per_phase=32, anchor_n=2, device="cpu"
)


def test_bradley_terry_recovers_an_order_from_noiseless_answers():
    truth = np.arange(12)
    rng = np.random.default_rng(0)
    judged = []
    for _ in range(80):
        a, b = rng.choice(12, 2, replace=False)
        outcome = "left" if truth[a] > truth[b] else "right"
        judged.append({"left_image_id": int(a), "right_image_id": int(b), "outcome": outcome})
    judged.append({"left_image_id": 0, "right_image_id": 1, "outcome": "equal"})  # ignored
    strengths = bradley_terry(judged)
    ids = sorted(strengths)
    assert _tau(np.array([strengths[i] for i in ids]), truth[ids]) > 0.9


def test_the_curve_retrains_at_every_checkpoint_for_each_strategy():
    config = SimBenchConfig(
        patients=16, judgments=30, checkpoints=(15, 30), seeds=1, resamples=20, rater_noise=0.05
    )
    report = run_sim_benchmark(config, TOY)
    assert set(report["strategies"]) == {"random", "active"}
    for entry in report["strategies"].values():
        assert [row["judgments"] for row in entry["curve"]] == [15, 30]
        for row in entry["curve"]:
            low, high = row["model_tau_truth"]["ci95"]
            assert -1 <= low <= high <= 1
            assert row["judged_images"] >= 2
        assert entry["choice_ms_median"] > 0
    # random reaches its own final figure by its last checkpoint at the latest
    assert report["strategies"]["random"]["judgments_to_reach"] in (15, 30)
    assert report["config"]["train"]["image_size"] == 16


def test_from_a_few_normals_and_answers_alone_the_cold_start_model_trains():
    config = SimBenchConfig(
        patients=16,
        labels="normals",
        normals=4,
        judgments=40,
        checkpoints=(40,),
        seeds=1,
        resamples=20,
        strategies=("active",),
    )
    report = run_sim_benchmark(config, TOY)
    assert report["first_model"] is None  # nothing to train before the answers
    (row,) = report["strategies"]["active"]["curve"]
    assert row["judgments"] == 40 and row["judged_images"] >= 2


def test_options_that_are_not_built_are_refused_in_words(capsys):
    with pytest.raises(SystemExit, match="--labels none is not available yet"):
        main(["sim-bench", "--labels", "none"])
    with pytest.raises(SystemExit, match="needs --data synthetic"):
        main(["sim-bench", "--labels", "normals", "--data", "x.npz"])
    with pytest.raises(SystemExit, match="increasing order"):
        main(["sim-bench", "--checkpoints", "500,250"])


def test_a_guessing_rater_and_a_weighted_curve_beside_the_unweighted_one():
    config = SimBenchConfig(
        patients=16,
        judgments=40,
        checkpoints=(40,),
        seeds=1,
        resamples=20,
        strategies=("random",),
        guessing_share=0.5,
        weightings=("none", "reliability"),
    )
    report = run_sim_benchmark(config, TOY)
    assert set(report["strategies"]) == {"random", "random+reliability"}
    (plain,) = report["strategies"]["random"]["curve"]
    (weighted,) = report["strategies"]["random+reliability"]["curve"]
    assert plain["judgments"] == weighted["judgments"] == 40
    low, high = weighted["minus_unweighted"]["ci95"]
    assert -2 <= low <= high <= 2  # a difference of two taus
    assert "minus_unweighted" not in plain
    with pytest.raises(ValueError, match="starts with none"):
        SimBenchConfig(weightings=("reliability",))


def test_paired_tau_difference_resamples_patients_with_all_their_images():
    """The point difference is the plain tau difference; resampling patients whose images
    share an error gives a wider interval than resampling images one by one."""
    from scipy.stats import kendalltau

    from core.experiments.sim_bench import paired_tau_difference

    rng = np.random.default_rng(0)
    patients = np.repeat(np.arange(12), 8)
    truth = rng.normal(size=12)[patients] + rng.normal(size=patients.size) * 0.2
    shared = rng.normal(size=12)[patients]  # one error for all of a patient's images
    first = {"score": truth + shared, "truth": truth, "patient": patients}
    second = {"score": truth + rng.normal(size=patients.size) * 0.3, "truth": truth}
    plain = (
        kendalltau(first["score"], truth).statistic - kendalltau(second["score"], truth).statistic
    )

    def width(unit):
        result = paired_tau_difference([first], [second], 300, np.random.default_rng(1), unit)
        assert result["mean"] == pytest.approx(plain)
        low, high = result["ci95"]
        assert low <= result["mean"] <= high
        return high - low

    assert width("patient") > 1.5 * width(None)
