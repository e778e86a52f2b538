"""A deliberately naive reference for the rules of the judgment log, in plain Python: a
list of rows and each rule written straight from the docstrings of
``core/store/judgments.py`` and ``core/selection/state.py``, with no SQL. The property
tests in ``test_judgment_log_properties.py`` run the same operations on it and on the
real store and compare.

The rules:
- a row is never removed or changed; undo appends an ``undone`` row that supersedes the
  rater's latest standing row;
- standing rows: not ``undone`` and not superseded; effective rows (what training and the
  beliefs read): standing left / right / equal answers;
- a request token is stored once: a request whose token is stored already changes
  nothing (an answer returns the row stored with it, an undo returns nothing);
- a rater has one standing row per pair, unless the new answer is a repeat: that must
  show again a pair the same rater answered, still stands by, and that is not itself a
  repeat, and an answer can be repeated once while its repeat stands;
- beliefs: the first look replays every effective answer; each later look replays the
  effective answers after the last one replayed (an answer retracted after it was
  replayed stays in the beliefs until the next rebuild).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from core.selection.beliefs import PRIOR_SD, Belief, apply

TRAINING = ("left", "right", "equal")


@dataclass(frozen=True)
class Row:
    """What the log holds of one answer (``left`` and ``right`` are image ids)."""

    id: int
    left: int
    right: int
    outcome: str
    rater: int
    supersedes: int | None = None
    token: str | None = None
    repeat_of: int | None = None


@dataclass(frozen=True)
class Insert:
    """The request adds this row (its id is the store's to give)."""

    left: int
    right: int
    outcome: str
    rater: int
    supersedes: int | None = None
    token: str | None = None
    repeat_of: int | None = None

    def with_id(self, row_id: int) -> Row:
        return Row(row_id, **self.__dict__)


@dataclass(frozen=True)
class Existing:
    """A double submission: nothing is added; an answer returns this stored row's id."""

    id: int


@dataclass(frozen=True)
class Refused:
    """Nothing is added and the store raises ``error`` (``AlreadyJudged``, ``InvalidJudgment``)."""

    error: str


@dataclass(frozen=True)
class Nothing:
    """An undo with nothing left to undo: no row, no error."""


@dataclass
class LogModel:
    rows: list[Row] = field(default_factory=list)

    def copy(self) -> LogModel:
        return copy.deepcopy(self)

    # -- views --------------------------------------------------------------------------

    def superseded(self) -> set[int]:
        return {r.supersedes for r in self.rows if r.supersedes is not None}

    def standing(self) -> list[Row]:
        gone = self.superseded()
        return [r for r in self.rows if r.outcome != "undone" and r.id not in gone]

    def effective(self) -> list[Row]:
        return [r for r in self.standing() if r.outcome in TRAINING]

    def tokens(self) -> dict[str, int]:
        return {r.token: r.id for r in self.rows if r.token is not None}

    def has_standing(self, rater: int, a: int, b: int) -> bool:
        return any(r.rater == rater and {r.left, r.right} == {a, b} for r in self.standing())

    # -- requests -------------------------------------------------------------------------

    def decide_answer(self, answer: Insert) -> Insert | Existing | Refused:
        if answer.token is not None and answer.token in self.tokens():
            return Existing(self.tokens()[answer.token])
        if answer.repeat_of is not None:
            original = next((r for r in self.effective() if r.id == answer.repeat_of), None)
            if (
                original is None
                or original.rater != answer.rater
                or original.repeat_of is not None
                or {original.left, original.right} != {answer.left, answer.right}
            ):
                return Refused("InvalidJudgment")
            if any(r.repeat_of == original.id for r in self.standing()):
                return Refused("AlreadyJudged")
            return answer
        if self.has_standing(answer.rater, answer.left, answer.right):
            return Refused("AlreadyJudged")
        return answer

    def decide_undo(self, rater: int, token: str | None) -> Insert | Existing | Nothing:
        if token is not None and token in self.tokens():
            return Existing(self.tokens()[token])
        mine = [r for r in self.standing() if r.rater == rater]
        if not mine:
            return Nothing()
        last = mine[-1]
        return Insert(last.left, last.right, "undone", rater, supersedes=last.id, token=token)

    def add(self, insert: Insert, row_id: int) -> Row:
        if self.rows and row_id <= self.rows[-1].id:
            raise AssertionError(f"row id {row_id} after {self.rows[-1].id}: ids must grow")
        row = insert.with_id(row_id)
        self.rows.append(row)
        return row


@dataclass
class BeliefModel:
    """The answers each look at the log replayed, in order, and where it stands."""

    replayed: list[Row] = field(default_factory=list)
    through: int | None = None  # None before the first look (which rebuilds)

    def catch_up(self, log: LogModel) -> int:
        """What ``core.selection.state.catch_up`` replays now; returns how many."""
        since = self.through or 0
        new = [r for r in log.effective() if r.id > since]
        if self.through is None:
            self.through = new[-1].id if new else 0
        elif new:
            self.through = new[-1].id
        self.replayed += new
        return len(new)

    def retracted_since_replayed(self, log: LogModel) -> list[Row]:
        effective = {r.id for r in log.effective()}
        return [r for r in self.replayed if r.id not in effective]


def replay(images: list[int], answers: list[Row]) -> dict[int, tuple[Belief, int, int]]:
    """(belief, views, last answer id) of each image after ``answers`` in order, from the
    prior of a dataset without a model (mean 0, ``PRIOR_SD``)."""
    state = {i: (Belief(0.0, PRIOR_SD), 0, 0) for i in images}
    for answer in answers:
        (left, left_views, _), (right, right_views, _) = state[answer.left], state[answer.right]
        left, right = apply(left, right, answer.outcome)
        state[answer.left] = (left, left_views + 1, answer.id)
        state[answer.right] = (right, right_views + 1, answer.id)
    return state
