import numpy as np
import pytest

from core.learning.pairs import binary_pairs, combine, grade_preference_pairs, judgment_pairs

GRADES = np.array([0, 0, 0, 1, 2, 2, 3, 4])


def test_binary_pairs_draw_the_four_cases_equally():
    i, j, same = binary_pairs(GRADES, 20_000, np.random.default_rng(0))
    first_normal, second_normal = GRADES[i] == 0, GRADES[j] == 0
    for a in (True, False):
        for b in (True, False):
            share = np.mean((first_normal == a) & (second_normal == b))
            assert share == pytest.approx(0.25, abs=0.02)
    assert np.array_equal(same, (first_normal == second_normal).astype(np.float32))


def test_binary_pairs_need_both_groups():
    with pytest.raises(ValueError, match="both normal"):
        binary_pairs(np.array([1, 2, 3]), 4, np.random.default_rng(0))


def test_grade_pairs_are_abnormal_ordered_and_tie_free():
    pairs = grade_preference_pairs(GRADES)
    assert np.all(GRADES[pairs.i] > 0) and np.all(GRADES[pairs.j] > 0)
    assert np.all(GRADES[pairs.i] != GRADES[pairs.j])
    assert np.array_equal(pairs.target, (GRADES[pairs.i] > GRADES[pairs.j]).astype(np.float32))
    # 5 abnormal images, grades 1,2,2,3,4: 20 ordered pairs minus the 2 same-grade ones
    assert len(pairs) == 18


def test_judgment_pairs_map_outcomes_and_drop_what_cannot_train():
    ids = np.array([10, 11, 12])
    judgments = [
        {"left_image_id": 10, "right_image_id": 11, "outcome": "left"},
        {"left_image_id": 11, "right_image_id": 12, "outcome": "right"},
        {"left_image_id": 12, "right_image_id": 10, "outcome": "equal"},
        {"left_image_id": 10, "right_image_id": 12, "outcome": "skip"},
        {"left_image_id": 10, "right_image_id": 99, "outcome": "left"},  # not in this set
    ]
    pairs = judgment_pairs(judgments, ids)
    assert pairs.i.tolist() == [0, 1, 2] and pairs.j.tolist() == [1, 2, 0]
    assert pairs.target.tolist() == [1.0, 0.0, 0.5]


def test_sampling_is_with_replacement_and_combining_keeps_everything():
    both = combine(
        grade_preference_pairs(GRADES),
        judgment_pairs(
            [{"left_image_id": 0, "right_image_id": 1, "outcome": "equal"}], np.arange(8)
        ),
    )
    assert len(both) == 19
    sample = both.sample(1000, np.random.default_rng(1))
    assert len(sample) == 1000


def test_combining_nothing_is_a_clear_error():
    empty = judgment_pairs([], np.arange(3))
    with pytest.raises(ValueError, match="no preference pairs"):
        combine(empty)


def test_judgments_get_their_share_of_every_batch_however_many_grade_pairs_there_are():
    from core.learning.pairs import PairMixture, mix

    graded = grade_preference_pairs(np.arange(60) % 5)  # 1,440 grade pairs
    judged = judgment_pairs(
        [{"left_image_id": 0, "right_image_id": 1, "outcome": "left"}] * 3, np.arange(60)
    )
    mixed = mix(graded, judged, judgment_share=0.5)
    assert isinstance(mixed, PairMixture) and len(mixed) == len(graded) + 3
    sample = mixed.sample(4000, np.random.default_rng(0))
    from_judgments = np.mean((sample.i == 0) & (sample.j == 1) & (sample.target == 1.0))
    assert 0.45 < from_judgments < 0.55  # uniform over the union would give 0.2 %
    assert len(mix(graded, judged, 0.0)) == len(graded)  # share 0: grades only
    assert len(mix(graded, judged, 1.0)) == 3
    assert len(mix(None, judged, 0.5)) == 3
    with pytest.raises(ValueError, match="judgment_share"):
        mix(graded, judged, 1.5)
