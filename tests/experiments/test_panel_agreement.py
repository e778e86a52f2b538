"""The panel-consensus comparison (issue 24, item 6)."""

from types import SimpleNamespace

import numpy as np

from core.experiments.cluster_bootstrap import SeedBootstrap
from core.experiments.panel_agreement import (
    PanelSeed,
    agreement,
    majority,
    panel_figures,
    patient_pairs,
)


def _record(patients, truth, score):
    return {"patient": patients, "truth": truth, "score": score}


def test_pairs_join_two_patients_and_each_patient_belongs_to_one_cluster():
    patients = [p for p in range(7) for _ in range(p % 3 + 1)]  # 1-3 visits each
    left, right, cluster = patient_pairs(patients, seed=3)
    of = np.array(patients)
    assert (of[left] != of[right]).all()
    by_cluster: dict[int, set] = {}
    for a, b, c in zip(left, right, cluster, strict=True):
        by_cluster.setdefault(c, set()).update({of[a], of[b]})
    assert all(len(found) == 2 for found in by_cluster.values())
    members = [p for found in by_cluster.values() for p in found]
    assert len(members) == len(set(members)) == 6  # seven patients: one left over
    # every visit of one patient against every visit of the other
    for c, found in by_cluster.items():
        first, second = (patients.count(p) for p in found)
        assert cluster.count(c) == first * second


def test_majority_and_the_four_figures_on_a_hand_worked_panel():
    answers = np.array([[1, 1, -1, 0], [1, -1, -1, 1], [1, -1, 1, -1]])
    assert majority(answers).tolist() == [1, -1, -1, 9]  # the last: three different answers
    model = np.array([1, 1, -1, 1])
    figures = agreement(model, answers, np.arange(4))
    # rater pairs agree on 2/4 (r0, r1), 1/4 (r0, r2), 2/4 (r1, r2)
    assert np.isclose(figures["rater_mutual"], (0.5 + 0.25 + 0.5) / 3)
    assert np.isclose(figures["model_with_consensus"], 2 / 3)  # pairs 0 and 2 of 0-2
    # rater 0 against r1 = r2 (pairs 0, 1): 1/2; rater 1 against r0 = r2 (pair 0): 1;
    # rater 2 against r0 = r1 (pairs 0, 2): 1/2
    assert np.isclose(figures["rater_with_others"], (0.5 + 1 + 0.5) / 3)
    assert np.isclose(figures["model_with_others"], (0.5 + 1 + 1) / 3)


def _config(noises=(0.0, 0.0, 0.0)):
    return SimpleNamespace(panel=noises, position_bias=0.0, lapse=0.0)


def test_perfect_raters_agree_fully_and_only_the_true_order_matches_them():
    patients = [p for p in range(12) for _ in range(3)]
    truth = list(np.linspace(0, 1, len(patients)))
    config = _config()
    panel = PanelSeed(_record(patients, truth, truth), config, seed=0)
    bootstrap = SeedBootstrap(50)
    right = panel_figures(bootstrap, {0: panel}, {0: _record(patients, truth, truth)})
    backwards = [-t for t in truth]
    wrong = panel_figures(bootstrap, {0: panel}, {0: _record(patients, truth, backwards)})
    assert right["rater_mutual"]["mean"] == 1.0
    assert right["model_with_consensus"]["mean"] == 1.0
    assert wrong["model_with_consensus"]["mean"] == 0.0
    assert right["consensus_minus_mutual"]["ci95"] == [0.0, 0.0]


def test_noisier_raters_agree_less_and_the_interval_covers_the_seed_spread():
    patients = [p for p in range(20) for _ in range(4)]
    rng = np.random.default_rng(0)
    figures = {}
    for noise in (0.02, 0.3):
        panels, records = {}, {}
        for seed in range(3):
            truth = list(rng.random(len(patients)))
            record = _record(patients, truth, truth)
            panels[seed] = PanelSeed(record, _config((noise,) * 3), seed)
            records[seed] = record
        figures[noise] = panel_figures(SeedBootstrap(200), panels, records)
    quiet, noisy = figures[0.02]["rater_mutual"], figures[0.3]["rater_mutual"]
    assert quiet["mean"] > 0.9 and noisy["mean"] < 0.8
    low, high = noisy["ci95"]
    assert low < noisy["mean"] < high and high - low > 0.01
