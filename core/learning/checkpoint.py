"""Checkpoints hold the weights, the anchor, the config and the metrics; they are written
to a temporary file and renamed, so a crash never leaves a half-written checkpoint."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from .config import TrainConfig
from .encoders import SeverityNet
from .train import TrainResult, build_net


def save_checkpoint(path: str | Path, result: TrainResult, metrics: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "state_dict": {k: v.cpu() for k, v in result.net.state_dict().items()},
        "anchor": result.anchor.cpu(),
        "score_space": result.method.score_space,
        "config": result.config.to_dict(),
        "metrics": metrics,
    }
    fd, temp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    os.close(fd)
    try:
        torch.save(payload, temp)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path) -> tuple[SeverityNet, torch.Tensor, str, TrainConfig, dict]:
    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    config = TrainConfig.from_dict(payload["config"])
    net = build_net(config)
    net.load_state_dict(payload["state_dict"])
    net.eval()
    return net, payload["anchor"], payload["score_space"], config, payload["metrics"]
