"""Expert judgments: append-only. Undo and corrections are new rows that supersede."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .blinding import BLINDINGS
from .database import IntegrityError
from .errors import AlreadyJudged, InvalidJudgment, NotFound
from .rows import utc_now

if TYPE_CHECKING:
    from .store import Store

ANSWERS = ("left", "right", "equal", "skip")
OUTCOMES = (*ANSWERS, "undone")


@dataclass(frozen=True)
class Answer:
    """One answer given on the Compare page (or imported)."""

    left_image_id: int
    right_image_id: int
    outcome: str  # left | right | equal | skip: which side shows MORE severe disease
    rater_id: int
    response_ms: int | None = None
    strategy: str | None = None
    comment: str | None = None
    request_token: str | None = None  # one per pair shown: a double submit is a no-op
    repeat_of: int | None = None  # a repeat pair (self-consistency): the answer it repeats
    blinding: str | None = None  # what the rater could see (core.store.blinding); None: unknown


class Judgments:
    def __init__(self, store: Store):
        self._store = store
        self._join = store.db.dialect.forced_join

    def append(self, answer: Answer) -> int:
        """Store a new answer and return its id.

        Raises ``AlreadyJudged`` when this rater already has a standing answer for the
        same pair (two tabs showing one pair), unless the answer is a repeat of it; a
        repeated ``request_token`` (a double click) returns the id of the row already
        stored instead of adding another.
        """
        self._validate(answer)
        with self._store.transaction():
            if answer.request_token:
                row = self._store.one(
                    "SELECT id FROM judgments WHERE request_token = ?", [answer.request_token]
                )
                if row:
                    return row["id"]
            if answer.repeat_of is not None:
                self._check_repeat(answer)
                return self._insert(answer, supersedes=None)
            standing = self._standing_for_pair(
                answer.rater_id, answer.left_image_id, answer.right_image_id
            )
            if standing:
                raise AlreadyJudged(
                    "You have already answered this pair (perhaps in another tab); "
                    "it was not counted twice."
                )
            return self._insert(answer, supersedes=None)

    def correct(self, judgment_id: int, answer: Answer) -> int:
        """Append ``answer`` as a correction that supersedes ``judgment_id``."""
        self._validate(answer)
        with self._store.transaction():
            old = self._standing(judgment_id)
            if {old["left_image_id"], old["right_image_id"]} != {
                answer.left_image_id,
                answer.right_image_id,
            }:
                raise InvalidJudgment("A correction must be about the same pair of images.")
            return self._insert(answer, supersedes=judgment_id)

    def undo_last(
        self, rater_id: int, request_token: str | None = None, only_token: str | None = None
    ) -> dict | None:
        """Retract this rater's latest standing answer with an ``undone`` row.

        Returns the retracted judgment (so the page can show that pair again), or None
        when there is nothing to undo. With ``only_token``, only when that latest answer
        is the one stored with that request token (an undo sent after the answer it
        withdraws never retracts another).
        """
        with self._store.transaction():
            if request_token and self._store.one(
                "SELECT id FROM judgments WHERE request_token = ?", [request_token]
            ):
                return None
            last = self._store.one(
                "SELECT * FROM standing_judgments WHERE rater_id = ? ORDER BY id DESC LIMIT 1",
                [rater_id],
            )
            if last is None or (only_token is not None and last["request_token"] != only_token):
                return None
            undo = Answer(
                last["left_image_id"],
                last["right_image_id"],
                "undone",
                rater_id,
                strategy="undo",
                request_token=request_token,
            )
            self._insert(undo, supersedes=last["id"])
            return last

    def repeatable(self, rater_id: int, min_gap: int, limit: int = 50) -> list[dict]:
        """This rater's standing answers that may be shown again as a repeat: given at
        least ``min_gap`` of their answers ago, not repeats themselves and not repeated
        yet; a random sample of at most ``limit``."""
        return self._store.all(
            """SELECT j.id, j.left_image_id, j.right_image_id FROM effective_judgments j
               WHERE j.rater_id = ? AND j.repeat_of IS NULL
                 AND j.id <= (SELECT id FROM judgments WHERE rater_id = ?
                              AND outcome != 'undone' ORDER BY id DESC LIMIT 1 OFFSET ?)
                 AND NOT EXISTS (SELECT 1 FROM judgments r WHERE r.repeat_of = j.id)
               ORDER BY RANDOM() LIMIT ?""",
            [rater_id, rater_id, min_gap, limit],
        )

    def standing_with_raters(self) -> list[dict]:
        """Every standing answer (left / right / equal) with its rater's name, response
        time and the answer it repeats: what the rater-quality measures read."""
        return self._store.all(
            """SELECT j.id, j.rater_id, r.name AS rater, j.left_image_id, j.right_image_id,
                      j.outcome, j.response_ms, j.repeat_of
               FROM effective_judgments j JOIN raters r ON r.id = j.rater_id ORDER BY j.id"""
        )

    def effective(self, since_id: int = 0, upto_id: int | None = None) -> list[dict]:
        """Standing left/right/equal answers (skips, undone and superseded rows excluded)."""
        sql = "SELECT * FROM effective_judgments WHERE id > ?"
        params: list = [since_id]
        if upto_id is not None:
            sql += " AND id <= ?"
            params.append(upto_id)
        return self._store.all(sql + " ORDER BY id", params)

    def effective_about(self, dataset_id: int, since_id: int = 0) -> list[dict]:
        """Standing answers after ``since_id`` whose two images belong to ``dataset_id``,
        oldest first."""
        return self._store.all(
            # CROSS JOIN keeps the judgments (a range of ids) as the outer loop: left to
            # itself SQLite walks every image of the dataset first (34 ms at 100k images)
            f"""SELECT j.id, j.left_image_id, j.right_image_id, j.outcome
               FROM effective_judgments j
               {self._join} images l ON l.id = j.left_image_id
               {self._join} images r ON r.id = j.right_image_id
               WHERE j.id > ? AND l.dataset_id = ? AND r.dataset_id = ?
               ORDER BY j.id""",
            [since_id, dataset_id, dataset_id],
        )

    def count_effective_since(
        self, since_id: int, dataset_id: int | None = None, both_in_split: str | None = None
    ) -> int:
        """Standing answers after ``since_id``; with ``dataset_id``, those about an image
        of that dataset (the Compare page draws both images from one dataset); with
        ``both_in_split``, only those whose two images are in that split."""
        if dataset_id is None and both_in_split is None:
            sql = "SELECT COUNT(*) AS n FROM effective_judgments WHERE id > ?"
            return self._store.one_row(sql, [since_id])["n"]
        sql = f"""SELECT COUNT(*) AS n FROM effective_judgments j
                 {self._join} images l ON l.id = j.left_image_id
                 {self._join} images r ON r.id = j.right_image_id
                 WHERE j.id > ?"""
        params: list = [since_id]
        if dataset_id is not None:
            sql += " AND (l.dataset_id = ? OR r.dataset_id = ?)"
            params += [dataset_id, dataset_id]
        if both_in_split is not None:
            sql += " AND l.split = ? AND r.split = ?"
            params += [both_in_split, both_in_split]
        return self._store.one_row(sql, params)["n"]

    def high_water_mark(self) -> int:
        return self._store.one_row("SELECT COALESCE(MAX(id), 0) AS n FROM judgments")["n"]

    def has_standing(self, rater_id: int, a: int, b: int) -> bool:
        """Whether this rater has a standing answer (skips included) for the pair."""
        return self._standing_for_pair(rater_id, a, b) is not None

    def progress(self, rater_id: int, session_since: str | None = None) -> dict[str, int]:
        """Standing answers by this rater: today (UTC), in total, and since ``session_since``."""
        base = "SELECT COUNT(*) AS n FROM standing_judgments WHERE rater_id = ?"
        today = utc_now()[:10]
        return {
            "today": self._store.one_row(base + " AND created_at >= ?", [rater_id, today])["n"],
            "total": self._store.one_row(base, [rater_id])["n"],
            "session": self._store.one_row(
                base + " AND created_at >= ?", [rater_id, session_since or "9999"]
            )["n"],
        }

    def export_rows(self) -> list[dict]:
        """Every row ever written, with the rater's name, for CSV/Parquet export."""
        return self._store.all(
            """SELECT j.id, r.name AS rater, j.left_image_id, j.right_image_id, j.outcome,
                      j.created_at, j.response_ms, j.strategy, j.comment, j.supersedes,
                      j.repeat_of, j.blinding
               FROM judgments j JOIN raters r ON r.id = j.rater_id ORDER BY j.id"""
        )

    def used_up_to(self, high_water: int, dataset_id: int | None = None) -> list[dict]:
        """Per rater, the answers a version trained through ``high_water`` could use:
        left / right / equal rows up to that id that no row up to it superseded, about
        two images of ``dataset_id`` (any dataset when None). With how many are repeats,
        ties, and about two training-split images (the rest are held out)."""
        sql = f"""SELECT j.rater_id, COUNT(*) AS answers,
                         SUM(CASE WHEN j.repeat_of IS NOT NULL THEN 1 ELSE 0 END) AS repeats,
                         SUM(CASE WHEN j.outcome = 'equal' THEN 1 ELSE 0 END) AS ties,
                         SUM(CASE WHEN l.split = 'train' AND r.split = 'train'
                             THEN 1 ELSE 0 END) AS both_train
                  FROM judgments j
                  {self._join} images l ON l.id = j.left_image_id
                  {self._join} images r ON r.id = j.right_image_id
                  WHERE j.id <= ? AND j.outcome IN ('left', 'right', 'equal')
                    AND NOT EXISTS (SELECT 1 FROM judgments s
                                    WHERE s.supersedes = j.id AND s.id <= ?)"""
        params: list = [high_water, high_water]
        if dataset_id is not None:
            sql += " AND l.dataset_id = ? AND r.dataset_id = ?"
            params += [dataset_id, dataset_id]
        sql += " GROUP BY j.rater_id ORDER BY answers DESC, j.rater_id"
        return self._store.all(sql, params)

    def _validate(self, answer: Answer) -> None:
        if answer.outcome not in ANSWERS:
            raise InvalidJudgment(
                f"Unknown answer {answer.outcome!r}; expected one of {', '.join(ANSWERS)}."
            )
        if answer.left_image_id == answer.right_image_id:
            raise InvalidJudgment("An image cannot be compared with itself.")
        if answer.response_ms is not None and answer.response_ms < 0:
            raise InvalidJudgment("A response time cannot be negative.")
        if answer.blinding is not None and answer.blinding not in BLINDINGS:
            raise InvalidJudgment(
                f"Unknown blinding {answer.blinding!r}; expected one of {', '.join(BLINDINGS)}."
            )

    def _check_repeat(self, answer: Answer) -> None:
        original = self._store.one(
            "SELECT * FROM effective_judgments WHERE id = ?", [answer.repeat_of]
        )
        if (
            original is None
            or original["rater_id"] != answer.rater_id
            or original["repeat_of"] is not None
            or {original["left_image_id"], original["right_image_id"]}
            != {answer.left_image_id, answer.right_image_id}
        ):
            raise InvalidJudgment(
                "A repeat must show again a pair that the same rater answered and still stands by."
            )
        if self._store.one(
            "SELECT id FROM standing_judgments WHERE repeat_of = ?", [answer.repeat_of]
        ):
            raise AlreadyJudged("That pair was already shown again; it was not counted twice.")

    def _standing(self, judgment_id: int) -> dict:
        row = self._store.one("SELECT * FROM judgments WHERE id = ?", [judgment_id])
        if row is None:
            raise NotFound(f"Judgment {judgment_id} does not exist.")
        if self._store.one("SELECT id FROM judgments WHERE supersedes = ?", [judgment_id]):
            raise InvalidJudgment(f"Judgment {judgment_id} was already superseded.")
        return row

    def _standing_for_pair(self, rater_id: int, a: int, b: int) -> dict | None:
        return self._store.one(
            """SELECT id FROM standing_judgments
               WHERE rater_id = ? AND ((left_image_id = ? AND right_image_id = ?)
                                    OR (left_image_id = ? AND right_image_id = ?))""",
            [rater_id, a, b, b, a],
        )

    def _insert(self, answer: Answer, supersedes: int | None) -> int:
        try:
            return self._store.db.insert(
                "judgments",
                {
                    "left_image_id": answer.left_image_id,
                    "right_image_id": answer.right_image_id,
                    "outcome": answer.outcome,
                    "rater_id": answer.rater_id,
                    "created_at": utc_now(),
                    "response_ms": answer.response_ms,
                    "strategy": answer.strategy,
                    "comment": answer.comment,
                    "supersedes": supersedes,
                    "request_token": answer.request_token,
                    "repeat_of": answer.repeat_of,
                    "blinding": answer.blinding,
                },
            )
        except IntegrityError as exc:
            raise InvalidJudgment(f"This answer could not be stored: {exc.orig}") from exc
