"""Intervals for figures measured at several seeds on images that come in clusters: a
two-stage bootstrap that draws seeds with replacement and, within each drawn seed, the
units of its images (patients, with all their images) with replacement.

A cohort's test images come from a few dozen patients with several visits each; their
errors are shared within a patient, so resampling images one by one understates the
uncertainty. Figures of one report share one ``SeedBootstrap``: methods that ran the
same seeds draw the same seeds in each resample, and a seed's held-out images are drawn
the same way for every method and checkpoint, so paired differences and curves are
compared on the same draw. Seeds are named, never positions in a list: a seed that one
method lost is left out of that method's figures and of its pairings, nothing else.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence

import numpy as np

from .resampling import _tau

Record = Mapping[str, Sequence]  # "score", "truth" and, for clusters, a unit per image


def unit_members(record: Record, unit: str | None) -> list[np.ndarray]:
    """The positions of each unit's images: each image alone without ``unit``, else the
    images sharing a value of ``record[unit]`` (a patient's visits); images without a
    unit (None) stand alone."""
    count = len(record["truth"])
    if unit is None:
        return [np.array([k]) for k in range(count)]
    labels = [None if u is None else str(u) for u in record[unit]]
    alone = [np.array([k]) for k, u in enumerate(labels) if u is None]
    named = sorted({u for u in labels if u is not None})
    by_unit: dict[str, list[int]] = {u: [] for u in named}
    for k, u in enumerate(labels):
        if u is not None:
            by_unit[u].append(k)
    return [np.array(by_unit[u]) for u in named] + alone


def cluster_index(members: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """Image positions of one resample: as many units as there are, drawn with
    replacement, each with all its images."""
    drawn = rng.integers(0, len(members), len(members))
    return np.concatenate([members[u] for u in drawn])


class SeedBootstrap:
    """The draws of one report's bootstrap, made on demand and kept, each from a
    generator keyed by what it draws (so the draws do not depend on the order in which
    figures ask for them): per resample, seeds drawn with replacement from a pool of
    seeds, and per drawn seed (and each repeat of it in that draw) the units of a group
    of images (``"held_out"``: the test images every method is scored on)."""

    def __init__(self, resamples: int, seed: int = 0) -> None:
        if resamples < 1:
            raise ValueError("a bootstrap needs at least one resample")
        self.resamples = resamples
        self.seed = seed
        self._seeds: dict[tuple, list[int]] = {}
        self._index: dict[tuple, np.ndarray] = {}
        self._members: dict[tuple[str, int], list[np.ndarray]] = {}

    def seeds(self, resample: int, pool: Sequence[int]) -> list[tuple[int, int]]:
        """The seeds of ``pool`` drawn in ``resample``, each with its repeat number (0
        the first time a seed is drawn, 1 the second...)."""
        key = (resample, *sorted(pool))
        if key not in self._seeds:
            rng = np.random.default_rng([self.seed, resample, 1, *key[1:]])
            picked = rng.integers(0, len(pool), len(pool))
            self._seeds[key] = sorted(int(key[1 + k]) for k in picked)
        drawn: list[tuple[int, int]] = []
        repeat: dict[int, int] = {}
        for s in self._seeds[key]:
            repeat[s] = repeat.get(s, -1) + 1
            drawn.append((s, repeat[s]))
        return drawn

    def index(
        self,
        resample: int,
        group: str,
        seed: int,
        repeat: int,
        record: Record,
        unit: str | None,
        keep: bool = True,
    ) -> np.ndarray:
        """Positions of ``record``'s images drawn for ``seed`` (its ``repeat``-th draw) in
        ``resample``; the same for every record of the group at that seed, which must
        hold the same images. ``keep``: hold the draw for the next figure that asks (a
        group only one figure uses need not fill the memory)."""
        if (group, seed) not in self._members:
            self._members[group, seed] = unit_members(record, unit)
        members = self._members[group, seed]
        if sum(len(m) for m in members) != len(record["truth"]):
            raise ValueError(f"seed {seed}: the records of {group} hold different images")
        key = (resample, group, seed, repeat)
        if key in self._index:
            return self._index[key]
        name = zlib.crc32(group.encode())
        rng = np.random.default_rng([self.seed, resample, 2, name, seed, repeat])
        index = cluster_index(members, rng)
        if keep:
            self._index[key] = index
        return index

    def tau_draws(
        self,
        records: Mapping[int, Record],
        group: str,
        unit: str | None,
        pool: Sequence[int] | None = None,
        keep: bool = True,
    ) -> np.ndarray:
        """Per resample, the mean over the drawn seeds of Kendall tau with the truth.
        ``pool``: the seeds to draw from (default: those of ``records``). On one pool and
        group, two methods' draws differ resample by resample as their paired difference
        does (the same seeds and images)."""
        pool = sorted(records if pool is None else pool)
        arrays = {s: _arrays(records[s]) for s in pool}
        draws = np.empty(self.resamples)
        for b in range(self.resamples):
            values = []
            for seed, repeat in self.seeds(b, pool):
                index = self.index(b, group, seed, repeat, records[seed], unit, keep)
                score, truth = arrays[seed]
                values.append(_tau(score[index], truth[index]))
            draws[b] = np.mean(values)
        return draws


def _arrays(record: Record) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(record["score"], float), np.asarray(record["truth"], float)


def record_tau(record: Record, index: np.ndarray | None = None) -> float:
    """Kendall tau-b of a record's scores with its truth (on the images at ``index``)."""
    score, truth = _arrays(record)
    if index is not None:
        score, truth = score[index], truth[index]
    return _tau(score, truth)


def mean_tau(records: Mapping[int, Record], minus: Mapping[int, Record] | None = None) -> float:
    """The mean over the seeds of ``records`` of tau with the truth (minus ``minus``'s)."""
    return float(
        np.mean(
            [
                record_tau(r) - (record_tau(minus[s]) if minus is not None else 0.0)
                for s, r in records.items()
            ]
        )
    )


def interval(draws: np.ndarray) -> list[float]:
    """The 95% percentile interval of bootstrap draws."""
    low, high = np.percentile(draws, [2.5, 97.5])
    return [float(low), float(high)]


def reach(curve: Sequence[tuple[float, float]], target: float) -> float | None:
    """How many answers a curve ((answers, figure) in increasing answers) needs to reach
    ``target``: the first point at or above it, interpolated linearly from the point
    before; None if it never does."""
    for k, (answers, figure) in enumerate(curve):
        if figure >= target:
            if k == 0:
                return float(answers)
            before, below = curve[k - 1]
            return float(before + (target - below) / (figure - below) * (answers - before))
    return None


def reach_interval(draws: Sequence[float | None]) -> dict:
    """The 95% interval of bootstrap draws of ``reach`` (a draw that never reached counts
    as more than any number: a bound that falls there is None) and the share of draws
    that never reached."""
    values = np.array([np.inf if d is None else d for d in draws], float)
    low, high = np.quantile(values, [0.025, 0.975], method="inverted_cdf")
    return {
        "ci95": [None if np.isinf(v) else float(v) for v in (low, high)],
        "never_share": float(np.isinf(values).mean()),
    }


def tau_with_interval(
    samples: list[Record], resamples: int, rng: np.random.Generator, unit: str | None = None
) -> dict:
    """Kendall tau with the truth: the mean over seeds (one sample each), and a 95%
    interval resampling the seeds and, within each, the images (or with ``unit``, the
    units with all their images)."""
    members = [unit_members(s, unit) for s in samples]
    mean = float(np.mean([record_tau(s) for s in samples]))
    draws = np.empty(resamples)
    for b in range(resamples):
        picked = rng.integers(0, len(samples), len(samples))
        draws[b] = np.mean([record_tau(samples[k], cluster_index(members[k], rng)) for k in picked])
    return {"mean": mean, "ci95": interval(draws)}


def paired_tau_difference(
    first: list[Record],
    second: list[Record],
    resamples: int,
    rng: np.random.Generator,
    unit: str | None = None,
) -> dict:
    """tau(first) - tau(second) on the same held-out images, the records of one seed at
    the same place in both lists: the mean over seeds, and a 95% interval resampling
    seeds and, within each, the images, or with ``unit`` (a key of ``first``'s records,
    e.g. "patient") the units with all their images; the same draw for both, so the
    image-to-image variation cancels."""
    if len(first) != len(second):
        raise ValueError("paired records come one per seed in both lists")
    members = [unit_members(a, unit) for a in first]
    mean = float(
        np.mean([record_tau(a) - record_tau(b) for a, b in zip(first, second, strict=True)])
    )
    draws = np.empty(resamples)
    for r in range(resamples):
        values = []
        for k in rng.integers(0, len(first), len(first)):
            index = cluster_index(members[k], rng)
            values.append(record_tau(first[k], index) - record_tau(second[k], index))
        draws[r] = np.mean(values)
    return {"mean": mean, "ci95": interval(draws)}
