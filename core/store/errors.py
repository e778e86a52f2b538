"""Named errors raised by the data store, phrased for the people who will read them."""


class StoreError(Exception):
    """Base class for every error the store raises on purpose."""


class DatabaseUnavailable(StoreError):
    """The database file cannot be opened or read."""


class StoreBusy(StoreError):
    """Another process (usually the background worker) held the database too long."""


class NotFound(StoreError):
    """A row that was asked for by id does not exist."""


class AlreadyJudged(StoreError):
    """This rater already has a standing answer for this pair (another tab, a double click)."""


class InvalidJudgment(StoreError):
    """A judgment that cannot be stored as given (same image twice, unknown outcome...)."""
