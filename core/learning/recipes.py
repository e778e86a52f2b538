"""Training recipes: the decisions about *what* the app trains, named once here and read
by the worker, the pages, the commands and the benchmarks.

- ``FIRST_MODEL``: the configuration of a study's first model and of its retrains
  (until a study lead saves other training defaults).
- ``COLD_START_METHOD``: what a dataset without grades trains (ConPro's Con step needs
  abnormal grades; SelfPro learns from a few normals and the answers).
- ``VALIDATION_KEYS`` / ``validation_score``: the figure on the fixed validation split
  that decides whether a new version may replace the active one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from .config import TrainConfig

# CPU-sized ConPro: content on the latent map within minutes on two cores. 2 passes a
# phase is wave 1's training exactly (its 4 passes were split over the two phases), whose
# first map took 182 s (docs/benchmarks.md); the fair benchmark's 8 would take 4 times as long.
FIRST_MODEL = TrainConfig(method="conpro", image_size=32, epochs=2.0)

COLD_START_METHOD = "selfpro"

# the validation score is the mean of the validation macro-F1 of the probe, the Kendall
# tau of the severity score against the grade, and the agreement with judgments about
# validation images, over those that could be measured
VALIDATION_KEYS = ("val_macro_f1", "val_tau", "val_judgment_agreement")


def validation_score(metrics: Mapping[str, object]) -> float | None:
    values = [
        float(value)
        for key in VALIDATION_KEYS
        if isinstance(value := metrics.get(key), int | float) and math.isfinite(value)
    ]
    return sum(values) / len(values) if values else None
