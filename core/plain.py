"""One converter for every value that leaves Python for good: metrics and settings in a
database row, config and metrics in a checkpoint.

numpy and scipy hand back their own scalar types (``numpy.float64`` from a mean,
``numpy.bool_`` from a comparison). JSON writes some of them as strings, pickle writes
them as numpy globals that ``torch.load(weights_only=True)`` rightly refuses to load. So
everything is turned into built-in types here, once, and anything else is refused with
the key where it was found instead of being written in a form nobody can read back.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from pathlib import PurePath
from typing import Any

import numpy as np

Plain = None | bool | int | float | str | list["Plain"] | dict[str, "Plain"]


def plain(value: Any, where: str = "value") -> Plain:
    """``value`` as None, bool, int, float, str, list and str-keyed dict only."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return plain(value.tolist(), where)
    if isinstance(value, dict):
        return _plain_dict(value, where)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [plain(v, f"{where}[{n}]") for n, v in enumerate(items)]
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return plain(value.value, where)
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # 0-d torch tensors
        return plain(value.item(), where)
    raise TypeError(f"{where} is a {type(value).__name__}, which cannot be stored as a plain value")


def finite_only(metrics: dict[str, Any]) -> dict[str, Plain]:
    """Plain metrics without the figures that could not be measured (NaN, inf)."""
    return {
        k: v
        for k, v in _plain_dict(metrics, "metrics").items()
        if not (isinstance(v, float) and not math.isfinite(v))
    }


def _plain_dict(value: dict, where: str) -> dict[str, Plain]:
    return {_key(k, where): plain(v, f"{where}[{k!r}]") for k, v in value.items()}


def _key(key: Any, where: str) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, int | np.integer | float | np.floating | bool | np.bool_):
        return str(plain(key, where))
    raise TypeError(f"{where} has a {type(key).__name__} key, which cannot be stored")
