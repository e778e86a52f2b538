"""The one training loop: runs any registered method's phases on any device."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from . import distributed
from .config import PRO_BATCHNORM, TrainConfig
from .data import ImageSet
from .device import autocast, place_dataset, prepare_model, resolve_device, seed_everything
from .encoders import EncoderConfig, SeverityNet
from .method_info import PREFERENCE_PHASES
from .methods import Method, StepContext, get_method
from .pairs import PairMixture, PairSource, grade_preference_pairs, judgment_pairs, mix
from .scoring import fit_anchor

Progress = Callable[[dict], bool]  # receives progress; returns True to cancel
PhaseEnd = Callable[[str, SeverityNet], None]  # called after each phase, network in hand


class TrainingCancelled(Exception):
    """Raised when the progress callback asked to stop."""


class TrainingDiverged(Exception):
    """Raised when a step's loss is not a finite number: the weights are lost."""


@dataclass(frozen=True)
class WarmStart:
    """Continue from a parent version: its weights, and the last answer it learned from
    (answers after it are new). Only the method's preference phase runs, for the fixed
    budget ``config.warm.steps``, so a retrain costs the same however many answers the
    study holds."""

    state_dict: dict[str, torch.Tensor]
    new_after: int


@dataclass
class TrainResult:
    net: SeverityNet
    anchor: torch.Tensor  # normality anchor in the method's score space
    method: Method
    config: TrainConfig
    history: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    judgments_used: int = 0  # expert answers about two training images that it learned from
    steps: int = 0  # optimiser steps over all phases
    notes: dict[str, float] = field(default_factory=dict)  # what the run could use (CoMCL)


def build_net(config: TrainConfig) -> SeverityNet:
    classes = get_method(config.method).grade_classes
    return SeverityNet(
        EncoderConfig(config.backbone, config.small_input, config.weights_path, classes)
    )


def total_steps(config: TrainConfig, n_train: int, phase: str = "") -> int:
    """Steps in one phase. Every phase of every method gets the same budget: ``epochs``
    passes over the training set at 2 x batch_size images a step (or ``pairs_per_phase``
    pairs), so ConPro's Con step is exactly SupCon-2's and its PrO step comes on top.
    ``pro_pairs`` sets the preference phase's budget on its own."""
    if phase in PREFERENCE_PHASES and config.pro_pairs:
        return max(1, math.ceil(config.pro_pairs / config.batch_size))
    if config.pairs_per_phase:
        return max(1, math.ceil(config.pairs_per_phase / config.batch_size))
    images = config.epochs * n_train
    return max(1, math.ceil(images / (2 * config.batch_size)))


def judgment_steps(config: TrainConfig, judged: int, share: float) -> int:
    """Preference steps that draw each of ``judged`` expert answers about
    ``judgment_passes`` times when they make ``share`` of every batch."""
    if not judged or share <= 0:
        return 0
    return math.ceil(config.judgment_passes * judged / share / config.batch_size)


def train(
    config: TrainConfig,
    train_set: ImageSet,
    judgments: list[dict] | None = None,
    progress: Progress | None = None,
    on_phase_end: PhaseEnd | None = None,
    warm: WarmStart | None = None,
) -> TrainResult:
    method = get_method(config.method)
    phases = _phases(method, warm)
    here, device = distributed.start(resolve_device(config.device))
    seed_everything(config.seed)  # the same initial weights on every rank
    fresh = build_net(config)
    if warm is not None:
        fresh.load_state_dict(warm.state_dict)
    net = prepare_model(fresh, device)
    stepper = None
    if here.active:  # each rank's own draws from here on
        seed_everything(distributed.rank_seed(config.seed, here))
        stepper = distributed.wrap(net, device)
    preferences, judged = _preferences(
        config, method, train_set, judgments, warm.new_after if warm else None
    )
    context = StepContext(
        images=place_dataset(train_set.images, device),
        grades=train_set.grades,
        health=train_set.health,
        preference_pairs=preferences,
        config=config,
        rng=np.random.default_rng(distributed.rank_seed(config.seed, here)),
        generator=torch.Generator().manual_seed(distributed.rank_seed(config.seed, here)),
        lesions=train_set.lesions,
        device=device,
    )
    optimizer = _optimizer(net, config)
    result = TrainResult(net, torch.zeros(0), method, config, judgments_used=judged)
    if method.notes is not None:  # what the run could use, said in its record
        result.notes = method.notes(train_set.lesions)
    for phase_number, (phase, step) in enumerate(phases):
        steps = total_steps(config, len(train_set), phase)
        if warm is not None:
            steps = config.warm.steps
        elif phase in PREFERENCE_PHASES:
            share = config.judgment_share if isinstance(preferences, PairMixture) else 1.0
            steps = max(steps, judgment_steps(config, judged, share))
        _train_mode(net, config, phase)
        started = time.perf_counter()
        for index in range(steps):
            context.phase_progress = index / steps
            with autocast(device):
                loss, logs = stepper(step, context) if stepper else step(net, context)
            if not torch.isfinite(loss):
                raise TrainingDiverged(
                    f"{config.method} diverged in {phase}, step {index + 1}: the loss is "
                    f"{loss.item()}; try a lower learning rate"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            record = {
                "phase": phase,
                "step": index + 1,
                "steps": steps,
                "loss": float(loss.item()),
                **logs,
                "fraction": (phase_number + (index + 1) / steps) / len(phases),
            }
            if index % 10 == 0 or index + 1 == steps:
                result.history.append(record)
            cancel = bool(progress and here.is_writer and progress(record))
            if distributed.agree(cancel) if here.active else cancel:
                raise TrainingCancelled(f"cancelled during {phase}, step {index + 1}")
        elapsed = time.perf_counter() - started
        result.steps += steps
        result.timings[f"{phase}_seconds"] = elapsed
        result.timings[f"{phase}_images_per_second"] = steps * 2 * config.batch_size / elapsed
        if on_phase_end:
            net.eval()
            on_phase_end(phase, net)
    net.eval()
    anchor_n = len(train_set) if config.scoring_anchor == "all" else config.anchor_n
    result.anchor = fit_anchor(net, train_set, method.score_space, anchor_n, device)
    return result


def _phases(method: Method, warm: WarmStart | None) -> tuple:
    """Every phase from scratch; only the preference phase when warm."""
    if warm is None:
        return method.phases
    kept = tuple((name, step) for name, step in method.phases if name in PREFERENCE_PHASES)
    if not kept:
        raise ValueError(f"{method.name} has no preference phase to continue: train from scratch")
    return kept


def _train_mode(net: SeverityNet, config: TrainConfig, phase: str) -> None:
    """Train mode for a phase. With ``pro_batchnorm="frozen"`` the preference phase keeps
    the BatchNorm statistics of the Con step: its batches hold abnormal images only,
    while the anchor and every score are read in eval mode."""
    if config.pro_batchnorm not in PRO_BATCHNORM:
        raise ValueError(
            f"pro_batchnorm must be one of {', '.join(PRO_BATCHNORM)}, not {config.pro_batchnorm!r}"
        )
    net.train()
    if phase in PREFERENCE_PHASES and config.pro_batchnorm == "frozen":
        for module in net.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.eval()


def _preferences(
    config: TrainConfig,
    method: Method,
    train_set: ImageSet,
    judgments: list[dict] | None,
    new_after: int | None = None,
) -> tuple[PairSource | PairMixture | None, int]:
    """The method's preference pairs, and how many expert answers are among them."""
    if not method.needs_preferences:
        return None, 0
    graded = None
    if config.use_grade_pairs and (train_set.grades > 0).sum() >= 2:
        graded = grade_preference_pairs(train_set.grades)
    judged = None
    if config.use_judgments and judgments:
        weights = None
        if config.rater_weighting == "reliability":
            from core.raters import judgment_rater_weights

            weights = judgment_rater_weights(judgments, config.seed)
        judged = judgment_pairs(
            judgments, train_set.image_ids, weights, new_after, config.warm.new_share
        )
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
