"""When does a newly trained version replace the active one?

Only when it is not worse on the fixed validation split (frozen when images were
imported, never reshuffled), by the recipe's validation score
(``core.learning.recipes.validation_score``).
"""

from __future__ import annotations

from core.learning.recipes import validation_score

TOLERANCE = 0.0  # "not worse": equal or better


def should_activate(candidate: dict, active: dict | None) -> bool:
    if active is None:
        return True
    new, old = validation_score(candidate), validation_score(active)
    if new is None:
        return False
    return old is None or new >= old - TOLERANCE
