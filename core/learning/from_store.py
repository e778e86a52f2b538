"""Training on what the store holds: its images (by frozen split) and expert judgments.
One function, used by ``python -m core train --db`` and by the background worker."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from core.plain import finite_only
from core.store import Store

from . import distributed
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import ImageSet, load_store_splits
from .device import resolve_device
from .embed import Embedding, embed
from .evaluate import evaluate
from .recipes import warm_blocker
from .train import Progress, TrainResult, WarmStart, train


def train_from_store(
    store: Store,
    config: TrainConfig,
    out_dir: str | Path,
    dataset_id: int | None = None,
    progress: Progress | None = None,
    job_id: int | None = None,
    parent: dict | None = None,
) -> tuple[dict | None, TrainResult]:
    """Train, evaluate on the fixed validation split, save the checkpoint atomically and
    register the version as a candidate. Returns (model row, result). With ``parent`` (a
    version's row), continue from it (``warm_start``). Launched on several processes
    (``torch.distributed.run``), every rank trains and only rank 0 writes: the others
    return ``(None, result)``."""
    here = distributed.ranks()
    warm = warm_start(store, parent, config) if parent is not None else None
    splits = load_store_splits(store, config.image_size, dataset_id)
    if "train" not in splits or "val" not in splits:
        raise ValueError("training needs images in both the train and val splits")
    if here.active:  # join the group now: every rank must train on rank 0's answers
        distributed.start(resolve_device(config.device))
    high_water = distributed.share(store.judgments.high_water_mark())
    judgments = store.judgments.effective(upto_id=high_water)
    dataset = store.datasets.get(dataset_id)["name"] if dataset_id is not None else None
    settings = {**config.to_dict(), "dataset": dataset}
    if not here.is_writer:
        return None, train(config, splits["train"], judgments, warm=warm)
    model = store.models.create(
        config.method,
        settings,
        trained_through=high_water,
        job_id=job_id,
        dataset_id=dataset_id,
        parent_id=parent["id"] if parent is not None else None,
    )
    try:
        result = train(config, splits["train"], judgments, progress, warm=warm)
        metrics = {
            **evaluate_on_store(result, splits, judgments, _dataset_names(store)),
            "n_judgments_standing": len(judgments),
            "n_judgments_trained_on": result.judgments_used,
            "steps_trained": result.steps,
            **result.notes,
        }
        path = Path(out_dir) / f"model-v{model['version']}.pt"
        # written and verified beside its place, renamed into it under the job's lease
        part = save_checkpoint(path.with_name(path.name + ".part"), result, metrics)
        publish_checkpoint(store, model["id"], path, part, metrics)
    except BaseException as exc:
        store.models.mark_failed(model["id"], str(exc) or type(exc).__name__)
        raise
    return store.models.get(model["id"]), result


def publish_checkpoint(store: Store, model_id: int, path: Path, part: Path, metrics: dict) -> None:
    """Rename the verified ``part`` to ``path`` and record the version as a candidate, in
    one short transaction: under the job's lease (``Models.finish`` checks it) or not at
    all. A worker that lost its job leaves neither a checkpoint nor a candidate."""
    placed = False
    try:
        with store.transaction():
            store.models.finish(model_id, store.relative_to_media(path), metrics)
            os.replace(part, path)
            placed = True
    except BaseException:
        part.unlink(missing_ok=True)
        if placed:  # the rename happened but the row did not commit
            path.unlink(missing_ok=True)
        raise


def warm_start(store: Store, parent: dict, config: TrainConfig) -> WarmStart:
    """The parent version's weights, and the last answer it learned from."""
    if not parent.get("checkpoint_path"):
        raise ValueError(f"version {parent['version']} has no checkpoint to continue from")
    net, _, _, parent_config, _ = load_checkpoint(store.media_path(parent["checkpoint_path"]))
    blocker = warm_blocker(parent_config, config)
    if blocker:
        raise ValueError(f"version {parent['version']} cannot be continued: {blocker}")
    return WarmStart(net.state_dict(), int(parent["trained_through_judgment_id"]))


def train_version(
    store: Store,
    config: TrainConfig,
    out_dir: str | Path,
    dataset_id: int | None = None,
    progress: Progress | None = None,
    job_id: int | None = None,
    parent: dict | None = None,
) -> tuple[dict, TrainResult]:
    """``train_from_store`` in one process, which always registers the version."""
    model, result = train_from_store(store, config, out_dir, dataset_id, progress, job_id, parent)
    if model is None:
        raise RuntimeError("only rank 0 of several processes registers the version")
    return model, result


def embed_into_store(
    store: Store,
    model: dict,
    net,
    space: str,
    anchor: torch.Tensor,
    images: ImageSet,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> Embedding:
    """Vectors and severity (with its spread over flips) of ``images`` by a version,
    stored as that version's embeddings; ``progress(done, total)`` as it goes."""
    embedding = embed(net, images.images, space, anchor, progress)
    store.embeddings.save(
        model["id"],
        images.image_ids.tolist(),
        embedding.vectors,
        embedding.severity,
        embedding.severity_std,
    )
    return embedding


def ordering_by_dataset(
    result: TrainResult, splits: dict[str, ImageSet], names: dict[int, str]
) -> dict[str, float | str]:
    """The severity-ordering figures of each dataset on its own (``tau_abnormal@name``),
    on its test images, or on its validation images where it has no test split (an
    imported ``.npz`` with train and val only): one model serves datasets whose grades
    mean different things, and a figure over their union would hide that it orders one
    and not the other."""
    from .metrics import severity_ordering
    from .scoring import severity_scores

    figures: dict[str, float | str] = {}
    datasets = np.unique(np.concatenate([s.datasets for s in splits.values()]))
    for dataset_id in datasets:
        name = names.get(int(dataset_id), str(dataset_id))
        for split in ("test", "val"):
            part = splits.get(split)
            if part is None:
                continue
            mine = (part.datasets == dataset_id) & (part.grades >= 0)
            if mine.sum() >= 2:
                break
        else:
            continue
        held_out = part.subset(np.flatnonzero(mine))
        scores = severity_scores(
            result.net, held_out.images, result.method.score_space, result.anchor
        )
        truth = held_out.health if held_out.health_is_truth else None
        ordering = severity_ordering(scores, held_out.grades, truth)
        figures |= {f"{k}@{name}": v for k, v in ordering.items()}
        figures[f"evaluated_on@{name}"] = split
    return figures


def _graded(images: ImageSet) -> ImageSet:
    return images.subset(np.flatnonzero(images.grades >= 0))


def evaluate_on_store(
    result: TrainResult,
    splits: dict[str, ImageSet],
    judgments: list[dict],
    dataset_names: dict[int, str] | None = None,
) -> dict:
    """Metrics on the test split when there is one, else on the fixed validation split;
    held-out judgments are those whose two images are both outside the training split."""
    train_set, val = splits["train"], splits["val"]
    target = splits.get("test", val)
    metrics: dict = {
        "evaluated_on": "test" if "test" in splits else "val",
    }
    # the probe and its figures need grades: a study may hold ungraded images beside them
    graded = {
        name: _graded(s) for name, s in (("train", train_set), ("val", val), ("test", target))
    }
    if all(len(s) >= 2 for s in graded.values()):
        metrics.update(evaluate(result, graded["train"], graded["val"], graded["test"]))
    if dataset_names is not None:
        metrics.update(ordering_by_dataset(result, splits, dataset_names))
    from .evaluate import agreement_on
    from .metrics import severity_tau
    from .scoring import severity_scores

    val_graded = val.grades >= 0
    if val_graded.sum() >= 2:
        scores = severity_scores(
            result.net,
            val.images[torch.as_tensor(val_graded)],
            result.method.score_space,
            result.anchor,
        )
        metrics["val_tau"] = severity_tau(scores, val.grades[val_graded])
    metrics["val_judgment_agreement"] = agreement_on(result.net, result, val, judgments)
    # how well it learned the answers it was given (both images in the training split)
    metrics["train_judgment_agreement"] = agreement_on(result.net, result, train_set, judgments)
    # plain values only; unmeasurable figures (no judgments yet...) are left out, not NaN
    return finite_only(metrics)


def _dataset_names(store: Store) -> dict[int, str]:
    return {d["id"]: d["name"] for d in store.datasets.list()}
