"""Rater quality: self-consistency on repeat pairs, agreement between raters, with the
consensus and with the model, position bias, intransitive cycles, response times and a
Crowd-BT reliability that can weight each rater's answers in training."""

from .measures import FAST_ANSWER_MS, MINIMUM, Measure
from .reliability import judgment_rater_weights, rater_weights, reliability
from .repeats import (
    DEFAULT_SHARE,
    MIN_GAP,
    Repeat,
    maybe_repeat,
    pick_repeat,
    repeat_share,
    set_repeat_share,
    wants_repeat,
)
from .report import FIELDS, RaterReport, rater_report, report_from_rows

__all__ = [
    "DEFAULT_SHARE",
    "FAST_ANSWER_MS",
    "FIELDS",
    "MINIMUM",
    "MIN_GAP",
    "Measure",
    "RaterReport",
    "Repeat",
    "judgment_rater_weights",
    "maybe_repeat",
    "pick_repeat",
    "rater_report",
    "rater_weights",
    "reliability",
    "repeat_share",
    "report_from_rows",
    "set_repeat_share",
    "wants_repeat",
]
