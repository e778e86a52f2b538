"""What raters may see while judging: the study lead's decision, one per study.

An answer given with the grade in view measures the grade, not the rater. So the study
lead chooses what the Compare page may show under each image (nothing, the default;
dates; dates and grades) and a rater cannot show more. Each answer stores the level it
was given under (``judgments.blinding``; NULL for answers stored before it was
recorded, meaning unknown).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store import Store

RATER_BLINDING_SETTING = "rater_blinding"
NOTHING_SHOWN = "none_shown"  # no caption at all: fully blinded
DATES_SHOWN = "dates"  # the image's id, dataset, patient pseudonym and visit date
DATES_AND_GRADES_SHOWN = "dates_and_grades"  # the same and the image's grade
BLINDINGS = (NOTHING_SHOWN, DATES_SHOWN, DATES_AND_GRADES_SHOWN)  # least shown first
DEFAULT_BLINDING = NOTHING_SHOWN


def rater_blinding(store: Store) -> str:
    """What raters may see now; an unreadable stored value counts as nothing shown."""
    value = store.settings.get(RATER_BLINDING_SETTING, DEFAULT_BLINDING)
    return value if value in BLINDINGS else DEFAULT_BLINDING


def set_rater_blinding(store: Store, blinding: str) -> None:
    """A study lead's choice (the caller checks the role, as for every setting)."""
    if blinding not in BLINDINGS:
        raise ValueError(f"Unknown blinding {blinding!r}; expected one of {', '.join(BLINDINGS)}.")
    store.settings.set(RATER_BLINDING_SETTING, blinding)


def shows_dates(blinding: str | None) -> bool:
    return blinding in (DATES_SHOWN, DATES_AND_GRADES_SHOWN)


def shows_grades(blinding: str | None) -> bool:
    return blinding == DATES_AND_GRADES_SHOWN


def stricter(first: str, second: str) -> str:
    """The level that shows less of the two (unknown levels: nothing shown)."""
    if first not in BLINDINGS or second not in BLINDINGS:
        return NOTHING_SHOWN
    return min(first, second, key=BLINDINGS.index)
