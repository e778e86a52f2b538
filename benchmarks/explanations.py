"""Do the severity score's attributions point at the lesions the generator drew?

The synthetic cohort (--patients) in a fresh store; per seed, the app's first model
(``core.learning.recipes.FIRST_MODEL``) trained on it as the worker trains it
(``train_version``) and loaded back from its checkpoint (``load_version``), so the maps
explain the stored score. On the held-out patients' abnormal images (test split, grade
>= 1) that hold at least one recorded lesion in the fundus, four maps per image:

- ``trained``: Integrated Gradients of the version's score (``core.learning.attribution``);
- ``randomised``: the same, by the same network with every weight drawn afresh and its
  anchor fitted again (the model-randomisation sanity check, Adebayo et al. 2018);
- ``edges`` and ``brightness``: trivial maps that know no model.

Measured inside the fundus (the picture brighter than black, less a 2 px rim, where the
eye's own edge would dominate every edge map): the pointing game (peak within a lesion's
radius + --tolerance pixels) against its chance rate, and mass in lesions (share of
positive attribution in the discs over their share of the fundus; also with the discs
grown by the tolerance); and where the mass goes instead, region by region (the
generator's record of each picture's lesions, optic disc with its margin, and vessels;
``REGIONS``, in that order of precedence where they overlap, the rest of the fundus
last): each region's share of the mass against its share of the fundus's area, and the
share of the mass on the top 5% of the fundus's pixels. Intervals: 95% percentile
bootstrap over held-out patients (each with all their images; every seed's figures drawn
on the same patients), for each figure and for the trained map's paired differences.

    .venv/bin/python -m benchmarks.explanations --patients 120 --seeds 2 --threads 2
    .venv/bin/python -m benchmarks.explanations --smoke   # a minute: does it run?
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from core.demo import COHORT_DATASET, import_cohort
from core.experiments.cluster_bootstrap import cluster_index, interval, unit_members
from core.learning.attribution import BLUR_SIGMA, attribute, comparison_map, randomised_net
from core.learning.attribution_measures import (
    REST,
    SUBPIXELS,
    TOLERANCE,
    Mass,
    disc_coverage,
    fundus_mask,
    mass_in_lesions,
    mass_ratio,
    pointing_game,
    region_shares,
    top_share,
    within_discs,
)
from core.learning.data import MEAN, STD, ImageSet, load_store_splits
from core.learning.export_model import SeverityGraph
from core.learning.from_store import train_version
from core.learning.recipes import FIRST_MODEL
from core.learning.scoring import fit_anchor
from core.learning.versions import load_version
from core.store import Store
from core.synthetic import Anatomy, CohortConfig, generate_with_anatomy

from .common import write_json

ARMS = ("trained", "randomised", "edges", "brightness")
FIGURES = ("pointing", "chance", "mass_ratio", "mass_ratio_grown")
RIM = 2  # pixels of the fundus's rim left out of every measure
# where the mass goes, in this order of precedence where they overlap, then the rest
REGIONS = ("lesions", "disc", "vessels", REST)
DISC_MARGIN = 2.0  # the disc reaches disc_r + this many margin widths (its weight 12%)
TOP = 0.05  # concentration: the share of the mass on this share of the fundus's pixels
SMOKE = {"patients": 30, "seeds": 1, "pairs": 64, "steps": 8, "resamples": 200}


@dataclass
class Measured:
    """One arm at one seed: per held-out image, what the measures need."""

    hit: np.ndarray
    chance: np.ndarray
    inside: np.ndarray
    area: np.ndarray
    inside_grown: np.ndarray
    area_grown: np.ndarray
    region_mass: np.ndarray  # (N, len(REGIONS)) share of each image's mass; NaN: no mass
    region_area: np.ndarray  # (N, len(REGIONS)) share of each image's fundus area
    top: np.ndarray  # (N,) share of the mass on the top TOP of the fundus's pixels

    def figures(self, index: np.ndarray | None = None) -> dict[str, float]:
        pick = slice(None) if index is None else index
        out = {
            "pointing": float(self.hit[pick].mean()),
            "chance": float(self.chance[pick].mean()),
            "mass_ratio": _ratio(self.inside[pick], self.area[pick]),
            "mass_ratio_grown": _ratio(self.inside_grown[pick], self.area_grown[pick]),
            "top5_share": _mean(self.top[pick]),
        }
        for r, name in enumerate(REGIONS):
            mass, area = _mean(self.region_mass[pick, r]), float(self.region_area[pick, r].mean())
            out[f"{name}.mass"], out[f"{name}.area"] = mass, area
            out[f"{name}.ratio"] = mass / area if area > 0 else float("nan")
        return out


def _mean(values: np.ndarray) -> float:
    kept = values[np.isfinite(values)]
    return float(kept.mean()) if len(kept) else float("nan")


def _ratio(inside: np.ndarray, area: np.ndarray) -> float:
    return mass_ratio(Mass(inside, area))


def held_out_with_lesions(images: ImageSet) -> tuple[ImageSet, np.ndarray, int]:
    """The abnormal held-out images with a recorded lesion inside the fundus, their
    fundus masks, and how many abnormal images had none there (left out)."""
    abnormal = images.subset(np.flatnonzero(images.grades >= 1))
    brightness = (abnormal.images * STD + MEAN).clamp(0, 1).mean(dim=1).numpy()
    region = fundus_mask(brightness, erode=RIM)
    assert abnormal.lesions is not None, "the cohort's images record their lesions"
    keep = [
        k
        for k, found in enumerate(abnormal.lesions)
        if (disc_coverage(found, region[k].shape) * region[k]).sum() > 0
    ]
    return abnormal.subset(np.array(keep, int)), region[keep], len(abnormal) - len(keep)


def anatomy_of(store: Store, cohort: CohortConfig, images: ImageSet) -> list[Anatomy]:
    """Where the generator drew each stored image's disc and vessels (at the cohort's
    ``image_size``): the cohort drawn again, matched by patient and visit, and checked
    against the lesions the store recorded."""
    drawn = {}
    for visit, _, lesions, anatomy in generate_with_anatomy(cohort):
        key = (store.patients.pseudonym(visit.patient_code), visit.visit_index)
        drawn[key] = (lesions, anatomy)
    found = []
    size = images.images.shape[-1]
    for k, (patient, order) in enumerate(zip(images.patients, images.visit_order, strict=True)):
        lesions, anatomy = drawn[(patient, int(order))]
        scale = size / cohort.image_size
        again = np.array([(le.x, le.y, le.radius) for le in lesions]).reshape(-1, 3) * scale
        if images.lesions is None or not np.allclose(again, images.lesions[k]):
            raise RuntimeError("the cohort drawn again is not the stored one: its lesions differ")
        found.append(anatomy)
    return found


def region_parts(
    lesions: np.ndarray, anatomy: Anatomy, size: int, rendered: int
) -> dict[str, np.ndarray]:
    """One image's lesions, disc and vessels as bool masks ``k`` times finer a side than
    its ``size`` px map (k: a multiple of rendered / size, at least SUBPIXELS), in the
    order of precedence (``REGIONS``)."""
    ratio = rendered // size
    if ratio * size != rendered:
        raise ValueError(f"the cohort's {rendered} px must be a multiple of the maps' {size}")
    k = ratio * -(-SUBPIXELS // ratio)
    fine, scale = (size * k, size * k), size * k / rendered
    disc = (anatomy.disc_x, anatomy.disc_y, anatomy.disc_r + DISC_MARGIN * anatomy.edge)
    vessels = np.repeat(np.repeat(anatomy.vessels, k // ratio, axis=0), k // ratio, axis=1)
    return {
        "lesions": within_discs(np.asarray(lesions) * k, fine),
        "disc": within_discs(np.array([disc]) * scale, fine),
        "vessels": vessels,
    }


def measure(
    maps: np.ndarray,
    images: ImageSet,
    region: np.ndarray,
    tolerance: float,
    parts: list[dict[str, np.ndarray]],
) -> Measured:
    assert images.lesions is not None
    pointing = pointing_game(maps, images.lesions, tolerance, region)
    strict = mass_in_lesions(maps, images.lesions, 0.0, region)
    grown = mass_in_lesions(maps, images.lesions, tolerance, region)
    shares = [
        region_shares(heat, inside, found)
        for heat, inside, found in zip(maps, region, parts, strict=True)
    ]
    return Measured(
        pointing.hit,
        pointing.chance,
        strict.inside,
        strict.area,
        grown.inside,
        grown.area,
        np.array([[share.mass[name] for name in REGIONS] for share in shares]),
        np.array([[share.area[name] for name in REGIONS] for share in shares]),
        np.array([top_share(heat, inside, TOP) for heat, inside in zip(maps, region, strict=True)]),
    )


def maps_of_seed(store: Store, config, folder: Path, dataset_id: int, held_out, args) -> dict:
    """The four maps of the held-out images at one seed, and the seconds they took."""
    model, _ = train_version(store, config, folder, dataset_id)
    version = load_version(store, model)  # the stored version, as the app reads it
    graph = SeverityGraph(version.net, version.anchor, version.space)
    train_set = load_store_splits(store, config.image_size, dataset_id)["train"]
    fresh = randomised_net(version.net, seed=10_000 + config.seed)
    anchor_n = len(train_set) if config.scoring_anchor == "all" else config.anchor_n
    anchor = fit_anchor(fresh, train_set, version.space, anchor_n, torch.device("cpu"))
    started = time.perf_counter()
    trained = attribute(graph, held_out.images, steps=args.steps, baseline=args.baseline)
    seconds = time.perf_counter() - started
    randomised = attribute(
        SeverityGraph(fresh, anchor, version.space),
        held_out.images,
        steps=args.steps,
        baseline=args.baseline,
    )
    maps = {
        "trained": trained,
        "randomised": randomised,
        "edges": comparison_map(held_out.images, "edges"),
        "brightness": comparison_map(held_out.images, "brightness"),
    }
    return {"maps": maps, "seconds_per_30_images": 30 * seconds / max(1, len(held_out))}


def bootstrap(
    measured: dict[int, dict[str, Measured]], patients: np.ndarray, resamples: int
) -> dict[str, np.ndarray]:
    """Per resample of the patients, each arm's figures (mean over the seeds) and the
    trained map's paired differences."""
    members = unit_members({"truth": patients, "patient": patients}, "patient")
    rng = np.random.default_rng(0)
    draws: dict[str, list[float]] = {}
    for _ in range(resamples):
        index = cluster_index(members, rng)
        figures = mean_figures(measured, index)
        for name, value in figures.items():
            draws.setdefault(name, []).append(value)
    return {name: np.array(values) for name, values in draws.items()}


def mean_figures(measured: dict[int, dict[str, Measured]], index=None) -> dict[str, float]:
    """``arm.figure`` over the seeds' mean, with ``trained-minus-arm.figure`` and the
    trained pointing game over its chance."""
    out: dict[str, float] = {}
    for arm in ARMS:
        per_seed = [seeds[arm].figures(index) for seeds in measured.values()]
        for figure in per_seed[0]:
            out[f"{arm}.{figure}"] = float(np.nanmean([f[figure] for f in per_seed]))
    for arm in ARMS[1:]:
        for figure in ("pointing", "mass_ratio", "mass_ratio_grown"):
            out[f"trained-minus-{arm}.{figure}"] = out[f"trained.{figure}"] - out[f"{arm}.{figure}"]
    out["trained.pointing_over_chance"] = out["trained.pointing"] / out["trained.chance"]
    return out


def report(point: dict[str, float], draws: dict[str, np.ndarray]) -> dict[str, dict]:
    summary = {}
    for name, value in point.items():
        finite = draws[name][np.isfinite(draws[name])]
        summary[name] = {
            "value": value,
            "ci95": interval(finite) if len(finite) else [None, None],
        }
    return summary


def print_table(summary: dict[str, dict]) -> None:
    print(f"{'':>12} " + " ".join(f"{f:>24}" for f in FIGURES))
    for arm in ARMS:
        cells = []
        for figure in FIGURES:
            row = summary[f"{arm}.{figure}"]
            low, high = row["ci95"]
            cells.append(f"{row['value']:.3f} [{_num(low)}, {_num(high)}]".rjust(24))
        print(f"{arm:>12} " + " ".join(cells))
    for name, row in summary.items():
        if name.startswith("trained-minus") or name.endswith("over_chance"):
            low, high = row["ci95"]
            print(f"{name}: {row['value']:.3f} [{_num(low)}, {_num(high)}]")
    print("\nshare of the mass [95% CI] (share of the fundus's area), by region")
    print(f"{'':>12} " + " ".join(f"{name:>28}" for name in (*REGIONS, f"top {TOP:.0%}")))
    for arm in ARMS:
        cells = []
        for name in REGIONS:
            row, area = summary[f"{arm}.{name}.mass"], summary[f"{arm}.{name}.area"]["value"]
            low, high = row["ci95"]
            cells.append(f"{row['value']:.3f} [{_num(low)}, {_num(high)}] ({area:.3f})".rjust(28))
        row = summary[f"{arm}.top5_share"]
        low, high = row["ci95"]
        cells.append(f"{row['value']:.3f} [{_num(low)}, {_num(high)}]".rjust(28))
        print(f"{arm:>12} " + " ".join(cells))


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=120)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own)")
    parser.add_argument("--steps", type=int, default=32, help="Integrated Gradients' steps")
    parser.add_argument("--baseline", default="blurred", help="IG's reference: blurred, black")
    parser.add_argument("--tolerance", type=float, default=TOLERANCE, help="pixels at 32 px")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--pairs", type=int, help="pairs per phase (default: the recipe's)")
    parser.add_argument("--smoke", action="store_true", help="a tiny run: does it work?")
    parser.add_argument("--out", help="JSON (default docs/bench/explanations.json)")
    args = parser.parse_args()
    if args.smoke:
        for key, value in SMOKE.items():
            setattr(args, key, value)
        args.out = args.out or str(Path(tempfile.gettempdir()) / "explanations_smoke.json")
    args.out = args.out or "docs/bench/explanations.json"
    return args


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    base = replace(FIRST_MODEL, device="cpu")
    if args.pairs:
        base = replace(base, pairs_per_phase=args.pairs)
    started = time.perf_counter()
    measured: dict[int, dict[str, Measured]] = {}
    per_seed: dict[int, dict] = {}
    with tempfile.TemporaryDirectory() as scratch, Store(Path(scratch) / "cohort.db") as store:
        cohort = CohortConfig(patients=args.patients)
        import_cohort(store, cohort)
        dataset_id = store.datasets.by_name(COHORT_DATASET)["id"]
        test = load_store_splits(store, base.image_size, dataset_id)["test"]
        held_out, region, without = held_out_with_lesions(test)
        assert held_out.lesions is not None
        parts = [
            region_parts(found, anatomy, base.image_size, cohort.image_size)
            for found, anatomy in zip(
                held_out.lesions, anatomy_of(store, cohort, held_out), strict=True
            )
        ]
        print(
            f"{len(held_out)} abnormal held-out images with lesions, "
            f"{len(set(held_out.patients))} patients ({without} abnormal without a lesion "
            "in the fundus left out)",
            flush=True,
        )
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            config = replace(base, seed=seed)
            found = maps_of_seed(store, config, Path(scratch), dataset_id, held_out, args)
            measured[seed] = {
                arm: measure(maps, held_out, region, args.tolerance, parts)
                for arm, maps in found["maps"].items()
            }
            per_seed[seed] = {
                "seconds_per_30_images": found["seconds_per_30_images"],
                **{arm: m.figures() for arm, m in measured[seed].items()},
            }
            print({"seed": seed, **per_seed[seed]}, flush=True)
    point = mean_figures(measured)
    summary = report(point, bootstrap(measured, held_out.patients, args.resamples))
    print_table(summary)
    write_json(
        {
            "config": base.to_dict(),
            "patients": args.patients,
            "seeds": list(measured),
            "threads": torch.get_num_threads(),
            "attribution": {
                "method": "integrated_gradients (captum)",
                "steps": args.steps,
                "baseline": args.baseline,
                "blur_sigma_px": BLUR_SIGMA,
                "aggregate": "positive part of the channel sum",
            },
            "tolerance_px": args.tolerance,
            "image_size": base.image_size,
            "fundus_rim_left_out_px": RIM,
            "regions": {
                "order_of_precedence": list(REGIONS),
                "lesions": "the recorded discs (radius as drawn, no tolerance)",
                "disc": f"the optic disc to disc_r + {DISC_MARGIN:g} x its margin width",
                "vessels": "the union of the vessels as drawn (at the cohort's size)",
                REST: "the rest of the fundus (2 px rim left out, as every measure)",
                "figures": "<arm>.<region>.mass: mean over images of the region's share of "
                "the map's positive mass; .area: its share of the fundus's area; .ratio: "
                "their quotient",
                "top5_share": f"share of the mass on the top {TOP:.0%} of the fundus's pixels",
            },
            "held_out_images": len(held_out),
            "held_out_patients": len(set(held_out.patients)),
            "abnormal_without_lesion_left_out": without,
            "resamples": args.resamples,
            "per_seed": per_seed,
            "summary": summary,
            "seconds": time.perf_counter() - started,
        },
        args.out,
    )
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
