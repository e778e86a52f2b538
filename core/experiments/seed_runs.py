"""Resumable seeds for a long benchmark: each seed's result in a file of its own.

``--out docs/bench/sim.json`` keeps seed 3's result in ``docs/bench/sim.seeds/seed-003.json``
with the settings it ran under. A later run with the same ``--out`` skips the seeds
already there and reports on all of them, so ``--seeds 0-4`` then ``--seeds 5-9`` make
one report of ten seeds; two processes (one thread each) can run different seeds side by
side, and a merge afterwards reports on every seed both kept. Files of other settings in
the same folder are refused, not mixed in.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

SEED_FILE = re.compile(r"^seed-(\d+)\.json$")
# settings that do not change a seed's result: the seeds asked for, the bootstrap's size
NOT_RUN_SETTINGS = ("seeds", "resamples")


class SeedFolderError(ValueError):
    """A folder of seed results that cannot be reported on, or added to, as asked."""


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"5"``: five seeds, 0 to 4; ``"5-9"``: seeds 5 to 9; ``"0,3,7"`` (or ranges among
    them, ``"0-2,7"``): those seeds."""
    text = text.strip()
    if text.isdigit():
        return tuple(range(int(text)))
    seeds: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match:
            raise ValueError(f"--seeds {text}: a count (5), a range (5-9) or a list (0,3,7)")
        first, last = int(match[1]), int(match[2] if match[2] is not None else match[1])
        if last < first:
            raise ValueError(f"--seeds {text}: a range goes from the lower seed to the higher")
        seeds += range(first, last + 1)
    if len(set(seeds)) < len(seeds):
        raise ValueError(f"--seeds {text} names a seed twice")
    return tuple(seeds)


def plain(value: Any) -> Any:
    """``value`` as JSON gives it back (tuples as lists, keys as strings), so a result held
    in memory reads the same as one loaded from its file."""
    return json.loads(json.dumps(value))


def run_settings(config: Any, base: Any) -> dict:
    """What a seed's result depends on: the benchmark's settings but the seeds and the
    bootstrap's size, and the training configuration."""
    settings = {k: v for k, v in config.__dict__.items() if k not in NOT_RUN_SETTINGS}
    return plain({**settings, "train": base.to_dict()})


def seed_folder(out: str | Path) -> Path:
    """Where the seeds of the report ``out`` are kept: ``out``'s name with ``.seeds``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.seeds")


def seed_path(folder: Path, seed: int) -> Path:
    return folder / f"seed-{seed:03d}.json"


def save_seed(folder: Path, settings: dict, run: dict) -> Path:
    """Write a seed's result beside its settings, atomically (a reader never sees half a
    file, and two processes never write the same seed's file at once unless asked to run
    the same seed)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = seed_path(folder, run["seed"])
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".seed-", suffix=".tmp")
    with os.fdopen(handle, "w") as file:
        json.dump({"settings": settings, "run": run}, file)
    os.replace(temporary, path)
    return path


def load_seeds(folder: Path) -> tuple[dict, list[dict]]:
    """Every seed kept in ``folder`` (settings, runs in seed order); all must share their
    settings."""
    found = sorted(
        (int(match[1]), path)
        for path in folder.glob("seed-*.json")
        if (match := SEED_FILE.match(path.name))
    )
    if not found:
        raise SeedFolderError(f"no seed results in {folder}")
    settings: dict | None = None
    runs = []
    for seed, path in found:
        kept = json.loads(path.read_text())
        if settings is None:
            settings = kept["settings"]
        elif kept["settings"] != settings:
            raise SeedFolderError(f"{path} was run with other settings than {found[0][1]}")
        if kept["run"]["seed"] != seed:
            raise SeedFolderError(f"{path} holds seed {kept['run']['seed']}")
        runs.append(kept["run"])
    assert settings is not None
    return settings, runs


def kept_file(path: Path) -> dict:
    """The settings a seed's file was run with."""
    return json.loads(path.read_text())["settings"]


def kept_settings(folder: Path, seed: int) -> dict | None:
    path = seed_path(folder, seed)
    return kept_file(path) if path.exists() else None


def run_missing(
    folder: Path, settings: dict, seeds: Iterable[int], run: Callable[[int], dict]
) -> list[int]:
    """Run each of ``seeds`` not kept in ``folder`` yet and keep its result; returns the
    seeds run. A seed kept under other settings stops the run: its folder belongs to
    another benchmark (choose another ``--out``)."""
    others = [p for p in sorted(folder.glob("seed-*.json")) if kept_file(p) != settings]
    if others:
        raise SeedFolderError(f"{others[0]} was run with other settings; use another --out")
    ran = []
    for seed in seeds:
        if kept_settings(folder, seed) is not None:
            print(f"seed {seed}: kept in {seed_path(folder, seed)}, not run again", flush=True)
            continue
        save_seed(folder, settings, plain(run(seed)))
        ran.append(seed)
    return ran
