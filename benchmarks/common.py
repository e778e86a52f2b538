"""What every benchmark does at the end: write its figures as JSON, and the bootstrap
interval the quality benchmarks report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def write_json(report: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))


def bootstrap_interval(values: np.ndarray, draws: int = 10_000) -> list[float]:
    """95% percentile bootstrap interval of the mean."""
    rng = np.random.default_rng(0)
    means = rng.choice(values, (draws, len(values))).mean(1)
    return [float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))]
