"""Resumable seeds: each seed's result kept in its own file, a later run skips them, and
a merge reports on them all exactly as one run of every seed would."""

import json

import pytest

from core.cli import main
from core.experiments import sim_bench
from core.experiments.seed_runs import SeedFolderError, parse_seeds, seed_folder
from core.experiments.sim_bench import SimBenchConfig, merge_seed_results, run_sim_benchmark
from core.learning.config import TrainConfig
from tests.experiments.constructed import run

CHECKPOINTS = (100, 200)
CONFIG = SimBenchConfig(
    judgments=200,
    checkpoints=CHECKPOINTS,
    resamples=100,
    strategies=("random", "active", "no-answers"),
)


@pytest.fixture
def ran(monkeypatch):
    """run_seed replaced by hand-made results that differ from seed to seed; the seeds it
    was asked to run."""
    asked = []

    def fake(config, base, seed, folder):
        asked.append(seed)
        swaps = {"random": [4, seed % 3], "active": [seed % 4, 1], "no-answers": [6, 5]}
        return run(seed, swaps, config.checkpoints, start=5 + seed % 2)

    monkeypatch.setattr(sim_bench, "run_seed", fake)
    return asked


def with_seeds(seeds) -> SimBenchConfig:
    return SimBenchConfig(**{**CONFIG.__dict__, "seeds": tuple(seeds)})


def test_seeds_are_a_count_a_range_or_a_list():
    assert parse_seeds("5") == (0, 1, 2, 3, 4)
    assert parse_seeds("5-9") == (5, 6, 7, 8, 9)
    assert parse_seeds("0,3,7") == (0, 3, 7)
    assert parse_seeds("0-2, 7") == (0, 1, 2, 7)
    for bad in ("9-5", "a", "1,1", "-3"):
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(bad)


def test_two_halves_merged_report_exactly_what_one_run_of_all_seeds_reports(ran, tmp_path):
    together = run_sim_benchmark(with_seeds(range(6)), TrainConfig(), tmp_path / "all.json")
    run_sim_benchmark(with_seeds(range(3)), TrainConfig(), tmp_path / "halves.json")
    second = run_sim_benchmark(with_seeds(range(3, 6)), TrainConfig(), tmp_path / "halves.json")
    merged = merge_seed_results(tmp_path / "halves.json", CONFIG.resamples)
    assert merged == together == second
    assert together["seeds"] == [0, 1, 2, 3, 4, 5]
    assert ran == [0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5]
    # a run of seeds already kept runs nothing and reports the same
    again = run_sim_benchmark(with_seeds(range(6)), TrainConfig(), tmp_path / "halves.json")
    assert len(ran) == 12 and again == together
    # a report on fewer seeds differs: the merge did not just copy the last half
    assert run_sim_benchmark(with_seeds(range(3)), TrainConfig())["seeds"] == [0, 1, 2]


def test_a_folder_of_other_settings_is_refused_before_anything_runs(ran, tmp_path):
    run_sim_benchmark(with_seeds([0]), TrainConfig(), tmp_path / "sim.json")
    noisier = SimBenchConfig(**{**with_seeds([1]).__dict__, "rater_noise": 0.3})
    with pytest.raises(SeedFolderError, match="other settings"):
        run_sim_benchmark(noisier, TrainConfig(), tmp_path / "sim.json")
    assert ran == [0]
    with pytest.raises(SeedFolderError, match="no seed results"):
        merge_seed_results(tmp_path / "none.json", 10)


def test_the_command_merges_the_seeds_kept_beside_out(ran, tmp_path, capsys):
    out = tmp_path / "sim.json"
    run_sim_benchmark(with_seeds([2, 5]), TrainConfig(), out)
    assert sorted(p.name for p in seed_folder(out).iterdir()) == ["seed-002.json", "seed-005.json"]
    assert main(["sim-bench", "--merge", "--out", str(out), "--resamples", "100"]) == 0
    report = json.loads(out.read_text())
    assert report["seeds"] == [2, 5] and report["config"]["seeds"] == [2, 5]
    assert report["config"]["rater_noise"] == CONFIG.rater_noise
    assert report["wall_seconds"]["per_seed"] == {"2": 12.0, "5": 15.0}
    assert "active reaches random's 200-answer" in capsys.readouterr().out
