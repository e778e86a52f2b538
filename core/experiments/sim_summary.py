"""The statistics of the simulated-rater benchmark (``sim_bench``), from its per-seed
results: per arm and checkpoint, the held-out model's and the Bradley-Terry fit's tau
with the truth and the images judged, each a mean over seeds with a 95% interval from a
cluster bootstrap (seeds, and within each the held-out patients with all their images:
``cluster_bootstrap``); paired differences of every arm against ``random`` and against
``no-answers`` on the same seeds and the same draws, and of ``active`` against its own
control, ``coverage`` (the same coverage without the strategy); and ``judgments_to_reach``, the
answers an arm needs to reach random's figure at each checkpoint, interpolated linearly
between checkpoints (from the first model at 0 answers where there is one).

Runs are paired by the seed they carry. A seed at which an arm has no point (its
training diverged, or it did not run) is left out of that arm's figures and of every
pairing with it, and the row's ``left_out`` says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .arms import COVERAGE, NO_ANSWERS
from .cluster_bootstrap import (
    SeedBootstrap,
    interval,
    mean_tau,
    reach,
    reach_interval,
    record_tau,
)
from .panel_agreement import panel_report

REFERENCES = ("random", NO_ANSWERS)  # every arm is paired with these
CONTROLS = {"active": COVERAGE}  # an arm and the control built for it (``arms``)
HELD_OUT = "held_out"  # the bootstrap's group of the test images every arm is scored on
UNIT = "patient"  # the cluster: all of a patient's images are drawn together
START = "first model"


class Curves:
    """The runs' points by curve and checkpoint, and the bootstrap's draws of their
    held-out tau (kept, as every figure of the report reuses them)."""

    def __init__(self, runs: Sequence[dict], checkpoints: Sequence[int], resamples: int) -> None:
        self.runs = {r["seed"]: r for r in runs}
        if len(self.runs) < len(runs):
            raise ValueError("each seed's run may appear once")
        self.checkpoints = tuple(checkpoints)
        self.bootstrap = SeedBootstrap(resamples)
        self._draws: dict[tuple, np.ndarray] = {}

    @property
    def seeds(self) -> list[int]:
        return sorted(self.runs)

    def points(self, name: str, k: int) -> dict[int, dict]:
        """The points of a curve at its ``k``-th checkpoint, by seed."""
        found = {}
        for seed in self.seeds:
            curve = self.runs[seed]["curves"].get(name)
            if curve is not None and len(curve["points"]) > k:
                found[seed] = curve["points"][k]
        return found

    def records(self, name: str, k: int) -> dict[int, dict]:
        """Held-out records (scores, truth, patients) by seed; ``START``: the first model's."""
        if name == START:
            return {s: r["start"] for s, r in self.runs.items() if r["start"] is not None}
        return {s: p["model"] for s, p in self.points(name, k).items()}

    def draws(self, name: str, k: int, pool: Sequence[int]) -> np.ndarray:
        key = (name, k, tuple(sorted(pool)))
        if key not in self._draws:
            records = self.records(name, k)
            self._draws[key] = self.bootstrap.tau_draws(records, HELD_OUT, UNIT, key[2])
        return self._draws[key]

    def figure(self, name: str, k: int, pool: Sequence[int] | None = None) -> dict | None:
        records = self.records(name, k)
        pool = sorted(records if pool is None else pool)
        if not pool:
            return None
        kept = {s: records[s] for s in pool}
        return {"mean": mean_tau(kept), "ci95": interval(self.draws(name, k, pool))}

    def absent(self, seed: int, name: str, k: int) -> str:
        """Why a curve has no point at a seed and checkpoint."""
        curve = self.runs[seed]["curves"].get(name)
        if curve is None:
            return f"{name} did not run"
        if curve.get("diverged"):
            where = curve["diverged"]
            return f"{name} diverged at {where['checkpoint']} answers: {where['error']}"
        return f"{name} has no point at {self.checkpoints[k]} answers"

    def seed_mean(self, values: Mapping[int, float]) -> dict:
        """Mean of a per-seed figure with a 95% interval resampling the seeds."""
        pool = sorted(values)
        draws = np.array(
            [
                np.mean([values[s] for s, _ in self.bootstrap.seeds(b, pool)])
                for b in range(self.bootstrap.resamples)
            ]
        )
        return {"mean": float(np.mean(list(values.values()))), "ci95": interval(draws)}


def summarise(config: Any, runs: Sequence[dict]) -> dict:
    """The report's statistics (``config``: the checkpoints, strategies, weightings and
    bootstrap resamples of ``sim_bench.SimBenchConfig``)."""
    curves = Curves(sorted(runs, key=lambda r: r["seed"]), config.checkpoints, config.resamples)
    names = [n for n in curve_names(config) if any(n in r["curves"] for r in runs)]
    report: dict = {
        "seeds": curves.seeds,
        "first_model": curves.figure(START, 0),
        "strategies": {},
        "diverged": [
            {"seed": seed, "arm": name, **curve["diverged"]}
            for seed, run in curves.runs.items()
            for name, curve in run["curves"].items()
            if curve.get("diverged")
        ],
        "wall_seconds": {
            "per_seed": {s: r["wall_seconds"]["total"] for s, r in curves.runs.items()},
            "first_model": {s: r["wall_seconds"]["first_model"] for s, r in curves.runs.items()},
        },
    }
    for name in names:
        rows = [_row(curves, name, k, names) for k in range(len(curves.checkpoints))]
        entry: dict = {"curve": rows}
        arm_runs = {s: r["curves"][name] for s, r in curves.runs.items() if name in r["curves"]}
        chosen = [c["choice_ms_median"] for c in arm_runs.values() if c["choice_ms_median"]]
        entry["choice_ms_median"] = float(np.median(chosen)) if chosen else None
        entry["wall_seconds"] = {s: c["wall_seconds"] for s, c in arm_runs.items()}
        if name in config.strategies and name not in REFERENCES and "random" in names:
            entry["judgments_to_reach"] = judgments_to_reach(curves, name)
        report["strategies"][name] = entry
    report["panel_agreement"] = panel_report(
        config,
        curves.bootstrap,
        curves.records(START, 0),
        {n: [(c, curves.records(n, k)) for k, c in enumerate(curves.checkpoints)] for n in names},
    )
    return report


def curve_names(config: Any) -> list[str]:
    """Every curve: each arm, and each answering arm's rater-weighting variants."""
    names = []
    for arm in config.strategies:
        names.append(arm)
        if arm != NO_ANSWERS:
            names += [f"{arm}+{w}" for w in config.weightings if w != "none"]
    return names


def _row(curves: Curves, name: str, k: int, names: Sequence[str]) -> dict:
    points = curves.points(name, k)
    seeds = sorted(points)
    row: dict = {
        "checkpoint": curves.checkpoints[k],
        "seeds": seeds,
        "left_out": {s: curves.absent(s, name, k) for s in curves.seeds if s not in points},
    }
    if not points:
        return row
    judged = {s: p["bradley_terry"] for s, p in points.items() if p["bradley_terry"]["score"]}
    row |= {
        "judgments": float(np.mean([p["judgments"] for p in points.values()])),
        "model_tau_truth": curves.figure(name, k),
        "bradley_terry_tau_truth": _judged_figure(curves, judged, f"judged:{name}:{k}"),
        "judged_images": curves.seed_mean({s: p["judged_images"] for s, p in points.items()}),
        "steps": {s: sum(p["steps"].values()) for s, p in points.items()},
        "steps_by_phase": {s: p["steps"] for s, p in points.items()},
        "judgments_trained_on": {s: p["judgments_trained_on"] for s, p in points.items()},
        "retrain_seconds": {s: p["wall_seconds"] for s, p in points.items()},
    }
    beliefs = {s: p["beliefs"] for s, p in points.items() if p.get("beliefs", {}).get("answers")}
    if beliefs:  # how well the pair server's beliefs predicted these answers
        row["belief_log_loss"] = {
            rule: curves.seed_mean({s: b[f"log_loss_{rule}"] for s, b in beliefs.items()})
            for rule in ("once", "twice")
        } | {
            "twice_minus_once": curves.seed_mean(
                {s: b["log_loss_twice"] - b["log_loss_once"] for s, b in beliefs.items()}
            )
        }
    row["paired"] = {
        reference: paired_difference(curves, name, reference, k)
        for reference in REFERENCES
        if reference in names and reference != name
    }
    if CONTROLS.get(name) in names:  # what the strategy adds to the coverage it brings
        row["minus_control"] = paired_difference(curves, name, CONTROLS[name], k)
    base = name.split("+")[0]
    if base != name:  # a weighting variant: paired with its strategy's own curve
        row["minus_unweighted"] = paired_difference(curves, name, base, k)
    return row


def _judged_figure(curves: Curves, records: dict[int, dict], group: str) -> dict | None:
    """Bradley-Terry's tau on each seed's judged images (patients resampled among them)."""
    if not records:
        return None
    draws = curves.bootstrap.tau_draws(records, group, UNIT, keep=False)
    return {"mean": mean_tau(records), "ci95": interval(draws)}


def paired_difference(curves: Curves, name: str, reference: str, k: int) -> dict:
    """tau(name) - tau(reference) at the ``k``-th checkpoint on the seeds both have, on
    the same held-out images and the same draws, with the seeds left out and why."""
    first, second = curves.records(name, k), curves.records(reference, k)
    shared = sorted(set(first) & set(second))
    left_out = {
        s: curves.absent(s, name if s not in first else reference, k)
        for s in curves.seeds
        if s not in shared
    }
    if not shared:
        return {"mean": None, "ci95": None, "seeds": [], "left_out": left_out}
    per_seed = {s: record_tau(first[s]) - record_tau(second[s]) for s in shared}
    draws = curves.draws(name, k, shared) - curves.draws(reference, k, shared)
    return {
        "mean": float(np.mean(list(per_seed.values()))),
        "ci95": interval(draws),
        "per_seed": per_seed,
        "seeds": shared,
        "left_out": left_out,
    }


def judgments_to_reach(curves: Curves, name: str) -> dict[int, dict]:
    """For each of random's checkpoints: the answers ``name`` needs to reach random's
    held-out tau there (``cluster_bootstrap.reach`` on the seed-mean curves, from the
    first model at 0 answers where every seed has one), with its 95% interval and the
    share of resamples in which it never does, over the seeds where both curves are
    complete."""
    last = len(curves.checkpoints) - 1
    seeds = sorted(set(curves.points(name, last)) & set(curves.points("random", last)))
    if not seeds:
        return {}
    starts = curves.records(START, 0)
    from_start = all(s in starts for s in seeds)
    ks = range(len(curves.checkpoints))

    def curve_of(value: Any) -> list[tuple[float, float]]:
        head = [(0.0, value(START, 0))] if from_start else []
        return head + [(float(curves.checkpoints[j]), value(name, j)) for j in ks]

    def point_value(curve: str, j: int) -> float:
        records = curves.records(curve, j)
        return mean_tau({s: records[s] for s in seeds})

    resamples = curves.bootstrap.resamples
    out = {}
    for k, checkpoint in enumerate(curves.checkpoints):
        target = point_value("random", k)
        targets = curves.draws("random", k, seeds)
        draws = [
            reach(curve_of(lambda curve, j, b=b: curves.draws(curve, j, seeds)[b]), targets[b])
            for b in range(resamples)
        ]
        out[checkpoint] = {
            "random_tau_truth": target,
            "judgments": reach(curve_of(point_value), target),
            **reach_interval(draws),
            "seeds": seeds,
        }
    return out


def sim_table(report: dict) -> str:
    """The curves as markdown: tau with the truth, mean [95% interval], the images
    judged, the training steps, and the paired differences with random and no-answers;
    then the answers each arm needs to reach random's figure."""
    lines = [
        "| arm | answers | model tau_truth (held out) | Bradley-Terry tau_truth (judged) "
        "| judged images | steps | minus random | minus no-answers |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    if report["first_model"]:
        lines.append(f"| first model | 0 | {_cell(report['first_model'])} | - | - | - | - | - |")
    for name, entry in report["strategies"].items():
        for row in entry["curve"]:
            if "model_tau_truth" not in row:
                lines.append(f"| {name} | {row['checkpoint']} | no seed | | | | | |")
                continue
            paired = row.get("paired", {})
            cells = [
                _cell(row["model_tau_truth"]),
                _cell(row["bradley_terry_tau_truth"]),
                f"{row['judged_images']['mean']:.0f}",
                f"{np.mean(list(row['steps'].values())):.0f}",
                _cell(paired.get("random"), signed=True),
                _cell(paired.get(NO_ANSWERS), signed=True),
            ]
            lines.append(f"| {name} | {row['checkpoint']} | " + " | ".join(cells) + " |")
    lines += _paired_table(
        report, "minus_unweighted", ["variant", "answers"], "minus unweighted", lambda name: []
    )
    lines += _paired_table(
        report,
        "minus_control",
        ["arm", "its control", "answers"],
        "minus the control's",
        lambda name: [CONTROLS[name]],
    )
    for name, entry in report["strategies"].items():
        for checkpoint, reached in entry.get("judgments_to_reach", {}).items():
            low, high = reached["ci95"]
            lines.append(
                f"- {name} reaches random's {checkpoint}-answer tau_truth "
                f"({reached['random_tau_truth']:.3f}) at {_answers(reached['judgments'])} "
                f"answers [{_answers(low)}, {_answers(high)}]"
            )
    for left in report["diverged"]:
        lines.append(
            f"- seed {left['seed']}: {left['arm']} diverged at {left['checkpoint']} answers "
            "(left out of its figures and pairings)"
        )
    return "\n".join(lines)


def _paired_table(report: dict, key: str, columns: list[str], what: str, extra: Any) -> list[str]:
    """A markdown table of the rows' paired differences ``key`` (none: no lines): each
    arm, ``extra(arm)``'s cells, the checkpoint and the difference with its interval."""
    rows = [
        "| "
        + " | ".join([name, *extra(name), str(row["checkpoint"])])
        + f" | {_cell(row[key], signed=True)} |"
        for name, entry in report["strategies"].items()
        for row in entry["curve"]
        if key in row
    ]
    if not rows:
        return []
    header = "| " + " | ".join([*columns, f"model tau_truth {what} (paired)"]) + " |"
    return ["", header, "| " + " | ".join(["---"] * (len(columns) + 1)) + " |", *rows]


def _cell(figure: dict | None, signed: bool = False) -> str:
    if not figure or figure.get("mean") is None:
        return "-"
    low, high = figure["ci95"]
    form = "+.3f" if signed else ".3f"
    return f"{figure['mean']:{form}} [{low:{form}}, {high:{form}}]"


def _answers(value: float | None) -> str:
    return "never" if value is None else f"{value:.0f}"
