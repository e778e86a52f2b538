"""The ``train`` and ``bench`` sub-commands of ``python -m core``."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from core.paths import PROJECT_ROOT

from .config import TrainConfig, uses_small_input

DEFAULT_BENCH = "conpro,semise,supcon2,supconn,simclr,learner,supervised,random"


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
    config = replace(base or TrainConfig(), **{k: v for k, v in chosen.items() if v is not None})
    # large inputs use the standard ImageNet stem
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
        "--nproc",
        type=int,
        default=1,
        help="processes, one per GPU (gloo CPU processes without one), launched with "
        "torch.distributed.run; only the first writes the checkpoint and the store rows",
    )
    trainer.add_argument("--job-id", type=int, help=argparse.SUPPRESS)  # the worker's job
    trainer.add_argument("--config-json", help=argparse.SUPPRESS)  # the worker's full config
    add_training_options(trainer)

    bench = commands.add_parser("bench", help="compare methods over seeds")
    data = bench.add_mutually_exclusive_group(required=True)
    data.add_argument("--train", help=".npz with train (and val) splits")
    data.add_argument(
        "--cohort",
        type=int,
        metavar="PATIENTS",
        help="the synthetic cohort of this many patients, split by patient (severity known)",
    )
    bench.add_argument("--test", help="with --train: .npz whose test split is the test set")
    bench.add_argument("--methods", default=DEFAULT_BENCH, help="comma-separated methods")
    bench.add_argument(
        "--variant",
        action="append",
        default=[],
        help="an extra row, label:key=value,... (method conpro unless set), "
        "e.g. scale5:preference_scale=5",
    )
    bench.add_argument("--seeds", type=int, default=5)
    bench.add_argument("--first-seed", type=int, default=0)
    bench.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    bench.add_argument(
        "--degraded",
        nargs="?",
        type=float,
        const=0.6,
        help="also score on the test images degraded at this strength (default 0.6: blur, "
        "uneven light, noise, JPEG) and report each method's drop",
    )
    bench.add_argument("--out", help="write the JSON report here")
    add_training_options(bench)

    trend = commands.add_parser("trend-bench", help="LEARNER pre-training vs MSE on trends")
    trend.add_argument("--seeds", type=int, default=3)
    trend.add_argument("--patients", type=int, default=240, help="synthetic cohort size")
    trend.add_argument(
        "--arms", default="mse,cl,wcl,conpro", help="LEARNER variants (mse, cl, wcl) or methods"
    )
    trend.add_argument("--out", help="write the JSON report here")
    add_training_options(trend)

    sim = commands.add_parser(
        "sim-bench", help="learning curves of pair strategies with a simulated rater"
    )
    sim.add_argument("--data", default="synthetic", help="synthetic, or a MedMNIST-style .npz")
    sim.add_argument("--patients", type=int, default=120, help="synthetic cohort size")
    sim.add_argument(
        "--labels", default="grades", help="what the model may use: grades, or normals"
    )
    sim.add_argument("--normals", type=int, default=20, help="with --labels normals")
    sim.add_argument("--strategies", default="random,active")
    sim.add_argument("--judgments", type=int, default=2000)
    sim.add_argument("--checkpoints", default="250,500,1000,2000")
    sim.add_argument("--rater-noise", type=float, default=0.1, help="on the 0-1 truth")
    sim.add_argument("--position-bias", type=float, default=0.1, help="extra P(left) when unsure")
    sim.add_argument("--lapse", type=float, default=0.05, help="share of random answers")
    sim.add_argument("--seeds", type=int, default=2)
    sim.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    sim.add_argument(
        "--guessing-share",
        type=float,
        default=0.0,
        help="share of the answers given by a second rater who guesses",
    )
    sim.add_argument(
        "--weightings",
        default="none",
        help="none and/or reliability: train each checkpoint unweighted and with answers "
        "weighted by their rater's trust, on the same answers",
    )
    sim.add_argument("--out", help="write the JSON report here")
    add_training_options(sim)


def run_train(args: argparse.Namespace) -> int:
    from . import distributed
    from .methods import get_method

    if args.config_json:  # a worker's job: its whole configuration
        config = TrainConfig.from_dict(json.loads(args.config_json))
    else:
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
        from .bench import load_benchmark_data
        from .checkpoint import save_checkpoint
        from .evaluate import evaluate
        from .train import train

        train_set, val, test, _ = load_benchmark_data(args.data, None, config.image_size)
        result = train(config, train_set, progress=_print_progress)
        if not here.is_writer:
            return 0
        metrics = evaluate(result, train_set, val, test)
        path = save_checkpoint(out / f"{config.method}-seed{config.seed}.pt", result, metrics)
    else:
        from core.paths import resolve_db_path
        from core.store import Store

        from .from_store import train_from_store

        with Store(resolve_db_path(args.db)) as store:
            out = Path(args.out) if args.out else store.media_root / "models"
            progress = _print_progress
            if args.job_id is not None:  # rank 0 reports to the worker's job
                from core.worker.handlers import Reporter

                progress = Reporter(store, args.job_id).training_progress
            model, _ = train_from_store(
                store, config, out, args.dataset, progress, job_id=args.job_id
            )
            if model is None:  # another rank writes
                return 0
            metrics, path = model["metrics"], store.media_path(model["checkpoint_path"])
        print(f"registered as version {model['version']} (candidate)")
    print(f"checkpoint: {path} ({time.perf_counter() - started:.0f} s)")
    print(", ".join(f"{k} {v:.3f}" for k, v in metrics.items() if isinstance(v, float)))
    return 0


def run_bench(args: argparse.Namespace) -> int:
    from .bench import (
        load_benchmark_data,
        load_cohort_data,
        markdown_table,
        parse_arm,
        robustness_table,
        run_benchmark,
        write_report,
    )

    config = config_from_args(args)
    if args.test and not args.train:
        raise SystemExit("--test goes with --train (an .npz test split)")
    arms = [parse_arm(m) for m in args.methods.split(",") if m.strip()]
    arms += [parse_arm(v) for v in args.variant]
    if args.cohort:
        data = load_cohort_data(args.cohort, config.image_size)
    else:
        data = load_benchmark_data(args.train, args.test, config.image_size)
    report = run_benchmark(
        config,
        data,
        arms,
        args.seeds,
        args.resamples,
        first_seed=args.first_seed,
        degraded=args.degraded,
    )
    report["data"]["source"] = f"cohort:{args.cohort}" if args.cohort else args.train
    print(markdown_table(report))
    if report["degraded"]:
        print(f"\nDegraded test images (strength {args.degraded}):")
        print(robustness_table(report))
    if args.out:
        write_report(report, args.out)
    return 0


def run_trend_bench(args: argparse.Namespace) -> int:
    from core.synthetic import CohortConfig

    from .bench import write_report
    from .trend_bench import run_trend_benchmark, trend_table

    arms = tuple(a.strip() for a in args.arms.split(",") if a.strip())
    report = run_trend_benchmark(
        config_from_args(args), CohortConfig(patients=args.patients), args.seeds, arms
    )
    print(trend_table(report))
    if args.out:
        write_report(report, args.out)
    return 0


def run_sim_bench(args: argparse.Namespace) -> int:
    from core.worker.autoretrain import FIRST_MODEL

    from .bench import write_report
    from .sim_bench import SimBenchConfig, run_sim_benchmark, sim_table

    def numbers(text: str) -> tuple[int, ...]:
        return tuple(int(x) for x in text.split(",") if x.strip())

    try:
        config = SimBenchConfig(
            data=args.data,
            patients=args.patients,
            labels=args.labels,
            normals=args.normals,
            strategies=tuple(s.strip() for s in args.strategies.split(",") if s.strip()),
            judgments=args.judgments,
            checkpoints=numbers(args.checkpoints),
            rater_noise=args.rater_noise,
            position_bias=args.position_bias,
            lapse=args.lapse,
            seeds=args.seeds,
            resamples=args.resamples,
            guessing_share=args.guessing_share,
            weightings=tuple(w.strip() for w in args.weightings.split(",") if w.strip()),
        )
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc
    base = config_from_args(args, FIRST_MODEL)  # the app's first model, as changed
    report = run_sim_benchmark(config, base)
    print(sim_table(report))
    if args.out:
        write_report(report, args.out)
    return 0


def _print_progress(record: dict) -> bool:
    if record["step"] == record["steps"] or record["step"] % 50 == 0:
        print(
            f"  {record['phase']}: step {record['step']}/{record['steps']}, "
            f"loss {record['loss']:.4f}",
            flush=True,
        )
    return False
