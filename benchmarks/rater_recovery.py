"""Do the rater measures recover what is known about simulated raters?

A panel of simulated raters (``core.simulation``) with known noise, position bias and
lapse, one of them guessing, each answers ``--answers`` random pairs (sides random) of
``--images`` images with a uniform 0-1 truth, with 5% repeat pairs. For every seed:

- the estimated position bias (share of left answers) against the rater's true
  expected share, measured on 200,000 answers of an identical rater: the simulator's
  bias acts only when the rater is unsure, so the share it causes depends on the
  noise and is measured rather than assumed;
- whether the guessing rater has the lowest Crowd-BT reliability of the panel.

    .venv/bin/python -m benchmarks.rater_recovery [--seeds 100] [--answers 500]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from core.raters import report_from_rows
from core.simulation import SimulatedRater, simulated_panel

from .common import bootstrap_interval, write_json

PANEL = [
    SimulatedRater("careful", noise=0.05, lapse=0.02),
    SimulatedRater("left-leaning", noise=0.1, left_bias=0.8, lapse=0.05),
    SimulatedRater("noisy", noise=0.25, left_bias=0.6, lapse=0.1),
    SimulatedRater("guessing", lapse=1.0),
]


def expected_left_share(rater: SimulatedRater, images: int, draws: int = 200_000) -> float:
    """The share of left among a rater's left/right answers, in the long run."""
    twin = replace(rater, seed=10_000)
    truth = np.random.default_rng(10_000).random(images)
    rng = np.random.default_rng(10_001)
    pairs = rng.integers(0, images, (draws, 2))
    answers = [twin.answer(truth[a], truth[b]) for a, b in pairs if a != b]
    lefts, rights = answers.count("left"), answers.count("right")
    return lefts / (lefts + rights)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--answers", type=int, default=500, help="per rater")
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--out", default="docs/bench/rater_recovery.json")
    args = parser.parse_args()

    truth_share = {r.name: expected_left_share(r, args.images) for r in PANEL}
    errors = {r.name: [] for r in PANEL}
    eta = {r.name: [] for r in PANEL}
    guesser_lowest, seconds = [], []
    for seed in range(args.seeds):
        panel = [replace(r, seed=seed * 10 + k) for k, r in enumerate(PANEL)]
        truth = np.random.default_rng(seed).random(args.images)
        rows = simulated_panel(panel, truth, args.answers, seed=seed, repeat_share=0.05)
        started = time.perf_counter()
        report = report_from_rows(rows)
        seconds.append(time.perf_counter() - started)
        for name, figures in report.raters.items():
            errors[name].append(figures.position_bias.value - truth_share[name])
            eta[name].append(figures.reliability.value)
        reliabilities = {n: f.reliability.value for n, f in report.raters.items()}
        guesser_lowest.append(min(reliabilities, key=reliabilities.get) == "guessing")

    result = {
        "config": vars(args),
        "raters": {
            r.name: {
                "noise": r.noise,
                "left_bias_when_unsure": r.left_bias,
                "lapse": r.lapse,
                "true_left_share": truth_share[r.name],
                "mean_abs_error": float(np.mean(np.abs(errors[r.name]))),
                "share_within_0.05": float(np.mean(np.abs(errors[r.name]) <= 0.05)),
                "reliability_mean": float(np.mean(eta[r.name])),
                "reliability_ci95": bootstrap_interval(np.array(eta[r.name])),
            }
            for r in PANEL
        },
        "guesser_least_reliable_share": float(np.mean(guesser_lowest)),
        "report_seconds_median": float(np.median(seconds)),
    }
    write_json(result, args.out)
    print(f"{'rater':<14} true left share  |error| mean  within 0.05  reliability")
    for name, row in result["raters"].items():
        print(
            f"{name:<14} {row['true_left_share']:>15.3f} {row['mean_abs_error']:>13.3f} "
            f"{row['share_within_0.05']:>12.2f}  {row['reliability_mean']:.3f}"
        )
    print(
        f"guessing rater least reliable in {100 * result['guesser_least_reliable_share']:.0f}% "
        f"of {args.seeds} seeds; report in {result['report_seconds_median']:.2f} s (median)"
    )


if __name__ == "__main__":
    main()
