"""Deterministic train/val/test assignment (70/15/15), by patient where there is one,
so that one patient's visits never straddle splits."""

from __future__ import annotations

import hashlib

TRAIN_FRACTION, VAL_FRACTION = 0.70, 0.15


def assign_split(key: str) -> str:
    bucket = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
    if bucket < TRAIN_FRACTION:
        return "train"
    if bucket < TRAIN_FRACTION + VAL_FRACTION:
        return "val"
    return "test"
