"""Spreadsheet safety for every export: a text cell that a spreadsheet would run as a
formula gets a leading apostrophe (OWASP's advice on CSV injection). Applied to CSV and
Parquet alike, so that both formats of one export hold the same values."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # OWASP: CSV injection


def neutralise_formulas(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe,
    as OWASP recommends; other values are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralised(values: Iterable[object]) -> list[object]:
    """``neutralise_formulas`` over a column of values."""
    return [neutralise_formulas(value) for value in values]


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells a spreadsheet will not run as formulas."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise_formulas)
    return safe


def table_csv(frame: pd.DataFrame) -> bytes:
    return spreadsheet_safe(frame).to_csv(index=False).encode()
