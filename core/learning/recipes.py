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
from .method_info import METHOD_INFO, PREFERENCE_PHASES

# CPU-sized ConPro, a fixed 300 steps a phase (9,600 pairs at 32 a batch) whatever the
# study's size. Its cost is kept down by the network's stem, not by the budget: ImageNet's
# stride-2 stem and max-pool (``small_input=False``) make a 32 px step about 8 times
# cheaper than the 3x3 stride-1 stem, so that 300 steps a phase train in about 2.5 minutes
# on two cores. Two passes a phase (15 steps on the demo cohort, the old recipe) gave a
# first model with held-out tau_truth 0.157; the measurements behind this one are in
# docs/benchmarks.md, "A first model that is not a lottery". BatchNorm "mixed" during PrO:
# with the paper's train mode the toy of tests/learning/test_train.py lands anywhere
# between tau 0.01 and 0.9 with the seed and thread count; mixed reaches its ceiling on
# every seed.
FIRST_MODEL = TrainConfig(
    method="conpro",
    image_size=32,
    small_input=False,
    pairs_per_phase=9600,
    pro_batchnorm="mixed",
)

COLD_START_METHOD = "selfpro"


def steps_per_phase(config: TrainConfig) -> int | None:
    """The steps of a phase under a fixed budget; None when the budget is in passes
    (their steps depend on the dataset)."""
    if not config.pairs_per_phase:
        return None
    return math.ceil(config.pairs_per_phase / config.batch_size)


# Automatic retrains continue the active version (warm, ``TrainConfig.warm``), and every
# this many warm versions in a row the next one is trained from scratch, so that early
# mistakes are not locked in (a study lead may change it, or ask for one at any time).
SCRATCH_EVERY = 10
SCRATCH_EVERY_KEY = "scratch_every"
# what a warm retrain must share with its parent: the network's shape and its method
CONTINUABLE = ("method", "backbone", "image_size", "small_input")


def warm_blocker(parent: TrainConfig, config: TrainConfig) -> str | None:
    """Why ``config`` cannot continue a version trained with ``parent``, or None."""
    differ = [k for k in CONTINUABLE if getattr(parent, k) != getattr(config, k)]
    if differ:
        return f"its {', '.join(differ)} differ from the new training settings"
    info = METHOD_INFO.get(config.method)
    if info is None or not set(info.phases) & set(PREFERENCE_PHASES):
        return f"{config.method} has no preference phase to continue"
    return None


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
