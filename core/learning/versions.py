"""Which version a command means (``--version N``, ``--dataset NAME [--active]``), and
that version's network loaded from its checkpoint, with errors a study lead can act on."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.store import NotFound, Store

from .checkpoint import CheckpointUnreadable, load_checkpoint
from .config import TrainConfig
from .encoders import SeverityNet

UNUSABLE = ("training", "failed")


class VersionUnavailable(ValueError):
    """No version matches what was asked for, or it cannot be used; the message says why."""


@dataclass
class LoadedVersion:
    row: dict  # the version's row in the store (version, method, dataset, ...)
    net: SeverityNet
    anchor: torch.Tensor
    space: str  # how its severity score is read (core.learning.scoring.SPACES)
    config: TrainConfig


def choose_version(
    store: Store, version: int | None = None, dataset: str | None = None, active: bool = False
) -> dict:
    """The row of version ``version``; else, of those serving ``dataset`` (its own and
    those trained on every dataset), the active one with ``active``, otherwise the newest
    that finished training; ``active`` alone: the active version (``Models.active``)."""
    if version is not None and active:
        raise VersionUnavailable("Give --version or --active, not both.")
    dataset_id = _dataset_id(store, dataset) if dataset else None
    if version is not None:
        row = next((m for m in store.models.list() if m["version"] == version), None)
        if row is None:
            raise VersionUnavailable(f"There is no version {version} in this study.")
        if dataset_id is not None and row["dataset_id"] not in (None, dataset_id):
            raise VersionUnavailable(
                f"Version {version} was trained on {row['dataset']!r}, not on {dataset!r}."
            )
        return _usable(row)
    if active:
        row = store.models.active(dataset_id)
        if row is None:
            where = f" for {dataset!r}" if dataset else ""
            raise VersionUnavailable(f"No version is active{where} yet.")
        return _usable(row)
    if dataset_id is None:
        raise VersionUnavailable(
            "Say which version to use: --version N, --dataset NAME or --active."
        )
    serving = [
        m
        for m in store.models.list()  # newest first
        if m["dataset_id"] in (None, dataset_id) and m["status"] not in UNUSABLE
    ]
    if not serving:
        raise VersionUnavailable(f"No finished version serves {dataset!r} yet.")
    return _usable(serving[0])


def load_version(store: Store, row: dict) -> LoadedVersion:
    """The version's network in eval mode on the CPU, its anchor and score space."""
    path = store.media_path(row["checkpoint_path"])
    if not path.is_file():
        raise VersionUnavailable(
            f"The checkpoint of version {row['version']} is missing from the media folder "
            f"({row['checkpoint_path']}); run `python -m core check`."
        )
    try:
        net, anchor, space, config, _ = load_checkpoint(path)
    except CheckpointUnreadable as exc:
        raise VersionUnavailable(
            f"The checkpoint of version {row['version']} cannot be used: {exc}; "
            "run `python -m core check`."
        ) from exc
    return LoadedVersion(row, net.eval(), anchor, space, config)


def _dataset_id(store: Store, name: str) -> int:
    try:
        return store.datasets.by_name(name)["id"]
    except NotFound as exc:
        known = ", ".join(d["name"] for d in store.datasets.list()) or "none yet"
        raise VersionUnavailable(f"There is no dataset {name!r} (datasets: {known}).") from exc


def _usable(row: dict) -> dict:
    if row["status"] == "failed":
        why = f"its training failed ({row.get('error') or 'no reason recorded'})"
    elif row["status"] == "training" or not row["checkpoint_path"]:
        why = "it is still training"
    else:
        return row
    raise VersionUnavailable(f"Version {row['version']} cannot be used: {why}.")
