"""Standing answers in the form every rater measure reads.

Each answer is coded on its **unordered** pair ``(low, high)`` (image ids, low < high),
so that answers given with the sides the other way round compare directly:
``code`` is +1 when the higher id was called more severe, -1 when the lower one was,
0 for "equal". ``winner``/``loser`` are set for decisive (left / right) answers only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ["id", "rater", "left_image_id", "right_image_id", "outcome", "response_ms", "repeat_of"]


def answers_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows as ``Judgments.standing_with_raters`` returns them (rater is the name)."""
    frame = pd.DataFrame(rows, columns=COLUMNS)
    left = frame["left_image_id"].to_numpy(dtype=np.int64)
    right = frame["right_image_id"].to_numpy(dtype=np.int64)
    outcome = frame["outcome"].to_numpy(dtype=object)
    frame["low"], frame["high"] = np.minimum(left, right), np.maximum(left, right)
    winner = np.where(outcome == "left", left, np.where(outcome == "right", right, -1))
    frame["decisive"] = outcome != "equal"
    frame["winner"] = winner
    frame["loser"] = np.where(frame["decisive"], left + right - winner, -1)
    frame["code"] = np.where(~frame["decisive"], 0, np.where(winner == frame["high"], 1, -1))
    return frame


def latest_per_pair(frame: pd.DataFrame) -> pd.DataFrame:
    """Each rater's latest answer about each pair (a repeat counts once, as given last)."""
    return frame.sort_values("id").drop_duplicates(["rater", "low", "high"], keep="last")
