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

    def page(
        self, dataset_id: int | None = None, search: str = "", limit: int = 50, offset: int = 0
    ) -> list[dict]:
        """One page of the patients with images (in ``dataset_id``), by pseudonym, with
        their visits; ``search`` keeps those whose pseudonym starts with it (``P-`` may
        be left out, any case). Reads only the page's patients' images (by index), so
        a study of 20,000 patients is listed a page at a time."""
        matching = _patients_matching(dataset_id, search)
        if matching is None:
            return []
        where, params = matching
        mine = _one_patients_images(dataset_id)
        own = [dataset_id] if dataset_id else []
        return self._store.all(
            f"""SELECT p.id, p.pseudonym,
                       (SELECT COUNT(*) FROM images i WHERE {mine}) AS visits,
                       (SELECT MIN(i.visit_date) FROM images i WHERE {mine}) AS first_visit,
                       (SELECT MAX(i.visit_date) FROM images i WHERE {mine}) AS last_visit
                FROM patients p WHERE {where} ORDER BY p.pseudonym LIMIT ? OFFSET ?""",
            [*own, *own, *own, *params, int(limit), int(offset)],
        )

    def count(self, dataset_id: int | None = None, search: str = "") -> int:
        """How many patients ``page`` pages through."""
        matching = _patients_matching(dataset_id, search)
        if matching is None:
            return 0
        where, params = matching
        sql = f"SELECT COUNT(*) AS n FROM patients p WHERE {where}"
        return self._store.one_row(sql, params)["n"]

    def list(self, dataset_id: int | None = None) -> list[dict]:
        where, params = ("WHERE i.dataset_id = ?", [dataset_id]) if dataset_id else ("", [])
        return self._store.all(
            f"""SELECT p.id, p.pseudonym, COUNT(i.id) AS visits,
                       MIN(i.visit_date) AS first_visit, MAX(i.visit_date) AS last_visit
                FROM patients p JOIN images i ON i.patient_id = p.id {where}
                GROUP BY p.id ORDER BY p.pseudonym""",
            params,
        )


def _one_patients_images(dataset_id: int | None) -> str:
    """The condition for patient ``p``'s images (in a dataset, ``?``). The unary ``+``
    keeps the dataset out of the index choice (on both engines it changes no value):
    without it SQLite answers ``MIN(visit_date)`` by reading every image of the
    dataset, for each patient (22 s a page at 100,000 images), not the patient's own."""
    return "i.patient_id = p.id" + (" AND +i.dataset_id = ?" if dataset_id else "")


def _patients_matching(dataset_id: int | None, search: str) -> tuple[str, list] | None:
    """The condition for patients with images (in ``dataset_id``) whose pseudonym
    starts with ``search``; None when no pseudonym can (pseudonyms are ``P-`` and
    lower-case hexadecimal)."""
    clauses = [f"EXISTS (SELECT 1 FROM images i WHERE {_one_patients_images(dataset_id)})"]
    params: list = [dataset_id] if dataset_id else []
    text = search.strip().lower()
    text = text[2:] if text.startswith("p-") else text
    if text:
        if not all(c in "0123456789abcdef" for c in text):
            return None
        clauses.append("p.pseudonym LIKE ?")
        params.append(f"P-{text}%")
    return " AND ".join(clauses), params


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
        callers racing for a missing key both get the value that was stored first. Once
        stored, a read only: pages ask on every rerun, and a write would take the lock."""
        row = self._store.one("SELECT value FROM settings WHERE key = ?", [key])
        if row is not None:
            return json.loads(row["value"])
        with self._store.transaction(serialize=False):
            self._store.db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING",
                [key, json.dumps(value)],
            )
        return self.get(key)
