"""The research benchmarks' commands: ``bench`` (the fair comparison of methods),
``trend-bench`` (LEARNER's trend table) and ``sim-bench`` (learning curves with a
simulated rater). Each writes its report as JSON with ``--out``."""

from __future__ import annotations

import argparse

from core.learning.recipes import FIRST_MODEL

from .training import USER_ERRORS as TRAINING_ERRORS
from .training import add_training_options, config_from_args

USER_ERRORS = TRAINING_ERRORS  # the same inputs as training
DEFAULT_BENCH = "conpro,semise,supcon2,supconn,simclr,learner,supervised,random"


def add_parsers(commands) -> None:
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
    bench.set_defaults(handler=run_bench)
    add_training_options(bench)

    trend = commands.add_parser("trend-bench", help="LEARNER pre-training vs MSE on trends")
    trend.add_argument("--seeds", type=int, default=3)
    trend.add_argument("--patients", type=int, default=240, help="synthetic cohort size")
    trend.add_argument(
        "--arms", default="mse,cl,wcl,conpro", help="LEARNER variants (mse, cl, wcl) or methods"
    )
    trend.add_argument("--out", help="write the JSON report here")
    trend.set_defaults(handler=run_trend_bench)
    add_training_options(trend)

    sim = commands.add_parser(
        "sim-bench",
        help="learning curves of pair strategies with a simulated rater, with controls",
        description="Arms: random, active, coverage (never-answered images first, as "
        "active serves them), no-answers (as many training steps, no answers). With --out, "
        "each seed's result is kept in OUT's name + .seeds/; a later run with the same "
        "--out skips the seeds kept there and reports on all of them.",
    )
    sim.add_argument("--data", default="synthetic", help="synthetic, or a MedMNIST-style .npz")
    sim.add_argument("--patients", type=int, default=120, help="synthetic cohort size")
    sim.add_argument(
        "--labels", default="grades", help="what the model may use: grades, or normals"
    )
    sim.add_argument("--normals", type=int, default=20, help="with --labels normals")
    sim.add_argument("--strategies", default="random,active,coverage,no-answers", help="arms")
    sim.add_argument("--judgments", type=int, default=2000)
    sim.add_argument("--checkpoints", default="100,250,500,1000,2000")
    sim.add_argument("--rater-noise", type=float, default=0.1, help="on the 0-1 truth")
    sim.add_argument("--position-bias", type=float, default=0.1, help="extra P(left) when unsure")
    sim.add_argument("--lapse", type=float, default=0.05, help="share of random answers")
    sim.add_argument(
        "--panel",
        default="",
        help="raters' noises, e.g. 0.05,0.1,0.3: a panel answering in equal shares "
        "instead of the one rater of --rater-noise",
    )
    sim.add_argument(
        "--seeds", default="2", help="a count (5: seeds 0-4), a range (5-9) or a list (0,3,7)"
    )
    sim.add_argument("--threads", type=int, help="torch threads (default: torch's own)")
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
    sim.add_argument(
        "--repeats",
        action="store_true",
        help="serve repeats as the app does, at the study's repeat share (off by default)",
    )
    sim.add_argument(
        "--merge",
        action="store_true",
        help="run nothing: report on every seed kept beside --out (after runs side by side)",
    )
    sim.add_argument("--out", help="write the JSON report here (and each seed beside it)")
    sim.set_defaults(handler=run_sim_bench)
    add_training_options(sim)


def run_bench(args: argparse.Namespace) -> int:
    from core.experiments.datasets import load_benchmark_data, load_cohort_data
    from core.experiments.fair import parse_arm, run_benchmark
    from core.experiments.report import markdown_table, robustness_table, write_report

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
    from core.experiments.report import write_report
    from core.experiments.trend_bench import run_trend_benchmark, trend_table
    from core.synthetic import CohortConfig

    arms = tuple(a.strip() for a in args.arms.split(",") if a.strip())
    report = run_trend_benchmark(
        config_from_args(args), CohortConfig(patients=args.patients), args.seeds, arms
    )
    print(trend_table(report))
    if args.out:
        write_report(report, args.out)
    return 0


def run_sim_bench(args: argparse.Namespace) -> int:
    from core.experiments.report import write_report
    from core.experiments.seed_runs import SeedFolderError, parse_seeds
    from core.experiments.sim_bench import (
        SimBenchConfig,
        merge_seed_results,
        run_sim_benchmark,
        sim_table,
    )

    def listed(text: str, kind: type = str) -> tuple:
        return tuple(kind(x.strip()) for x in text.split(",") if x.strip())

    if args.merge:
        if not args.out:
            raise SystemExit("--merge reports on the seeds kept beside --out: give --out")
        try:
            report = merge_seed_results(args.out, args.resamples)
        except SeedFolderError as exc:
            raise SystemExit(str(exc)) from exc
        print(sim_table(report))
        write_report(report, args.out)
        return 0
    try:
        config = SimBenchConfig(
            data=args.data,
            patients=args.patients,
            labels=args.labels,
            normals=args.normals,
            strategies=listed(args.strategies),
            judgments=args.judgments,
            checkpoints=listed(args.checkpoints, int),
            rater_noise=args.rater_noise,
            position_bias=args.position_bias,
            lapse=args.lapse,
            seeds=parse_seeds(args.seeds),
            resamples=args.resamples,
            guessing_share=args.guessing_share,
            weightings=listed(args.weightings),
            repeats=args.repeats,
            panel=listed(args.panel, float),
        )
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    base = config_from_args(args, FIRST_MODEL)  # the app's first model, as changed
    try:
        report = run_sim_benchmark(config, base, args.out)
    except SeedFolderError as exc:  # a seed folder of other settings
        raise SystemExit(str(exc)) from exc
    print(sim_table(report))
    if args.out:
        write_report(report, args.out)
    return 0
