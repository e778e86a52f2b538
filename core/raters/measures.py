"""Rater-quality measures on standing answers (see ``answers.answers_frame``).

Each measure returns a ``Measure``: a value with its 95% interval and the number of
answers behind it, or, below a minimum, no value and the words "not enough answers yet
(n of m needed)". Nothing here divides by zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import krippendorff
import numpy as np
import pandas as pd
from scipy.stats import binomtest

from .answers import latest_per_pair

# The least evidence each measure is shown with; below it the table says so instead.
MINIMUM = {
    "position_bias": 20,  # decisive answers
    "self_consistency": 5,  # repeats answered
    "agreement_consensus": 10,  # answers about pairs that other raters answered too
    "agreement_model": 10,  # decisive answers about two images the model scored
    "reliability": 20,  # decisive answers
    "median_response_s": 5,  # timed answers
    "alpha": 10,  # pairs answered by two or more raters
}
# Faster than this, nobody has looked at two fundus photographs (a plausible minimum).
FAST_ANSWER_MS = 700


@dataclass(frozen=True)
class Measure:
    value: float | None
    n: int
    needed: int = 0
    ci95: tuple[float, float] | None = None
    p_value: float | None = None

    @property
    def enough(self) -> bool:
        return self.value is not None

    def text(self, digits: int = 2) -> str:
        if self.value is None:
            return f"not enough answers yet ({self.n} of {self.needed} needed)"
        shown = f"{self.value:.{digits}f}"
        if self.ci95 is not None:
            shown += f" [{self.ci95[0]:.{digits}f}, {self.ci95[1]:.{digits}f}]"
        return shown


def too_few(n: int, what: str) -> Measure:
    return Measure(None, n, MINIMUM[what])


def share(successes: int, n: int, what: str) -> Measure:
    """A proportion with its Wilson 95% interval."""
    if n < MINIMUM[what]:
        return too_few(n, what)
    interval = binomtest(successes, n).proportion_ci(0.95, method="wilson")
    return Measure(successes / n, n, MINIMUM[what], (interval.low, interval.high))


def position_bias(answers: pd.DataFrame) -> Measure:
    """Share of decisive answers that chose the LEFT image (1 = always left, 0.5 = none),
    and the two-sided binomial test against 0.5. Sides are randomised when pairs are
    shown, so any deviation from 0.5 is the rater's, not the images'."""
    decisive = answers[answers["decisive"]]
    n, lefts = len(decisive), int((decisive["outcome"] == "left").sum())
    measure = share(lefts, n, "position_bias")
    if not measure.enough:
        return measure
    return Measure(measure.value, n, measure.needed, measure.ci95, binomtest(lefts, n).pvalue)


def self_consistency(answers: pd.DataFrame, everyone: pd.DataFrame) -> Measure:
    """Share of this rater's repeats answered as the original was (same image more
    severe, or equal both times); the repeat shows the sides swapped."""
    repeats = answers[answers["repeat_of"].notna()]
    code_of = everyone.set_index("id")["code"]
    originals = repeats["repeat_of"].astype(np.int64)
    known = originals.isin(code_of.index).to_numpy()
    same = repeats["code"].to_numpy()[known] == code_of.loc[originals[known]].to_numpy()
    return share(int(same.sum()), int(known.sum()), "self_consistency")


def agreement_with_consensus(everyone: pd.DataFrame) -> dict[str, Measure]:
    """Per rater: share of their answers about pairs that others answered too where
    they agree with the others' majority (leave-one-out; pairs where the others are
    split evenly are left out)."""
    latest = latest_per_pair(everyone)
    shared = latest[latest.groupby(["low", "high"])["rater"].transform("size") >= 2]
    counts = shared.pivot_table(
        index=["low", "high"], columns="code", values="id", aggfunc="size", fill_value=0
    ).reindex(columns=[-1, 0, 1], fill_value=0)
    merged = shared.join(counts, on=["low", "high"])
    others = merged[[-1, 0, 1]].to_numpy() - (
        merged["code"].to_numpy()[:, None] == np.array([-1, 0, 1])
    )
    top = others.max(axis=1)
    clear = (others == top[:, None]).sum(axis=1) == 1
    majority = np.array([-1, 0, 1])[others.argmax(axis=1)]
    merged = merged.assign(clear=clear, agrees=majority == merged["code"].to_numpy())
    result = {}
    for rater in everyone["rater"].unique():
        mine = merged[(merged["rater"] == rater) & merged["clear"]]
        result[rater] = share(int(mine["agrees"].sum()), len(mine), "agreement_consensus")
    return result


def agreement_with_model(answers: pd.DataFrame, scores: dict[int, float]) -> Measure:
    """Share of decisive answers where the active model scores the chosen image higher."""
    decisive = answers[answers["decisive"]]
    winner = decisive["winner"].map(scores)
    loser = decisive["loser"].map(scores)
    both = winner.notna() & loser.notna()
    agrees = int((winner[both] > loser[both]).sum())
    return share(agrees, int(both.sum()), "agreement_model")


def response_time(answers: pd.DataFrame) -> tuple[Measure, int]:
    """Median seconds per answer, and how many answers came faster than FAST_ANSWER_MS."""
    timed = answers["response_ms"].dropna().to_numpy(dtype=float)
    fast = int((timed < FAST_ANSWER_MS).sum())
    if len(timed) < MINIMUM["median_response_s"]:
        return too_few(len(timed), "median_response_s"), fast
    return Measure(float(np.median(timed)) / 1000, len(timed), MINIMUM["median_response_s"]), fast


def pairwise_agreement(everyone: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Between every two raters: the share of the pairs they both answered where they
    gave the same answer, and how many such pairs there are (the heat map's data)."""
    latest = latest_per_pair(everyone)
    wide = latest.pivot_table(index=["low", "high"], columns="rater", values="code")
    raters = list(wide.columns)
    values = wide.to_numpy()
    answered = (~np.isnan(values)).astype(float)  # float: numpy multiplies ints without BLAS
    both = np.rint(answered.T @ answered).astype(int)  # pairs answered by each two raters
    same = sum((values == c).astype(float).T @ (values == c).astype(float) for c in (-1, 0, 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        agree = pd.DataFrame(np.where(both > 0, same / both, np.nan), raters, raters)
    shared = pd.DataFrame(both, raters, raters)
    return agree, shared


def percent_agreement(agree: pd.DataFrame, shared: pd.DataFrame) -> Measure:
    """Pooled pairwise percent agreement: over every two raters and every pair both
    answered, the share of identical answers."""
    upper = np.triu(np.ones(agree.shape, dtype=bool), k=1)
    n = shared.to_numpy()[upper]
    matches = np.nan_to_num(agree.to_numpy()[upper]) * n
    total = int(n.sum())
    if total == 0:
        return Measure(None, 0, 1)
    return Measure(float(matches.sum() / total), total, 1)


def krippendorff_alpha(everyone: pd.DataFrame) -> Measure:
    """Krippendorff's alpha, ordinal (less severe < equal < more severe, on each pair's
    fixed orientation), over the pairs answered by two or more raters."""
    latest = latest_per_pair(everyone)
    wide = latest.pivot_table(index=["low", "high"], columns="rater", values="code")
    wide = wide[wide.notna().sum(axis=1) >= 2]
    units = len(wide)
    if units < MINIMUM["alpha"]:
        return too_few(units, "alpha")
    data = wide.to_numpy().T
    observed = np.unique(data[~np.isnan(data)])
    if len(observed) < 2:  # every answer identical: no disagreement to measure, alpha 1
        return Measure(1.0, units, MINIMUM["alpha"])
    alpha = krippendorff.alpha(
        reliability_data=data, level_of_measurement="ordinal", value_domain=[-1, 0, 1]
    )
    return Measure(None if math.isnan(alpha) else float(alpha), units, MINIMUM["alpha"])
