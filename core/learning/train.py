"""The one training loop: runs any registered method's phases on any device."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from .config import TrainConfig
from .data import ImageSet
from .device import autocast, place_dataset, prepare_model, resolve_device, seed_everything
from .encoders import EncoderConfig, SeverityNet
from .methods import Method, StepContext, get_method
from .pairs import PairMixture, PreferencePairs, grade_preference_pairs, judgment_pairs, mix
from .scoring import fit_anchor

Progress = Callable[[dict], bool]  # receives progress; returns True to cancel


class TrainingCancelled(Exception):
    """Raised when the progress callback asked to stop."""


@dataclass
class TrainResult:
    net: SeverityNet
    anchor: torch.Tensor  # normality anchor in the method's score space
    method: Method
    config: TrainConfig
    history: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    judgments_used: int = 0  # expert answers about two training images that it learned from


def build_net(config: TrainConfig) -> SeverityNet:
    return SeverityNet(EncoderConfig(config.backbone, config.small_input, config.weights_path))


def total_steps(config: TrainConfig, n_train: int, phases: int) -> int:
    """Steps per phase. Every method gets the same budget of images: ``epochs`` passes
    over the training set (2 x batch_size images a step), shared between its phases."""
    if config.pairs_per_phase:
        return max(1, math.ceil(config.pairs_per_phase / config.batch_size))
    images = config.epochs * n_train
    return max(1, math.ceil(images / (2 * config.batch_size) / max(phases, 1)))


def train(
    config: TrainConfig,
    train_set: ImageSet,
    judgments: list[dict] | None = None,
    progress: Progress | None = None,
) -> TrainResult:
    seed_everything(config.seed)
    method = get_method(config.method)
    device = resolve_device(config.device)
    net = prepare_model(build_net(config), device)
    preferences, judged = _preferences(config, method, train_set, judgments)
    context = StepContext(
        images=place_dataset(train_set.images, device),
        grades=train_set.grades,
        health=train_set.health,
        preference_pairs=preferences,
        config=config,
        rng=np.random.default_rng(config.seed),
        generator=torch.Generator().manual_seed(config.seed),
        device=device,
    )
    optimizer = _optimizer(net, config)
    steps = total_steps(config, len(train_set), len(method.phases))
    result = TrainResult(net, torch.zeros(0), method, config, judgments_used=judged)
    net.train()
    for phase_number, (phase, step) in enumerate(method.phases):
        started = time.perf_counter()
        for index in range(steps):
            with autocast(device):
                loss, logs = step(net, context)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            record = {
                "phase": phase,
                "step": index + 1,
                "steps": steps,
                "loss": float(loss.item()),
                **logs,
                "fraction": (phase_number + (index + 1) / steps) / len(method.phases),
            }
            if index % 10 == 0 or index + 1 == steps:
                result.history.append(record)
            if progress and progress(record):
                raise TrainingCancelled(f"cancelled during {phase}, step {index + 1}")
        elapsed = time.perf_counter() - started
        result.timings[f"{phase}_seconds"] = elapsed
        result.timings[f"{phase}_images_per_second"] = steps * 2 * config.batch_size / elapsed
    net.eval()
    result.anchor = fit_anchor(net, train_set, method.score_space, config.anchor_n, device)
    return result


def _preferences(
    config: TrainConfig, method: Method, train_set: ImageSet, judgments: list[dict] | None
) -> tuple[PreferencePairs | PairMixture | None, int]:
    """The method's preference pairs, and how many expert answers are among them."""
    if not method.needs_preferences:
        return None, 0
    graded = None
    if config.use_grade_pairs and (train_set.grades > 0).sum() >= 2:
        graded = grade_preference_pairs(train_set.grades)
    judged = None
    if config.use_judgments and judgments:
        judged = judgment_pairs(judgments, train_set.image_ids)
    return mix(graded, judged, config.judgment_share), len(judged) if judged else 0


def _optimizer(net: SeverityNet, config: TrainConfig) -> torch.optim.Optimizer:
    groups = [
        {"params": net.f.parameters(), "lr": config.encoder_lr},
        {
            "params": [p for name, p in net.named_parameters() if not name.startswith("f.")],
            "lr": config.head_lr,
        },
    ]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, momentum=0.9, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    raise ValueError(f"optimizer must be sgd or adam, not {config.optimizer!r}")
