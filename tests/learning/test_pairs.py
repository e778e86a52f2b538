import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

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
    pairs = grade_preference_pairs(GRADES).listed()
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
        grade_preference_pairs(GRADES).listed(),
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


def naive_grade_pairs(grades: np.ndarray, abnormal_only: bool) -> list[tuple[int, int]]:
    """The reference: every ordered pair with different grades, by a double loop."""
    pool = [k for k, g in enumerate(grades) if (g > 0 if abnormal_only else g >= 0)]
    return [(a, b) for a in pool for b in pool if grades[a] != grades[b]]


@given(
    st.lists(st.integers(-1, 4), min_size=2, max_size=40),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_grade_pairs_are_found_without_listing_them_and_drawn_as_from_the_list(
    grades, abnormal_only, seed
):
    grades = np.array(grades)
    expected = naive_grade_pairs(grades, abnormal_only)
    if not expected:
        with pytest.raises(ValueError, match="preference step needs"):
            grade_preference_pairs(grades, abnormal_only)
        return
    pairs = grade_preference_pairs(grades, abnormal_only)
    listed = pairs.listed()
    assert len(pairs) == len(expected)
    assert list(zip(listed.i.tolist(), listed.j.tolist(), strict=True)) == expected
    # a draw is the listed pair at positions from the same random stream: seeds give
    # the pairs (and the models) they gave when the pairs were listed
    drawn = pairs.sample(50, np.random.default_rng(seed))
    picks = np.random.default_rng(seed).integers(0, len(expected), 50)
    assert [(int(a), int(b)) for a, b in zip(drawn.i, drawn.j, strict=True)] == [
        expected[k] for k in picks
    ]
    assert np.array_equal(drawn.target, (grades[drawn.i] > grades[drawn.j]).astype(np.float32))


def test_a_study_of_a_hundred_thousand_graded_images_draws_pairs_without_listing_them():
    """4e9 ordered pairs: listing them (16 bytes each, twice over) would need over 100 GB."""
    grades = np.random.default_rng(0).integers(0, 5, 100_000)
    pairs = grade_preference_pairs(grades, abnormal_only=False)
    counts = np.bincount(grades)
    assert len(pairs) == 100_000**2 - int((counts.astype(np.int64) ** 2).sum())
    drawn = pairs.sample(4096, np.random.default_rng(1))
    assert np.all(grades[drawn.i] != grades[drawn.j])
    # uniform over the pairs: a first image of grade g is drawn in proportion to its
    # partners, (n - count_g) * count_g of them
    share = np.bincount(grades[drawn.i], minlength=5) / len(drawn)
    expected = counts * (100_000 - counts) / len(pairs)
    assert np.allclose(share, expected, atol=0.03)
