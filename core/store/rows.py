"""Small helpers shared by the repositories: timestamps and JSON columns."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, overload

from core.plain import plain


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def to_json(value: Any) -> str:
    """Every JSON column is written through the one plain-value converter."""
    return json.dumps(plain(value), sort_keys=True)


@overload
def decode_json_columns(row: dict, *columns: str) -> dict: ...


@overload
def decode_json_columns(row: None, *columns: str) -> None: ...


def decode_json_columns(row: dict | None, *columns: str) -> dict | None:
    if row is None:
        return None
    for column in columns:
        if isinstance(row.get(column), str):
            row[column] = json.loads(row[column])
    return row
