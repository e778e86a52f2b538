"""Datasets, pseudonymous patients, raters and key/value settings."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any

from .errors import NotFound
from .rows import utc_now

if TYPE_CHECKING:
    from .store import Store


class Datasets:
    def __init__(self, store: Store):
        self._store = store

    def ensure(self, name: str, description: str = "", source: str = "") -> int:
        """Return the id of dataset ``name``, creating it if needed."""
        name = name.strip()
        if not name:
            raise ValueError("A dataset needs a name.")
        with self._store.transaction(serialize=False):
            return self._store.db.get_or_insert(
                "datasets",
                {"name": name},
                {"description": description, "source": source, "created_at": utc_now()},
            )

    def list(self) -> list[dict]:
        return self._store.all(
            """SELECT d.*, COUNT(i.id) AS images, COUNT(DISTINCT i.patient_id) AS patients
               FROM datasets d LEFT JOIN images i ON i.dataset_id = d.id
               GROUP BY d.id ORDER BY d.name"""
        )

    def get(self, dataset_id: int) -> dict:
        row = self._store.one("SELECT * FROM datasets WHERE id = ?", [dataset_id])
        if row is None:
            raise NotFound(f"There is no dataset number {dataset_id}.")
        return row

    def by_name(self, name: str) -> dict:
        row = self._store.one("SELECT * FROM datasets WHERE name = ?", [name])
        if row is None:
            raise NotFound(f"There is no dataset called {name!r}.")
        return row


class Patients:
    """Patients are stored under a salted hash of their source identifier, nothing else."""

    def __init__(self, store: Store, salt: bytes):
        self._store = store
        self._salt = salt

    def pseudonym(self, source_id: str) -> str:
        digest = hmac.new(self._salt, source_id.strip().encode(), hashlib.sha256).hexdigest()
        return f"P-{digest[:12]}"

    def date_shift_days(self, source_id: str) -> int:
        """A stable per-patient shift (0..364 days) for de-identified visit dates."""
        digest = hmac.new(self._salt, b"date:" + source_id.strip().encode(), hashlib.sha256)
        return int.from_bytes(digest.digest()[:4], "big") % 365

    def ensure(self, source_id: str) -> int:
        pseudonym = self.pseudonym(source_id)
        with self._store.transaction(serialize=False):
            return self._store.db.get_or_insert(
                "patients", {"pseudonym": pseudonym}, {"created_at": utc_now()}
            )

    def list(self, dataset_id: int | None = None) -> list[dict]:
        where, params = ("WHERE i.dataset_id = ?", [dataset_id]) if dataset_id else ("", [])
        return self._store.all(
            f"""SELECT p.id, p.pseudonym, COUNT(i.id) AS visits,
                       MIN(i.visit_date) AS first_visit, MAX(i.visit_date) AS last_visit
                FROM patients p JOIN images i ON i.patient_id = p.id {where}
                GROUP BY p.id ORDER BY p.pseudonym""",
            params,
        )


class Raters:
    def __init__(self, store: Store):
        self._store = store

    def ensure(self, name: str) -> int:
        name = " ".join(name.split())
        if not name:
            raise ValueError("Please enter your name to sign in.")
        if len(name) > 80:
            raise ValueError("That name is too long (80 characters at most).")
        known = self._find(name)
        if known:  # every page rerun signs in again: no write lock for a known rater
            return known
        with self._store.transaction():  # serialized: only the very first rater is admin
            row = self._find(name)
            if row:
                return row
            first = self._store.one("SELECT 1 AS x FROM raters LIMIT 1") is None
            return self._store.db.insert(
                "raters",
                {"name": name, "created_at": utc_now(), "role": "admin" if first else "rater"},
            )

    def _find(self, name: str) -> int | None:
        """Names match regardless of case (``Dr Rivera`` is ``dr rivera``)."""
        row = self._store.one("SELECT id FROM raters WHERE lower(name) = lower(?)", [name])
        return row["id"] if row else None

    def role(self, rater_id: int) -> str:
        """``admin`` (a study lead) or ``rater``; the first rater of a database is admin."""
        row = self._store.one("SELECT role FROM raters WHERE id = ?", [rater_id])
        return row["role"] if row else "rater"

    def name(self, rater_id: int) -> str:
        """The name as stored (sign-in matches names regardless of case)."""
        row = self._store.one("SELECT name FROM raters WHERE id = ?", [rater_id])
        if row is None:
            raise NotFound(f"Rater {rater_id} does not exist.")
        return row["name"]

    def list(self) -> list[dict]:
        return self._store.all("SELECT * FROM raters ORDER BY name")


class Settings:
    def __init__(self, store: Store):
        self._store = store

    def get(self, key: str, default: Any = None) -> Any:
        row = self._store.one("SELECT value FROM settings WHERE key = ?", [key])
        return default if row is None else json.loads(row["value"])

    def set(self, key: str, value: Any) -> None:
        with self._store.transaction(serialize=False):
            self._store.db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, json.dumps(value)],
            )

    def setdefault(self, key: str, value: Any) -> Any:
        """The stored value of ``key``; ``value`` is stored first when there is none. Two
        callers racing for a missing key both get the value that was stored first."""
        with self._store.transaction(serialize=False):
            self._store.db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING",
                [key, json.dumps(value)],
            )
        return self.get(key)
