"""Named errors raised by the data store, phrased for the people who will read them."""

import errno


class StoreError(Exception):
    """Base class for every error the store raises on purpose."""


class DatabaseUnavailable(StoreError):
    """The database cannot be opened or reached: a missing file, or a PostgreSQL server
    that dropped the connection (restarted, failed over). Nothing of the change that met
    it may be assumed saved; the caller resends it (with its request token, so an answer
    whose ``COMMIT`` did land is not stored twice)."""


NOT_SAVED = (
    "The study database is not reachable right now; your answer was not saved. It will be retried."
)
NOT_REACHABLE = "The study database is not reachable right now; please try again in a moment."


class StoreBusy(StoreError):
    """Another process (usually the background worker) held the database too long."""


class NotFound(StoreError):
    """A row that was asked for by id does not exist."""


class AlreadyJudged(StoreError):
    """This rater already has a standing answer for this pair (another tab, a double click)."""


class InvalidJudgment(StoreError):
    """A judgment that cannot be stored as given (same image twice, unknown outcome...)."""


class LeaseLost(StoreError):
    """A worker wrote for a job it no longer holds: its heartbeat went stale, the job was
    given to another worker (or failed), and this late write was refused."""


class StorageFull(StoreError):
    """The disk that holds the database or the media folder is full: nothing of the write
    that hit it was kept."""


DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})
SQLITE_FULL = 13  # SQLite's result code for "database or disk is full"
POSTGRES_DISK_FULL = "53100"  # SQLSTATE disk_full


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised from or during, says the disk is full:
    ``ENOSPC`` (or ``EFBIG``, a file-size limit, or ``EDQUOT``, a quota) from a write,
    SQLite's ``SQLITE_FULL`` or PostgreSQL's ``disk_full``. Libraries wrap the write's
    ``OSError`` (torch raises a ``RuntimeError`` from it), so the chain is searched."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in DISK_FULL_ERRNOS:
            return True
        if getattr(current, "sqlite_errorcode", None) == SQLITE_FULL:
            return True
        if getattr(current, "sqlstate", None) == POSTGRES_DISK_FULL:
            return True
        orig = getattr(current, "orig", None)  # SQLAlchemy's wrapper of the driver's error
        if isinstance(orig, BaseException) and is_disk_full(orig):
            return True
        current = current.__cause__ or current.__context__
    return False
