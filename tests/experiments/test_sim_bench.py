"""The learning-curve benchmark, end to end at toy size, and its Bradley-Terry ranking."""

import numpy as np
import pytest
from scipy.stats import kendalltau

from core.cli import main
from core.experiments import sim_bench
from core.experiments.resampling import _tau
from core.experiments.sim_bench import SimBenchConfig, bradley_terry, run_sim_benchmark, summarise
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


def plain_tau(record: dict) -> float:
    """Kendall tau-b of a record's scores with its truth, from scipy (0 where undefined)."""
    tau = kendalltau(record["score"], record["truth"]).statistic
    return 0.0 if np.isnan(tau) else float(tau)


def test_the_curve_retrains_at_every_checkpoint_for_each_strategy(monkeypatch):
    kept = []

    def keep_runs(config, runs):
        kept.append(runs)
        return summarise(config, runs)

    monkeypatch.setattr(sim_bench, "summarise", keep_runs)
    config = SimBenchConfig(
        patients=16, judgments=30, checkpoints=(15, 30), seeds=1, resamples=20, rater_noise=0.05
    )
    report = run_sim_benchmark(config, TOY)
    (runs,) = kept
    assert set(report["strategies"]) == {"random", "active"}
    for name, entry in report["strategies"].items():
        assert [row["judgments"] for row in entry["curve"]] == [15, 30]
        for k, row in enumerate(entry["curve"]):
            # the reported tau is scipy's on the retrained model's held-out scores
            points = [run["curves"][name]["points"][k] for run in runs]
            assert len(points[0]["model"]["score"]) > 0
            expected = np.mean([plain_tau(p["model"]) for p in points])
            assert row["model_tau_truth"]["mean"] == pytest.approx(expected)
            assert row["judged_images"] >= 2
        assert entry["choice_ms_median"] > 0
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
    # one seed: the paired difference is the weighted curve's tau minus the plain one's
    assert weighted["minus_unweighted"]["mean"] == pytest.approx(
        weighted["model_tau_truth"]["mean"] - plain["model_tau_truth"]["mean"]
    )
    assert "minus_unweighted" not in plain
    with pytest.raises(ValueError, match="starts with none"):
        SimBenchConfig(weightings=("reliability",))


def test_summary_of_constructed_curves_whose_taus_are_known():
    """Two seeds of curves built from the truth's order with some adjacent pairs swapped
    (each swap costs 2/66 of tau on 12 images): random falls back after its first
    checkpoint, so it first reaches its final figure at 15; active reaches it at 30; the
    weighted active curve never does. The weighted random curve is perfect, so its
    paired difference is positive; the weighted active one ends below active's."""
    truth = np.arange(12.0)

    def swapped(pairs: int) -> dict:
        score = truth.copy()
        for i in range(pairs):
            score[[2 * i, 2 * i + 1]] = score[[2 * i + 1, 2 * i]]
        return {"score": score.tolist(), "truth": truth.tolist()}

    swaps = {  # per curve, the swaps at checkpoints 15 and 30 for seed s
        "random": lambda s: (1 + s, 3 + s),
        "active": lambda s: (5 + s, 0),
        "random+reliability": lambda s: (0, 0),
        "active+reliability": lambda s: (5 + s, 4 + s),
    }
    runs = [
        {
            "seed": s,
            "start": None,
            "curves": {
                name: {
                    "points": [
                        {
                            "judgments": checkpoint,
                            "model": swapped(pairs),
                            "bradley_terry": swapped(pairs),
                            "judged_images": 12,
                        }
                        for checkpoint, pairs in zip((15, 30), at(s), strict=True)
                    ],
                    "choice_ms_median": 1.0,
                }
                for name, at in swaps.items()
            },
        }
        for s in (0, 1)
    ]
    config = SimBenchConfig(
        judgments=30,
        checkpoints=(15, 30),
        seeds=2,
        resamples=50,
        weightings=("none", "reliability"),
    )
    report = summarise(config, runs)
    strategies = report["strategies"]
    for name, at in swaps.items():
        for k, row in enumerate(strategies[name]["curve"]):
            expected = np.mean([plain_tau(swapped(at(s)[k])) for s in (0, 1)])
            assert row["model_tau_truth"]["mean"] == pytest.approx(expected)
    assert strategies["random"]["curve"][0]["model_tau_truth"]["mean"] == pytest.approx(
        1 - 2 * 1.5 / 66
    )
    assert report["random_final_model_tau_truth"] == pytest.approx(1 - 2 * 3.5 / 66)
    reached = {name: entry["judgments_to_reach"] for name, entry in strategies.items()}
    assert reached == {
        "random": 15,
        "active": 30,
        "random+reliability": 15,
        "active+reliability": None,
    }
    better = strategies["random+reliability"]["curve"][0]["minus_unweighted"]
    assert better["mean"] == pytest.approx(2 * 1.5 / 66) and better["ci95"][0] >= 0
    worse = strategies["active+reliability"]["curve"][1]["minus_unweighted"]
    assert worse["mean"] == pytest.approx(-2 * 4.5 / 66) and worse["ci95"][1] <= 0
    assert "minus_unweighted" not in strategies["random"]["curve"][0]


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
