import numpy as np
import pytest

from core.simulation import SimulatedRater, judge_pairs, truth_of


def _share(rater, left, right, n=2000):
    answers = [rater.answer(left, right) for _ in range(n)]
    return {o: answers.count(o) / n for o in ("left", "right", "equal")}


def test_a_noiseless_rater_answers_the_truth():
    rater = SimulatedRater(noise=0.0)
    assert rater.answer(0.6, 0.2) == "left" and rater.answer(0.1, 0.3) == "right"


def test_thurstone_noise_makes_close_pairs_uncertain_and_far_pairs_sure():
    rater = SimulatedRater(noise=0.1, seed=1)
    assert _share(rater, 0.9, 0.1)["left"] > 0.99
    close = _share(rater, 0.52, 0.5)["left"]
    # P(left) = Phi(0.02 / (0.1 * sqrt 2)) = 0.556
    assert 0.52 < close < 0.59


def test_equal_threshold_bias_and_lapses():
    assert _share(SimulatedRater(noise=0.0, equal_below=0.05), 0.52, 0.5)["equal"] == 1.0
    biased = SimulatedRater(noise=0.1, left_bias=0.9, seed=2)
    assert _share(biased, 0.5, 0.5)["left"] > 0.8  # unsure -> mostly "left"
    assert _share(biased, 0.1, 0.9)["right"] > 0.99  # sure -> the truth
    lapsing = SimulatedRater(noise=0.0, lapse=0.3, seed=3)
    assert 0.07 < _share(lapsing, 0.9, 0.1)["equal"] < 0.13  # a third of the lapses
    with pytest.raises(ValueError):
        SimulatedRater(lapse=1.5)


def test_answers_go_through_the_store_like_the_compare_page(store, make_png, tmp_path):
    from core.importers import import_folder

    for seed in range(3):
        make_png(tmp_path / "in" / f"{seed}.png", seed=seed)
    import_folder(store, tmp_path / "in", "d")
    truth = {i: float(k) for k, i in enumerate(store.images.ids())}
    a, b, c = store.images.ids()
    ids = judge_pairs(store, SimulatedRater(noise=0.0), [(a, b), (c, b)], truth)
    outcomes = [j["outcome"] for j in store.judgments.effective()]
    assert len(ids) == 2 and outcomes == ["right", "left"]
    assert set(truth_of(store)) == {a, b, c}
    assert np.isfinite(list(truth_of(store).values())).all()
