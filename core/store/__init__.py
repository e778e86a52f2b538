"""The data store: SQLite through sqlite-utils, behind one ``Store`` object."""

from .errors import (
    AlreadyJudged,
    DatabaseUnavailable,
    InvalidJudgment,
    NotFound,
    StoreBusy,
    StoreError,
)
from .images import NewImage
from .judgments import ANSWERS, Answer
from .store import Store

__all__ = [
    "ANSWERS",
    "AlreadyJudged",
    "Answer",
    "DatabaseUnavailable",
    "InvalidJudgment",
    "NewImage",
    "NotFound",
    "Store",
    "StoreBusy",
    "StoreError",
]
