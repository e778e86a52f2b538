"""The rater table: every measure per rater, and the panel's pooled figures.

``rater_report(store)`` is what the Raters page, ``python -m core raters`` and the
benchmark read; ``report_from_rows`` does the same from plain rows (tests, simulation).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.store import Store

from .answers import answers_frame
from .cycles import majority_cycles, rater_cycles
from .measures import (
    Measure,
    agreement_with_consensus,
    agreement_with_model,
    krippendorff_alpha,
    pairwise_agreement,
    percent_agreement,
    position_bias,
    response_time,
    self_consistency,
)
from .reliability import reliability

# The measures, in the order the table shows them (the CLI's JSON uses these names).
FIELDS = (
    "answers",
    "self_consistency",
    "position_bias",
    "position_bias_p",
    "agreement_consensus",
    "agreement_model",
    "cycles",
    "reliability",
    "median_response_s",
    "fast_answers",
)


@dataclass
class RaterFigures:
    answers: int
    self_consistency: Measure
    position_bias: Measure
    agreement_consensus: Measure
    agreement_model: Measure
    reliability: Measure
    median_response_s: Measure
    fast_answers: int
    cycles: list[tuple[int, int, int]]

    def plain(self) -> dict:
        """The CLI's JSON row: a number (or null, with the reason under ``notes``)."""
        row: dict = {"answers": self.answers, "notes": {}}
        for name in (
            "self_consistency",
            "position_bias",
            "agreement_consensus",
            "agreement_model",
            "reliability",
            "median_response_s",
        ):
            measure: Measure = getattr(self, name)
            row[name] = measure.value
            if measure.ci95 is not None:
                row[f"{name}_ci95"] = list(measure.ci95)
            if not measure.enough:
                row["notes"][name] = measure.text()
        row["position_bias_p"] = self.position_bias.p_value
        row["cycles"] = len(self.cycles)
        row["fast_answers"] = self.fast_answers
        return row


@dataclass
class RaterReport:
    raters: dict[str, RaterFigures]
    alpha: Measure
    percent_agreement: Measure
    agreement: pd.DataFrame  # rater x rater share of identical answers
    shared: pd.DataFrame  # rater x rater pairs both answered
    majority_cycles: list[tuple[int, int, int]]
    total_answers: int = 0

    def plain(self) -> dict:
        return {
            "raters": {name: figures.plain() for name, figures in self.raters.items()},
            "panel": {
                "answers": self.total_answers,
                "krippendorff_alpha": self.alpha.value,
                "pairs_with_two_or_more_raters": self.alpha.n,
                "percent_agreement": self.percent_agreement.value,
                "majority_cycles": [list(c) for c in self.majority_cycles],
            },
        }

    def table(self) -> pd.DataFrame:
        """One row per rater, each measure as readable text (the page and the CLI)."""
        rows = []
        for name, f in self.raters.items():
            p = f.position_bias.p_value
            rows.append(
                {
                    "rater": name,
                    "answers": f.answers,
                    "self_consistency": f.self_consistency.text(),
                    "position_bias": f.position_bias.text(),
                    "position_bias_p": "" if p is None else f"{p:.3g}",
                    "agreement_consensus": f.agreement_consensus.text(),
                    "agreement_model": f.agreement_model.text(),
                    "cycles": len(f.cycles),
                    "reliability": f.reliability.text(),
                    "median_response_s": f.median_response_s.text(1),
                    "fast_answers": f.fast_answers,
                }
            )
        return pd.DataFrame(rows, columns=["rater", *FIELDS])


def report_from_rows(rows: list[dict], scores: dict[int, float] | None = None) -> RaterReport:
    everyone = answers_frame(rows)
    scores = scores or {}
    consensus = agreement_with_consensus(everyone) if len(everyone) else {}
    trusted = reliability(everyone) if len(everyone) else {}
    figures = {}
    for rater, answers in everyone.groupby("rater", sort=True):
        time_measure, fast = response_time(answers)
        figures[str(rater)] = RaterFigures(
            answers=len(answers),
            self_consistency=self_consistency(answers, everyone),
            position_bias=position_bias(answers),
            agreement_consensus=consensus[rater],
            agreement_model=agreement_with_model(answers, scores),
            reliability=trusted[rater],
            median_response_s=time_measure,
            fast_answers=fast,
            cycles=rater_cycles(answers),
        )
    agree, shared = pairwise_agreement(everyone)
    return RaterReport(
        raters=figures,
        alpha=krippendorff_alpha(everyone),
        percent_agreement=percent_agreement(agree, shared),
        agreement=agree,
        shared=shared,
        majority_cycles=majority_cycles(everyone) if len(everyone) else [],
        total_answers=len(everyone),
    )


def active_scores(store: Store) -> dict[int, float]:
    """Severity of every image under its dataset's active model version."""
    scores: dict[int, float] = {}
    seen: set[int] = set()
    for dataset in store.datasets.list():
        model = store.models.active(dataset["id"])
        if model is None or model["id"] in seen:
            continue
        seen.add(model["id"])
        scores.update({i: s for i, (s, _) in store.embeddings.severity_scores(model["id"]).items()})
    return scores


def rater_report(store: Store) -> RaterReport:
    return report_from_rows(store.judgments.standing_with_raters(), active_scores(store))
