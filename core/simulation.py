"""A simulated rater: answers "which image shows more severe disease?" from a known truth.

Thurstone's model of comparative judgment: the rater perceives each image's severity as
its true severity plus Gaussian noise, and answers from the difference. Below a
threshold the rater says "equal"; where the rater is unsure (the difference is small)
a position bias pulls towards "left"; a lapse is a random answer. Raters with different
noise and bias can be mixed to simulate a panel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.store import Answer, Store


@dataclass
class SimulatedRater:
    name: str = "Simulated rater"
    noise: float = 0.05  # SD of the perception noise, in units of the truth
    equal_below: float = 0.0  # |perceived difference| below this -> "equal"
    left_bias: float = 0.5  # P(answer "left") when unsure (|difference| < 2 x noise)
    lapse: float = 0.0  # probability of a random answer among left / right / equal
    seed: int = 0
    _rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.noise < 0 or self.equal_below < 0:
            raise ValueError("noise and equal_below cannot be negative")
        if not (0 <= self.left_bias <= 1 and 0 <= self.lapse <= 1):
            raise ValueError("left_bias and lapse are probabilities in [0, 1]")
        self._rng = np.random.default_rng(self.seed)

    def answer(self, truth_left: float, truth_right: float) -> str:
        """left / right / equal: which side the rater calls more severe."""
        rng = self._rng
        if rng.random() < self.lapse:
            return str(rng.choice(["left", "right", "equal"]))
        difference = (truth_left - truth_right) + rng.normal(0, self.noise * np.sqrt(2))
        if abs(difference) < self.equal_below:
            return "equal"
        if self.left_bias != 0.5 and abs(difference) < 2 * self.noise:
            return "left" if rng.random() < self.left_bias else "right"
        return "left" if difference > 0 else "right"


def judge_pairs(
    store: Store,
    rater: SimulatedRater,
    pairs: list[tuple[int, int]],
    truth: dict[int, float],
    strategy: str = "simulated",
) -> list[int]:
    """Append the rater's answers about ``pairs`` (image ids, left first) through the
    store's public API, as the Compare page would; returns the new judgment ids."""
    rater_id = store.raters.ensure(rater.name)
    return [
        store.judgments.append(
            Answer(
                left, right, rater.answer(truth[left], truth[right]), rater_id, strategy=strategy
            )
        )
        for left, right in pairs
    ]


def truth_of(store: Store) -> dict[int, float]:
    """The known severity of every image: the synthetic health score, else the grade."""
    rows = store.images.query()
    return {
        r["id"]: float(r["known_severity"] if r["known_severity"] is not None else r["grade"] or 0)
        for r in rows
    }


def simulated_panel(
    raters: list[SimulatedRater],
    truth: np.ndarray,
    answers_each: int,
    seed: int = 0,
    repeat_share: float = 0.0,
) -> list[dict]:
    """Answers of a panel about random pairs of ``truth`` (image ids are its indices),
    sides random, as rows of standing answers (the rater-quality measures' input),
    without a database. Each rater re-answers a share of their earlier pairs (sides
    swapped) as the Compare page's repeat pairs do."""
    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    for rater in raters:
        mine: list[dict] = []
        for _ in range(answers_each):
            if mine and rng.random() < repeat_share:
                first = mine[int(rng.integers(len(mine)))]
                left, right = first["right_image_id"], first["left_image_id"]
                repeat_of = first["id"]
            else:
                left, right = (int(k) for k in rng.choice(len(truth), 2, replace=False))
                repeat_of = None
            row = {
                "id": len(rows) + 1,
                "rater": rater.name,
                "left_image_id": left,
                "right_image_id": right,
                "outcome": rater.answer(float(truth[left]), float(truth[right])),
                "response_ms": int(rng.lognormal(np.log(4000), 0.5)),
                "repeat_of": repeat_of,
            }
            rows.append(row)
            if repeat_of is None:
                mine.append(row)
    return rows
