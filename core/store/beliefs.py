"""Per-image severity beliefs for active pair selection, and the pairs raters have on
screen. Both are derived, mutable state: the judgments stay the record."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from .rows import utc_now

if TYPE_CHECKING:
    from .store import Store

COLUMNS = ("image_id", "dataset_id", "model_id", "mu", "sigma", "views", "through_judgment_id")


class Beliefs:
    def __init__(self, store: Store):
        self._store = store

    def load(self, image_ids: Iterable[int]) -> dict[int, dict]:
        ids = [int(i) for i in image_ids]
        found: dict[int, dict] = {}
        for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
            chunk = ids[start : start + 500]
            rows = self._store.all(
                f"SELECT * FROM beliefs WHERE image_id IN ({','.join('?' * len(chunk))})", chunk
            )
            found |= {r["image_id"]: r for r in rows}
        return found

    def state(self, dataset_id: int) -> dict | None:
        """The version whose scores the dataset's beliefs start from (``model_id``, None
        without one) and the newest answer replayed into them (``through``); None
        before the first build."""
        return self._store.settings.get(f"beliefs:dataset-{dataset_id}")

    def mark_through(self, dataset_id: int, model_id: int | None, through: int) -> None:
        self._store.settings.set(
            f"beliefs:dataset-{dataset_id}", {"model_id": model_id, "through": through}
        )

    def replace_dataset(
        self, dataset_id: int, model_id: int | None, through: int, rows: list[dict]
    ) -> None:
        """Every belief of a dataset at once (a rebuild), in one transaction."""
        with self._store.transaction():
            self._store.db.execute("DELETE FROM beliefs WHERE dataset_id = ?", [dataset_id])
            self._store.db.insert_all("beliefs", rows)
            self.mark_through(dataset_id, model_id, through)

    def save(self, rows: list[dict]) -> None:
        with self._store.transaction():
            self._store.db.upsert_all("beliefs", rows, key=("image_id",))


class Screens:
    """The pair on each rater's screen (unordered: low, high image id)."""

    def __init__(self, store: Store):
        self._store = store

    def show(self, rater_id: int, a: int, b: int) -> None:
        low, high = sorted((int(a), int(b)))
        with self._store.transaction(serialize=False):
            self._store.db.upsert_all(
                "on_screen",
                [
                    {
                        "rater_id": rater_id,
                        "low_image_id": low,
                        "high_image_id": high,
                        "shown_at": utc_now(),
                    }
                ],
                key=("rater_id",),
            )

    def clear(self, rater_id: int) -> None:
        self._store.db.execute("DELETE FROM on_screen WHERE rater_id = ?", [rater_id])

    def taken(self, except_rater: int | None, within_minutes: float = 10.0) -> set[tuple[int, int]]:
        """Pairs other raters have had on screen for less than ``within_minutes`` (a rater
        who walked away does not hold a pair for ever)."""
        since = (datetime.now(UTC) - timedelta(minutes=within_minutes)).isoformat(
            timespec="milliseconds"
        )
        rows = self._store.all(
            "SELECT low_image_id, high_image_id FROM on_screen "
            "WHERE rater_id IS DISTINCT FROM ? AND shown_at >= ?",
            [except_rater, since],
        )
        return {(r["low_image_id"], r["high_image_id"]) for r in rows}
