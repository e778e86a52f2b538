"""The learning-curve benchmark, end to end at toy size, its Bradley-Terry ranking and
its statistics on hand-made curves."""

import json

import numpy as np
import pytest
from scipy.stats import kendalltau

from core.cli import main
from core.experiments.resampling import _tau
from core.experiments.sim_bench import (
    SimBenchConfig,
    bradley_terry,
    rater_panel,
    run_sim_benchmark,
    sim_table,
    summarise,
)
from core.learning.config import TrainConfig
from core.simulation import SimulatedRater
from tests.experiments.constructed import SWAP, run

# ImageNet's stem (as the app's first model) keeps a 16 px step cheap; each answer drawn
# once: 15 answers fit the 4 steps of a phase, 30 answers need 8 (judgment_steps)
TOY = TrainConfig(
    method="conpro",
    image_size=16,
    small_input=False,
    batch_size=8,
    pairs_per_phase=32,
    anchor_n=2,
    device="cpu",
    probe_epochs=5,
    judgment_passes=1.0,
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


def test_every_arm_retrains_at_every_checkpoint_and_the_control_as_long_without_answers(
    tmp_path,
):
    """One seed, end to end: each arm's point at each checkpoint; the reported tau is
    scipy's on the retrained model's held-out scores; the no-answers control trains
    exactly as many steps, phase by phase, as the answer arms at each checkpoint and sees
    no answer: at 15 answers that is the first model's training (reused), at 30 the
    answers lengthened the preference phase and the control trains as long; every arm's
    steps are in the report."""
    config = SimBenchConfig(
        patients=16,
        judgments=30,
        checkpoints=(15, 30),
        seeds=(3,),
        resamples=20,
        rater_noise=0.05,
        strategies=("random", "coverage", "no-answers"),
    )
    report = run_sim_benchmark(config, TOY, tmp_path / "sim.json")
    kept = json.loads((tmp_path / "sim.seeds" / "seed-003.json").read_text())
    run = kept["run"]
    assert run["seed"] == 3 and report["seeds"] == [3]
    assert set(report["strategies"]) == {"random", "coverage", "no-answers"}
    for name, entry in report["strategies"].items():
        points = run["curves"][name]["points"]
        assert [p["checkpoint"] for p in points] == [15, 30]
        for row, p in zip(entry["curve"], points, strict=True):
            assert len(p["model"]["score"]) > 0 and len(p["model"]["patient"]) > 0
            assert row["model_tau_truth"]["mean"] == pytest.approx(plain_tau(p["model"]))
            assert row["steps_by_phase"] == {3: p["steps"]}
    answered = run["curves"]["random"]["points"]
    control = run["curves"]["no-answers"]["points"]
    assert [p["judgments"] for p in answered] == [15, 30]
    for with_answers, without in zip(answered, control, strict=True):
        assert without["steps"] == without["target_steps"] == with_answers["steps"]
        assert without["judgments"] == without["judgments_trained_on"] == 0
        assert with_answers["judgments_trained_on"] == with_answers["judgments"]
    assert answered[0]["steps"] == run["start_steps"] == {"con": 4, "pro": 4}
    assert control[0]["same_as"] == "first model"
    assert control[0]["model"] == run["start"]
    assert answered[1]["steps"] == {"con": 4, "pro": 8} and "same_as" not in control[1]
    assert report["strategies"]["coverage"]["curve"][1]["judged_images"]["mean"] >= 2
    paired = report["strategies"]["coverage"]["curve"][0]["paired"]
    assert set(paired) == {"random", "no-answers"}
    assert report["wall_seconds"]["per_seed"][3] > 0
    assert report["config"]["train"]["image_size"] == 16


def test_from_a_few_normals_and_answers_alone_the_cold_start_model_trains(tmp_path):
    """Without grades there is no first model; the no-answers control of the cold start
    trains its self-supervised objective for as many steps in all as selfpro did."""
    config = SimBenchConfig(
        patients=16,
        labels="normals",
        normals=4,
        judgments=40,
        checkpoints=(40,),
        seeds=1,
        resamples=20,
        strategies=("active", "no-answers"),
    )
    report = run_sim_benchmark(config, TOY, tmp_path / "cold.json")
    assert report["first_model"] is None  # nothing to train before the answers
    (row,) = report["strategies"]["active"]["curve"]
    assert row["judgments"] == 40 and row["judged_images"]["mean"] >= 2
    (control,) = report["strategies"]["no-answers"]["curve"]
    assert set(row["steps_by_phase"][0]) == {"simclr", "semise"}
    assert set(control["steps_by_phase"][0]) == {"simclr"}
    assert control["steps"] == row["steps"] and control["judgments_trained_on"] == {0: 0}


def test_options_that_are_not_built_are_refused_in_words(capsys):
    with pytest.raises(SystemExit, match="--labels none is not available yet"):
        main(["sim-bench", "--labels", "none"])
    with pytest.raises(SystemExit, match="needs --data synthetic"):
        main(["sim-bench", "--labels", "normals", "--data", "x.npz"])
    with pytest.raises(SystemExit, match="increasing order"):
        main(["sim-bench", "--checkpoints", "500,250"])
    with pytest.raises(SystemExit, match="lists each of some of random, active"):
        main(["sim-bench", "--strategies", "random,greedy"])
    with pytest.raises(SystemExit, match="trains as long as an answer arm"):
        main(["sim-bench", "--strategies", "no-answers"])
    with pytest.raises(SystemExit, match="from the lower seed to the higher"):
        main(["sim-bench", "--seeds", "9-5"])
    with pytest.raises(SystemExit, match="give --out"):
        main(["sim-bench", "--merge"])


def test_a_panel_of_three_raters_of_different_noise_answers_in_equal_shares():
    config = SimBenchConfig(panel=(0.05, 0.1, 0.3), guessing_share=0.25, position_bias=0.1)
    panel = rater_panel(config, seed=7)
    assert [r.noise for r, _ in panel[:3]] == [0.05, 0.1, 0.3]
    assert [share for _, share in panel] == pytest.approx([0.25, 0.25, 0.25, 0.25])
    assert len({r.name for r, _ in panel}) == 4  # each its own rater in the store
    assert panel[-1][0].lapse == 1.0  # the guesser
    assert all(r.left_bias == 0.6 and r.lapse == config.lapse for r, _ in panel[:3])
    # the raters differ in quality: on pairs 0.1 apart the noisiest errs most often
    errors = [
        sum(r.answer(0.6, 0.5) != "left" for _ in range(400))
        for r in (SimulatedRater(noise=n, seed=1) for n in (0.05, 0.1, 0.3))
    ]
    assert errors == sorted(errors) and errors[0] < errors[2]
    (single,) = rater_panel(SimBenchConfig(rater_noise=0.3), seed=7)
    assert single[0].name == "Simulated rater" and single[0].noise == 0.3 and single[1] == 1.0


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
    """Two seeds of hand-made curves (tau 1 - swaps * 2/66): the reported means are the
    known taus, the paired differences the known differences against random and against
    no-answers, and judgments_to_reach the known interpolation: from the first model (6
    swaps) at 0 answers, active (3, then 1 swap at 100 and 200 answers) reaches random's
    100-answer figure (4 swaps) two thirds of the way to 100, and its 200-answer figure
    (2 swaps) half way from 100 to 200; coverage never reaches random's 200. Active
    minus its control, coverage, is the known difference too."""
    swaps = {
        "random": [4, 2],
        "active": [3, 1],
        "coverage": [4, 3],
        "no-answers": [6, 5],
        "random+reliability": [4, 0],
    }
    runs = [run(seed, swaps, (100, 200)) for seed in (0, 1)]
    config = SimBenchConfig(
        judgments=200,
        checkpoints=(100, 200),
        seeds=(0, 1),
        resamples=200,
        strategies=("random", "active", "coverage", "no-answers"),
        weightings=("none", "reliability"),
    )
    report = summarise(config, runs)
    strategies = report["strategies"]
    assert report["first_model"]["mean"] == pytest.approx(1 - 6 * SWAP)
    for name, at in swaps.items():
        for row, s in zip(strategies[name]["curve"], at, strict=True):
            assert row["model_tau_truth"]["mean"] == pytest.approx(1 - s * SWAP)
            low, high = row["model_tau_truth"]["ci95"]
            assert low <= 1 - s * SWAP + 1e-9 and high >= low
    active = strategies["active"]["curve"]
    assert active[1]["paired"]["random"]["mean"] == pytest.approx(SWAP)
    assert active[1]["paired"]["no-answers"]["mean"] == pytest.approx(4 * SWAP)
    assert active[1]["paired"]["no-answers"]["ci95"][0] > 0
    assert active[1]["paired"]["random"]["seeds"] == [0, 1]
    # against its own control (coverage: 4 then 3 swaps), seed by seed
    assert active[0]["minus_control"]["mean"] == pytest.approx(SWAP)
    assert active[1]["minus_control"]["mean"] == pytest.approx(2 * SWAP)
    assert active[1]["minus_control"]["per_seed"] == {0: pytest.approx(2 * SWAP)} | {
        1: pytest.approx(2 * SWAP)
    }
    assert all("minus_control" not in row for row in strategies["random"]["curve"])
    assert all("minus_control" not in row for row in strategies["coverage"]["curve"])
    assert strategies["no-answers"]["curve"][0]["bradley_terry_tau_truth"] is None
    assert "no-answers" not in strategies["no-answers"]["curve"][0]["paired"]
    reached = strategies["active"]["judgments_to_reach"]
    assert reached[100]["judgments"] == pytest.approx(200 / 3)
    assert reached[200]["judgments"] == pytest.approx(150)
    assert reached[100]["random_tau_truth"] == pytest.approx(1 - 4 * SWAP)
    assert strategies["coverage"]["judgments_to_reach"][100]["judgments"] == pytest.approx(100)
    assert strategies["coverage"]["judgments_to_reach"][200]["judgments"] is None
    assert "judgments_to_reach" not in strategies["random"]
    assert "judgments_to_reach" not in strategies["no-answers"]
    better = strategies["random+reliability"]["curve"][1]["minus_unweighted"]
    assert better["mean"] == pytest.approx(2 * SWAP)
    assert "minus_unweighted" not in strategies["random"]["curve"][0]
    table = sim_table(report)
    assert "| active | 200 | 0.970" in table and "active reaches random's 100-answer" in table
    assert f"| active | coverage | 200 | {2 * SWAP:+.3f} [" in table


def test_a_seed_that_diverged_in_one_arm_is_left_out_of_its_pairings_and_said_so():
    """Seed 1's active training diverged at 200 answers: active's 200-answer figures and
    its pairings there use seeds 0 and 2 only, and say why seed 1 is missing; every
    other figure keeps all three seeds, paired seed by seed (a pairing by list position
    would pair seed 2's active with seed 1's random)."""
    swaps = {"random": [4, 2], "active": [3, 1], "no-answers": [6, 5]}
    runs = [
        run(0, swaps, (100, 200)),
        run(1, {**swaps, "active": [3], "random": [5, 5]}, (100, 200)),
        run(2, {**swaps, "random": [2, 0]}, (100, 200)),
    ]
    config = SimBenchConfig(
        judgments=200,
        checkpoints=(100, 200),
        seeds=(0, 1, 2),
        resamples=100,
        strategies=("random", "active", "no-answers"),
    )
    report = summarise(config, runs)
    active = report["strategies"]["active"]["curve"]
    assert active[0]["seeds"] == [0, 1, 2] and active[1]["seeds"] == [0, 2]
    assert "active diverged at 200 answers" in active[1]["left_out"][1]
    against = active[1]["paired"]["random"]
    assert against["seeds"] == [0, 2] and set(against["left_out"]) == {1}
    assert "diverged" in against["left_out"][1]
    # seed 0: 1 swap against 2; seed 2: 1 against 0
    assert against["per_seed"] == pytest.approx({0: SWAP, 2: -SWAP})
    assert against["mean"] == pytest.approx(0.0)
    assert active[0]["paired"]["random"]["seeds"] == [0, 1, 2]
    random_row = report["strategies"]["random"]["curve"][1]
    assert random_row["paired"]["no-answers"]["seeds"] == [0, 1, 2]
    assert report["diverged"] == [
        {"seed": 1, "arm": "active", "checkpoint": 200, "diverged": True, "error": "nan"}
    ]
    # judgments_to_reach needs both curves whole: seeds 0 and 2
    assert report["strategies"]["active"]["judgments_to_reach"][100]["seeds"] == [0, 2]
    assert "seed 1: active diverged at 200" in sim_table(report)


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
