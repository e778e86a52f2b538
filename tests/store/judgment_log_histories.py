"""What a random history of the judgment log is made of, as Hypothesis strategies: the
operations ``test_judgment_log_properties.py`` runs on the store and on the model."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

STEPS = 20  # operations in one history, at most
IMAGES, RATERS = 4, 2  # few, so that pairs, undos and repeats collide often
PAIRS = [(a, b) for a in range(IMAGES) for b in range(IMAGES) if a != b]
ANSWERS = ("left", "right", "equal", "skip")


@dataclass(frozen=True)
class Give:
    """A rater answers a pair (``pair`` as shown: left image, right image)."""

    writer: int
    rater: int
    pair: tuple[int, int]
    outcome: str
    tokened: bool


@dataclass(frozen=True)
class Undo:
    writer: int
    rater: int
    tokened: bool


@dataclass(frozen=True)
class Repeat:
    """The pair of an earlier row shown again (``pick`` chooses the row); with
    ``other_rater`` a rater who did not answer it, which the store must refuse."""

    writer: int
    pick: int
    swap: bool
    outcome: str
    other_rater: bool
    tokened: bool


@dataclass(frozen=True)
class Resubmit:
    """An earlier request with a token sent again (a double click, a retried request)."""

    writer: int
    pick: int


@dataclass(frozen=True)
class Race:
    """Two writers send at the same moment: one request twice (same token), or one pair
    from two tabs (two tokens)."""

    rater: int
    pair: tuple[int, int]
    outcomes: tuple[str, str]
    same_token: bool


@dataclass(frozen=True)
class Look:
    """The beliefs catch up with the log (the Compare page does this before each pair)."""

    writer: int


writer, rater = st.integers(0, 1), st.integers(0, RATERS - 1)
outcome, pair, pick = st.sampled_from(ANSWERS), st.sampled_from(PAIRS), st.integers(0, 63)
give = st.builds(Give, writer, rater, pair, outcome, st.booleans())
LOG_OPERATIONS = st.one_of(
    give,
    give,  # twice: answers are what raters mostly do
    st.builds(Undo, writer, rater, st.booleans()),
    st.builds(Repeat, writer, pick, st.booleans(), outcome, st.booleans(), st.booleans()),
    st.builds(Resubmit, writer, pick),
    st.builds(Race, rater, pair, st.tuples(outcome, outcome), st.booleans()),
)
WITH_LOOKS = st.one_of(LOG_OPERATIONS, st.builds(Look, writer))
