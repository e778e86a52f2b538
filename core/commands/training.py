"""``python -m core train``: one model, on the store or on a MedMNIST-style ``.npz``,
on one process or several (``--nproc``, through ``torch.distributed.run``). The
training options are shared with the benchmarks' commands (``core.commands.experiments``)."""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from core.importers import NpzFormatError
from core.learning.config import TrainConfig, uses_small_input
from core.paths import PROJECT_ROOT
from core.store import StoreError

USER_ERRORS = (StoreError, FileNotFoundError, NpzFormatError, ValueError)


def add_training_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=float, help="passes over the training images")
    parser.add_argument("--image-size", type=int, help="square input size in pixels")
    parser.add_argument("--backbone", choices=["resnet18", "resnet50"])
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--pairs", type=int, help="pairs per phase (the paper: 100000)")


def config_from_args(
    args: argparse.Namespace, base: TrainConfig | None = None, **extra
) -> TrainConfig:
    """``base`` (the defaults unless given) with the training options that were set."""
    chosen = {
        "epochs": args.epochs,
        "image_size": args.image_size,
        "backbone": args.backbone,
        "device": args.device,
        "batch_size": args.batch_size,
        "pairs_per_phase": args.pairs,
        **extra,
    }
    given = {k: v for k, v in chosen.items() if v is not None}
    if "epochs" in given and "pairs_per_phase" not in given:
        given["pairs_per_phase"] = None  # passes asked for: not the base's fixed budget
    config = replace(base or TrainConfig(), **given)
    if "image_size" not in given:
        return config  # the base's stem at the base's size
    # a size asked for gets the stem that suits it: large inputs ImageNet's
    return replace(config, small_input=uses_small_input(config.image_size))


def add_parsers(commands) -> None:
    trainer = commands.add_parser("train", help="train one model")
    trainer.add_argument("--method", required=True)
    source = trainer.add_mutually_exclusive_group()
    source.add_argument("--db", help="train on the store (default: $SEVERITY_DB or data/app.db)")
    source.add_argument("--data", help="train on a MedMNIST-style .npz instead")
    trainer.add_argument("--dataset", help="with --db: only this dataset's images")
    trainer.add_argument(
        "--out", help="folder for the checkpoint (default: models/ in the media folder)"
    )
    trainer.add_argument(
        "--from-scratch",
        action="store_true",
        help="with --db: train from random weights (default: continue the dataset's active "
        "version when it can, for a fixed budget of preference steps)",
    )
    trainer.add_argument(
        "--nproc",
        type=int,
        default=1,
        help="processes, one per GPU (gloo CPU processes without one), launched with "
        "torch.distributed.run; only the first writes the checkpoint and the store rows",
    )
    add_training_options(trainer)
    trainer.set_defaults(handler=run_train)


def run_train(args: argparse.Namespace) -> int:
    from core.learning import distributed
    from core.learning.methods import get_method

    config = config_from_args(args, method=args.method)
    get_method(config.method)
    if args.nproc > 1 and not distributed.ranks().active:
        return distributed.launch(args.nproc, _without_nproc(args.argv))
    try:
        return _train(args, config, distributed.ranks())
    finally:
        distributed.stop()


def _without_nproc(argv: list[str]) -> list[str]:
    kept, skip = [], False
    for token in argv:
        if skip:
            skip = False
        elif token == "--nproc":
            skip = True
        elif not token.startswith("--nproc="):
            kept.append(token)
    return kept


def _train(args: argparse.Namespace, config: TrainConfig, here) -> int:
    started = time.perf_counter()
    if args.data:
        out = Path(args.out or PROJECT_ROOT / "data" / "models")
        from core.experiments.datasets import load_benchmark_data
        from core.learning.checkpoint import save_checkpoint
        from core.learning.evaluate import evaluate
        from core.learning.train import train

        train_set, val, test, _ = load_benchmark_data(args.data, None, config.image_size)
        result = train(config, train_set, progress=_print_progress)
        if not here.is_writer:
            return 0
        metrics = evaluate(result, train_set, val, test)
        path = save_checkpoint(out / f"{config.method}-seed{config.seed}.pt", result, metrics)
    else:
        from core.learning.from_store import train_from_store
        from core.paths import resolve_db_path
        from core.store import Store
        from core.worker.train_job import TrainJob, parent_for

        with Store(resolve_db_path(args.db)) as store:
            out = Path(args.out) if args.out else store.media_root / "models"
            dataset_id = store.datasets.by_name(args.dataset)["id"] if args.dataset else None
            start = "scratch" if args.from_scratch else "warm"
            parent, why = parent_for(store, TrainJob(config, dataset_id, start))
            print(f"{'warm: ' if parent else 'from scratch: '}{why}")
            model, _ = train_from_store(
                store, config, out, dataset_id, _print_progress, parent=parent
            )
            if model is None:  # another rank writes
                return 0
            metrics, path = model["metrics"], store.media_path(model["checkpoint_path"])
        print(f"registered as version {model['version']} (candidate)")
    print(f"checkpoint: {path} ({time.perf_counter() - started:.0f} s)")
    print(", ".join(f"{k} {v:.3f}" for k, v in metrics.items() if isinstance(v, float)))
    return 0


def _print_progress(record: dict) -> bool:
    if record["step"] == record["steps"] or record["step"] % 50 == 0:
        print(
            f"  {record['phase']}: step {record['step']}/{record['steps']}, "
            f"loss {record['loss']:.4f}",
            flush=True,
        )
    return False
