"""Where training pairs come from: grade labels (as in the papers) and expert judgments.

Index arrays refer to positions in the training ``ImageSet``. Sampling is with
replacement, as in the ConPro paper (1e5 pairs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OUTCOME_TARGET = {"left": 1.0, "right": 0.0, "equal": 0.5}


@dataclass(frozen=True)
class PreferencePairs:
    """``target`` is 1 when image i is more severe, 0 when j is, 0.5 for a tie.
    ``weight`` (optional, not all zero) makes a pair that much likelier to be drawn: how
    much its rater is trusted. Drawing in proportion to the weight gives the weighted
    loss in expectation, without a weight inside any loss."""

    i: np.ndarray
    j: np.ndarray
    target: np.ndarray
    weight: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.i)

    def sample(self, count: int, rng: np.random.Generator) -> PreferencePairs:
        if self.weight is None:
            pick = rng.integers(0, len(self), count)
        else:
            pick = rng.choice(len(self), count, p=self.weight / self.weight.sum())
        return PreferencePairs(self.i[pick], self.j[pick], self.target[pick])


def binary_pairs(
    grades: np.ndarray, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Con-step pairs: (normal, normal), (abnormal, abnormal), (normal, abnormal) and
    (abnormal, normal) equally likely, so half are positives. Returns (i, j, same_group)."""
    normal, abnormal = np.flatnonzero(grades == 0), np.flatnonzero(grades > 0)
    if len(normal) < 1 or len(abnormal) < 1:
        raise ValueError("the Con step needs both normal (grade 0) and abnormal images")
    case = rng.integers(0, 4, count)
    first_normal, second_normal = np.isin(case, (0, 2)), np.isin(case, (0, 3))
    i = np.where(first_normal, rng.choice(normal, count), rng.choice(abnormal, count))
    j = np.where(second_normal, rng.choice(normal, count), rng.choice(abnormal, count))
    return i, j, (first_normal == second_normal).astype(np.float32)


def grade_preference_pairs(grades: np.ndarray, abnormal_only: bool = True) -> GradePairs:
    """Every ordered pair of images with different grades (both abnormal in ConPro's PrO
    step). Same-grade pairs are left out: a grade tie says little about severity
    within a grade, and expert "equal" answers carry the ties instead."""
    pool = np.flatnonzero(grades > 0 if abnormal_only else grades >= 0)
    if len(pool) < 2:
        raise ValueError("the preference step needs at least two graded images")
    pairs = GradePairs(pool, grades)
    if len(pairs) == 0:
        raise ValueError("the preference step needs images of at least two different grades")
    return pairs


class GradePairs:
    """The ordered pairs of ``pool`` (positions, ascending) whose grades differ, in the
    order a listing would give them (by first image, then by second), never listed:
    a study of 70,000 training images has billions. The ``k``-th pair is found from the
    running count of each first image's partners (the pool minus its own grade) and,
    within its row, as the ``r``-th position of the pool outside that grade. So drawing
    ``count`` of them costs memory in the pool's size and gives the pairs, and the
    random stream, that drawing from the listed pairs did."""

    def __init__(self, pool: np.ndarray, grades: np.ndarray) -> None:
        self.pool = np.asarray(pool)
        self.grades = np.asarray(grades)
        pool_grades = self.grades[self.pool]
        self._values, inverse, counts = np.unique(
            pool_grades, return_inverse=True, return_counts=True
        )
        self._group = inverse.reshape(-1)  # each pool image's grade, as an index
        partners = len(self.pool) - counts[self._group]  # pool images of another grade
        self._row_end = np.cumsum(partners)  # pairs listed up to each first image's last
        self._row_start = self._row_end - partners
        # per grade: where its images sit in the pool, less how many came before each
        # (the number of other-grade positions before it): the r-th outsider's place
        self._gaps = [np.flatnonzero(self._group == g) - np.arange(n) for g, n in enumerate(counts)]

    def __len__(self) -> int:
        return int(self._row_end[-1]) if len(self._row_end) else 0

    def at(self, k: np.ndarray) -> PreferencePairs:
        """The pairs at listing positions ``k``."""
        k = np.asarray(k, dtype=np.int64)
        row = np.searchsorted(self._row_end, k, side="right")
        r = k - self._row_start[row]  # the pair's place in its row
        column = np.empty_like(k)
        for g, gaps in enumerate(self._gaps):
            mine = self._group[row] == g
            column[mine] = r[mine] + np.searchsorted(gaps, r[mine], side="right")
        i, j = self.pool[row], self.pool[column]
        return PreferencePairs(i, j, (self.grades[i] > self.grades[j]).astype(np.float32))

    def sample(self, count: int, rng: np.random.Generator) -> PreferencePairs:
        return self.at(rng.integers(0, len(self), count))

    def listed(self) -> PreferencePairs:
        """Every pair, in order: for small sets (tests), never for a study."""
        return self.at(np.arange(len(self)))


def judgment_pairs(
    judgments: list[dict],
    image_ids: np.ndarray,
    rater_weight: dict[int, float] | None = None,
    new_after: int | None = None,
    new_share: float = 0.5,
) -> PreferencePairs:
    """Expert answers (left / right / equal) about images of this set; others dropped.
    With ``rater_weight`` (rater id -> weight), each answer is drawn in proportion to
    its rater's weight; a rater of weight 0 is not drawn at all. With ``new_after`` (a
    judgment id), the answers given after it make ``new_share`` of the draws and the
    earlier ones, replayed, the rest (a warm retrain learns the new answers first)."""
    position = {int(image_id): k for k, image_id in enumerate(image_ids)}
    kept = [
        (
            position[j["left_image_id"]],
            position[j["right_image_id"]],
            OUTCOME_TARGET[j["outcome"]],
            1.0 if rater_weight is None else rater_weight.get(j["rater_id"], 1.0),
            j["id"] > new_after if new_after is not None else False,
        )
        for j in judgments
        if j["outcome"] in OUTCOME_TARGET
        and j["left_image_id"] in position
        and j["right_image_id"] in position
    ]
    if not kept:
        empty = np.zeros(0, dtype=int)
        return PreferencePairs(empty, empty, np.zeros(0, dtype=np.float32))
    i, j, target, weight, new = (np.array(column) for column in zip(*kept, strict=True))
    weight = weight.astype(float)
    if new_after is not None and weight[new].sum() > 0 and weight[~new].sum() > 0:
        weight = np.where(
            new,
            new_share * weight / max(weight[new].sum(), 1e-12),
            (1 - new_share) * weight / max(weight[~new].sum(), 1e-12),
        )
    elif rater_weight is None or weight.sum() <= 0:
        return PreferencePairs(i, j, target.astype(np.float32))
    return PreferencePairs(i, j, target.astype(np.float32), weight)


def combine(*sources: PreferencePairs) -> PreferencePairs:
    kept = [s for s in sources if len(s)]
    if not kept:
        raise ValueError("no preference pairs: no graded images and no expert judgments")
    if len(kept) == 1:
        return kept[0]
    weighted = any(s.weight is not None for s in kept)
    return PreferencePairs(
        np.concatenate([s.i for s in kept]),
        np.concatenate([s.j for s in kept]),
        np.concatenate([s.target for s in kept]),
        np.concatenate([np.ones(len(s)) if s.weight is None else s.weight for s in kept])
        if weighted
        else None,
    )


PairSource = PreferencePairs | GradePairs  # what a batch's pairs are drawn from


@dataclass(frozen=True)
class PairMixture:
    """Draws each pair from one of several sources in fixed shares. A few hundred expert
    answers sit beside hundreds of thousands of grade pairs; sampled uniformly from the
    union they would hardly ever be seen, so each source gets its share of every batch."""

    sources: tuple[PairSource, ...]
    shares: tuple[float, ...]

    def __len__(self) -> int:
        return sum(len(s) for s in self.sources)

    def sample(self, count: int, rng: np.random.Generator) -> PreferencePairs:
        counts = rng.multinomial(count, self.shares)
        return combine(*(s.sample(n, rng) for s, n in zip(self.sources, counts, strict=True) if n))


def mix(
    grade_pairs: GradePairs | None, judged: PreferencePairs | None, judgment_share: float
) -> PairSource | PairMixture:
    """Grade pairs and expert pairs, the experts' share of each batch ``judgment_share``
    when there are both; whichever exists alone otherwise."""
    if not 0.0 <= judgment_share <= 1.0:
        raise ValueError(f"judgment_share must lie in [0, 1], not {judgment_share}")
    kept: list[tuple[PairSource, float]] = [
        (p, w) for p, w in ((grade_pairs, 1 - judgment_share), (judged, judgment_share)) if p
    ]
    if len(kept) == 2:
        kept = [(p, w) for p, w in kept if w > 0]
    if len(kept) == 2:
        return PairMixture(tuple(p for p, _ in kept), tuple(w for _, w in kept))
    if not kept:
        raise ValueError("no preference pairs: no graded images and no expert judgments")
    return kept[0][0]
