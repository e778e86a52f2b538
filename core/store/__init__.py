"""The data store: SQLite through sqlite-utils, behind one ``Store`` object."""

from .errors import (
    AlreadyJudged,
    DatabaseUnavailable,
    InvalidJudgment,
    LeaseLost,
    NotFound,
    StorageFull,
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
    "LeaseLost",
    "NewImage",
    "NotFound",
    "StorageFull",
    "Store",
    "StoreBusy",
    "StoreError",
]
