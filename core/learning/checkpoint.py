"""Checkpoints hold the weights, the anchor, the config and the metrics.

Only tensors and plain Python values go in (``core.plain``), so that every checkpoint
loads with ``torch.load(weights_only=True)``. A checkpoint is written to a temporary
file, loaded back the safe way, and only then renamed into place: a crash or a value
that cannot be read back never leaves a checkpoint that the worker cannot use.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from core.plain import finite_only, plain
from core.store.errors import StorageFull, is_disk_full

from .config import TrainConfig
from .encoders import SeverityNet
from .train import TrainResult, build_net


class CheckpointUnreadable(Exception):
    """A checkpoint that the safe loader refuses, with the loader's reason."""


def save_checkpoint(path: str | Path, result: TrainResult, metrics: dict[str, Any]) -> Path:
    """Write the checkpoint at ``path``, whole and loadable, or not at all."""
    return _write_verified(Path(path), _payload(result, metrics))


def _payload(result: TrainResult, metrics: dict[str, Any]) -> dict:
    return {
        "state_dict": {k: v.cpu() for k, v in result.net.state_dict().items()},
        "anchor": result.anchor.cpu(),
        "score_space": result.method.score_space,
        "config": plain(result.config.to_dict(), "config"),
        "metrics": finite_only(metrics),
    }


def load_checkpoint(path: str | Path) -> tuple[SeverityNet, torch.Tensor, str, TrainConfig, dict]:
    payload = _safe_load(Path(path))
    config = TrainConfig.from_dict(payload["config"])
    net = build_net(config)
    net.load_state_dict(payload["state_dict"])
    net.eval()
    return net, payload["anchor"], payload["score_space"], config, payload["metrics"]


@dataclass(frozen=True)
class CheckpointCheck:
    path: str
    state: str  # ok | repaired | missing | unreadable
    detail: str = ""


def check_checkpoint(path: str | Path, repair: bool = False) -> CheckpointCheck:
    """Whether ``path`` loads safely. With ``repair``, a checkpoint that holds non-plain
    values (written before they were converted) is loaded once with the full unpickler,
    converted and written back; only use that on checkpoints this app wrote itself."""
    path = Path(path)
    if not path.is_file():
        return CheckpointCheck(str(path), "missing", "the checkpoint file is missing")
    try:
        _safe_load(path)
        return CheckpointCheck(str(path), "ok")
    except CheckpointUnreadable as exc:
        reason = str(exc)
    if not repair:
        return CheckpointCheck(str(path), "unreadable", reason)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)  # trusted: our own
        fixed = {
            "state_dict": payload["state_dict"],
            "anchor": payload["anchor"],
            "score_space": str(payload["score_space"]),
            "config": plain(payload["config"], "config"),
            "metrics": finite_only(payload.get("metrics", {})),
        }
        _write_verified(path, fixed)
    except Exception as exc:  # anything: the file stays as it was, the reason is reported
        return CheckpointCheck(str(path), "unreadable", f"{reason}; repair failed: {exc}")
    return CheckpointCheck(str(path), "repaired", reason)


def _safe_load(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointUnreadable(f"the checkpoint cannot be loaded safely ({first})") from exc


def _write_verified(path: Path, payload: dict) -> Path:
    temp = _write_part(path, payload)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def _write_part(path: Path, payload: dict) -> Path:
    """``payload`` in a ``.part`` file beside ``path``, flushed to the disk and loaded
    back the safe way. A full disk raises ``StorageFull`` naming the checkpoint; no
    ``.part`` is left behind by any failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f"{path.name}.", suffix=".part")
    temp = Path(name)
    try:
        # through a Python file, so that a failed write raises its OSError (torch's own
        # writer reports only a RuntimeError, with the OSError as its context)
        with os.fdopen(fd, "wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        _safe_load(temp)  # what is renamed into place is known to load
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise StorageFull(
                f"The disk holding {path.parent} is full: the checkpoint {path.name} was not "
                "written (nothing partial was left). Free some space and train again."
            ) from exc
        raise
    return temp
