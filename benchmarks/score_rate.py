"""Images per second of ``python -m core score`` with the PyTorch and the onnxruntime
engines, side by side on the same images and the same version.

A scratch study gets a version of the first-run recipe's network
(``core.learning.recipes.FIRST_MODEL``: its image size and stem; a few training steps
only, as the rate does not depend on the weights), and --images PNG files of the
synthetic cohort are written at --source-size pixels a side. Each repeat runs both
engines in turn (so that a slower moment of the machine costs both alike) and measures:

- ``files``: what ``score`` does per image, read and decoded as the importers do,
  prepared, scored (``score_images`` over ``read_images``);
- ``inference``: the scoring alone, on the images already prepared, in batches of
  ``score_files.BATCH``.

Medians over --repeats are reported with their spread; the engines' setup (loading the
checkpoint, and for onnx the export and its check) is timed once, apart.

    .venv/bin/python -m benchmarks.score_rate --images 512 --repeats 5
    .venv/bin/python -m benchmarks.score_rate --db data/app.db --version 3
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image

from core.demo import import_cohort
from core.importers.reading import read_images
from core.learning.data import pictures_to_tensor
from core.learning.from_store import train_version
from core.learning.recipes import FIRST_MODEL
from core.learning.score_files import BATCH, ENGINES, make_engine, score_images
from core.learning.versions import choose_version, load_version
from core.store import Store
from core.synthetic import CohortConfig, generate_with_lesions

from .common import spread, write_json


def write_pictures(folder: Path, count: int, size: int) -> list:
    """``count`` synthetic fundus pictures as PNG files; returns their pixels."""
    folder.mkdir(parents=True, exist_ok=True)
    patients = count // 3 + 1  # at least three visits each
    pictures = []
    for _, pixels, _ in generate_with_lesions(CohortConfig(patients=patients, image_size=size)):
        Image.fromarray(pixels).save(folder / f"image{len(pictures):05d}.png")
        pictures.append(pixels)
        if len(pictures) == count:
            return pictures
    raise ValueError(f"the cohort gave {len(pictures)} pictures, fewer than {count}")


def scratch_version(folder: Path, store: Store) -> int:
    """A version of the first-run network, trained for a few steps only."""
    import_cohort(store, CohortConfig(patients=16, image_size=FIRST_MODEL.image_size))
    config = replace(FIRST_MODEL, pairs_per_phase=64, probe_epochs=2, device="cpu")
    model, _ = train_version(store, config, folder / "models")
    return model["version"]


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(store: Store, version_number: int, images: Path, pictures, repeats: int) -> dict:
    version = load_version(store, choose_version(store, version_number))
    size = version.config.image_size
    engines, setup = {}, {}
    for name in ENGINES:
        started = time.perf_counter()
        engines[name] = make_engine(version, name, "cpu")
        setup[name] = time.perf_counter() - started
    prepared = pictures_to_tensor(pictures, size)
    batches = [prepared[k : k + BATCH] for k in range(0, len(prepared), BATCH)]
    files = {name: [] for name in ENGINES}
    inference = {name: [] for name in ENGINES}
    for engine in engines.values():  # a warm-up pass each, not counted
        engine.scores(batches[0])
    for _ in range(repeats):
        for name, engine in engines.items():
            seconds = timed(
                lambda engine=engine: list(
                    score_images(read_images([images], store.patients.pseudonym), engine, size)
                )
            )
            files[name].append(len(pictures) / seconds)
            seconds = timed(lambda engine=engine: [engine.scores(b) for b in batches])
            inference[name].append(len(pictures) / seconds)
    return {
        "version": version.row["version"],
        "method": version.row["method"],
        "image_size": size,
        "small_input": version.config.small_input,
        "backbone": version.config.backbone,
        "setup_seconds": setup,
        "files_images_per_second": {name: spread(files[name]) for name in ENGINES},
        "inference_images_per_second": {name: spread(inference[name]) for name in ENGINES},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--source-size", type=int, default=128, help="pixels a side of the files")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own)")
    parser.add_argument("--db", help="measure a version of this study instead of a scratch one")
    parser.add_argument("--version", type=int, help="with --db: the version to measure")
    parser.add_argument("--out", default="docs/bench/score_rate.json")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        pictures = write_pictures(folder / "images", args.images, args.source_size)
        with Store(args.db or folder / "app.db") as store:
            number = args.version if args.db else scratch_version(folder, store)
            if number is None:
                parser.error("--db needs --version")
            figures = measure(store, number, folder / "images", pictures, args.repeats)
    report = {
        "images": args.images,
        "source_size": args.source_size,
        "repeats": args.repeats,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        **figures,
    }
    try:
        import onnxruntime

        report["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    for kind in ("files", "inference"):
        rates = report[f"{kind}_images_per_second"]
        line = ", ".join(f"{name} {rates[name]['median']:,.0f}" for name in ENGINES)
        print(f"{kind:>9}: images per second (median of {args.repeats}): {line}")
    print("setup: " + ", ".join(f"{k} {v:.1f} s" for k, v in report["setup_seconds"].items()))
    write_json(report, args.out)


if __name__ == "__main__":
    main()
