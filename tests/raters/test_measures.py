"""Each rater measure on constructed answers whose result is known by hand."""

import numpy as np
import pytest

from core.raters import report_from_rows
from core.raters.answers import answers_frame
from core.raters.cycles import majority_cycles, rater_cycles
from core.raters.measures import (
    agreement_with_consensus,
    agreement_with_model,
    krippendorff_alpha,
    pairwise_agreement,
    position_bias,
    response_time,
    self_consistency,
)


def rows_of(answers, rater="A", start=1):
    """(left, right, outcome[, repeat_of]) tuples as standing-answer rows."""
    rows = []
    for k, answer in enumerate(answers):
        left, right, outcome, *rest = answer
        rows.append(
            {
                "id": start + k,
                "rater": rater,
                "left_image_id": left,
                "right_image_id": right,
                "outcome": outcome,
                "response_ms": 3000,
                "repeat_of": rest[0] if rest else None,
            }
        )
    return rows


def random_pairs(count, images=30, seed=0):
    rng = np.random.default_rng(seed)
    return [tuple(int(x) for x in rng.choice(images, 2, replace=False)) for _ in range(count)]


def test_a_rater_who_always_answers_left_has_bias_one():
    frame = answers_frame(rows_of([(a, b, "left") for a, b in random_pairs(40)]))
    bias = position_bias(frame)
    assert bias.value == 1.0 and bias.p_value < 1e-9
    balanced = answers_frame(
        rows_of([(a, b, "left" if k % 2 else "right") for k, (a, b) in enumerate(random_pairs(40))])
    )
    assert position_bias(balanced).value == 0.5 and position_bias(balanced).p_value == 1.0


def test_equal_answers_do_not_count_towards_position_bias():
    answers = [(a, b, "left") for a, b in random_pairs(20)] + [(1, 2, "equal")] * 30
    assert position_bias(answers_frame(rows_of(answers))).n == 20


def test_three_answers_in_a_cycle_form_one_cycle():
    frame = answers_frame(rows_of([(1, 2, "left"), (3, 2, "right"), (3, 1, "left")]))
    assert rater_cycles(frame) == [(1, 2, 3)]  # 1 > 2 > 3 > 1
    transitive = answers_frame(rows_of([(1, 2, "left"), (2, 3, "left"), (1, 3, "left")]))
    assert rater_cycles(transitive) == []


def test_a_corrected_answer_breaks_the_cycle_it_made():
    rows = rows_of([(1, 2, "left"), (2, 3, "left"), (3, 1, "left"), (1, 3, "left", 3)])
    assert rater_cycles(answers_frame(rows)) == []  # the repeat, given last, stands


def test_the_majority_graph_has_a_cycle_no_single_rater_has():
    rows = (
        rows_of([(1, 2, "left"), (2, 3, "left")], "A", 1)
        + rows_of([(2, 3, "left"), (3, 1, "left")], "B", 10)
        + rows_of([(3, 1, "left"), (1, 2, "left")], "C", 20)
    )
    frame = answers_frame(rows)
    assert all(rater_cycles(frame[frame["rater"] == r]) == [] for r in "ABC")
    assert majority_cycles(frame) == [(1, 2, 3)]


def test_two_identical_raters_have_alpha_one_and_full_agreement():
    outcomes = ("left", "right", "equal")
    answers = [(a, b, outcomes[k % 3]) for k, (a, b) in enumerate(random_pairs(12))]
    rows = rows_of(answers, "A", 1) + rows_of([(b, a, _swap(o)) for a, b, o in answers], "B", 100)
    frame = answers_frame(rows)
    assert krippendorff_alpha(frame).value == pytest.approx(1.0)
    agree, shared = pairwise_agreement(frame)
    assert agree.loc["A", "B"] == 1.0 and shared.loc["A", "B"] == len(set(map(_key, answers)))


def test_raters_who_always_disagree_have_negative_alpha():
    answers = [(a, b, "left" if k % 2 else "right") for k, (a, b) in enumerate(random_pairs(12))]
    rows = rows_of(answers, "A", 1) + rows_of(answers, "B", 100)
    rows += rows_of([(a, b, _swap(o)) for a, b, o in answers], "C", 200)
    alpha = krippendorff_alpha(answers_frame(rows))
    assert alpha.value < 0


def test_self_consistency_compares_a_repeat_with_the_answer_it_repeats():
    first = [(a, b, "left") for a, b in random_pairs(6, seed=3)]
    # sides swapped: agreeing with "left" on (a, b) is "right" on (b, a)
    repeats = [(b, a, "right", k + 1) for k, (a, b, _) in enumerate(first[:4])]
    repeats += [(b, a, "left", k + 5) for k, (a, b, _) in enumerate(first[4:])]
    frame = answers_frame(rows_of(first + repeats))
    consistency = self_consistency(frame, frame)
    assert consistency.value == pytest.approx(4 / 6) and consistency.n == 6
    low, high = consistency.ci95
    assert low < 4 / 6 < high


def test_agreement_with_the_consensus_leaves_the_rater_out():
    pairs = random_pairs(12, seed=5)
    truth_answers = [(a, b, "left") for a, b in pairs]
    rows = rows_of(truth_answers, "A", 1) + rows_of(truth_answers, "B", 100)
    rows += rows_of([(a, b, "right") for a, b in pairs], "C", 200)  # the odd one out
    consensus = agreement_with_consensus(answers_frame(rows))
    # A's others are B (agrees) and C (disagrees): a tie, left out; the same for B
    assert consensus["A"].n == 0 and not consensus["A"].enough
    assert consensus["C"].value == 0.0 and consensus["C"].n == 12


def test_agreement_with_the_model_reads_its_scores():
    pairs = random_pairs(20, seed=7)
    frame = answers_frame(rows_of([(a, b, "left") for a, b in pairs]))
    higher_left = {i: 0.0 for i in range(30)}
    measure = agreement_with_model(frame, {i: float(-i) for i in range(30)})
    expected = np.mean([a < b for a, b in pairs])
    assert measure.value == pytest.approx(expected)
    assert not agreement_with_model(frame, {}).enough
    assert agreement_with_model(frame, higher_left).value == 0.0  # ties agree with nobody


def test_response_times_and_fast_answers():
    rows = rows_of([(a, b, "left") for a, b in random_pairs(6)])
    for row, ms in zip(rows, [200, 300, 4000, 5000, 6000, 9000], strict=True):
        row["response_ms"] = ms
    median, fast = response_time(answers_frame(rows))
    assert median.value == pytest.approx(4.5) and fast == 2


def test_too_few_answers_say_so_instead_of_a_number():
    report = report_from_rows(rows_of([(1, 2, "left"), (2, 3, "left")], "<b>Dr X</b>"))
    figures = report.raters["<b>Dr X</b>"]
    assert figures.position_bias.value is None
    assert figures.position_bias.text() == "not enough answers yet (2 of 20 needed)"
    assert report.plain()["raters"]["<b>Dr X</b>"]["notes"]["reliability"].startswith(
        "not enough answers yet"
    )
    assert report.alpha.value is None and report.percent_agreement.value is None


def test_no_answers_at_all_give_an_empty_report():
    report = report_from_rows([])
    assert report.raters == {} and report.table().empty and report.majority_cycles == []


def _swap(outcome):
    return {"left": "right", "right": "left", "equal": "equal"}[outcome]


def _key(answer):
    return tuple(sorted(answer[:2]))


def test_three_cycles_match_networkx_on_a_random_tournament():
    import networkx as nx

    from core.raters.cycles import three_cycles

    rng = np.random.default_rng(4)
    pairs = {tuple(sorted(int(x) for x in rng.choice(25, 2, replace=False))) for _ in range(150)}
    edges = [(a, b) if rng.random() < 0.5 else (b, a) for a, b in sorted(pairs)]
    frame = answers_frame(rows_of([(winner, loser, "left") for winner, loser in edges]))
    graph = nx.DiGraph(edges)
    expected = set()
    for cycle in nx.simple_cycles(graph, length_bound=3):
        if len(cycle) == 3:
            k = cycle.index(min(cycle))
            expected.add(tuple(cycle[k:] + cycle[:k]))
    found = three_cycles(frame[frame["decisive"]])
    assert len(expected) > 10 and found == sorted(expected)
