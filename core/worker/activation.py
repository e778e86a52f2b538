"""When does a newly trained version replace the active one?

Only when it is not worse on the fixed validation split (frozen when images were
imported, never reshuffled): the validation score is the mean of the validation
macro-F1 of the probe, the Kendall tau of the severity score against the grade, and the
agreement with judgments about validation images, over those that could be measured.
"""

from __future__ import annotations

import math

VALIDATION_KEYS = ("val_macro_f1", "val_tau", "val_judgment_agreement")
TOLERANCE = 0.0  # "not worse": equal or better


def validation_score(metrics: dict) -> float | None:
    values = [
        float(metrics[k])
        for k in VALIDATION_KEYS
        if isinstance(metrics.get(k), int | float) and math.isfinite(metrics[k])
    ]
    return sum(values) / len(values) if values else None


def should_activate(candidate: dict, active: dict | None) -> bool:
    if active is None:
        return True
    new, old = validation_score(candidate), validation_score(active)
    if new is None:
        return False
    return old is None or new >= old - TOLERANCE
