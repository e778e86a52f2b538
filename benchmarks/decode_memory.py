"""Peak memory of one decode, for files near and over the decode budget.

Each file is decoded in a fresh Python process that reports its resident memory after
the imports and its peak (``VmHWM``) after the decode; the difference is what the
decode itself took. Target: no decode of a file under the budget takes more than twice
the budget, and refused files take almost nothing.

    .venv/bin/python -m benchmarks.decode_memory [--budget-mb 512] \
        [--out docs/bench/decode_memory.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from .common import write_json

PROBE = """
import sys, time
from pathlib import Path

def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024

from core.imaging import ImageRejected, decode_raster
from core.imaging.dicom import decode_dicom
from core.importers.npz import NpzFormatError, read_npz


path = Path(sys.argv[1])
before = rss("VmRSS")
started = time.perf_counter()
try:
    if path.suffix == ".dcm":
        decode_dicom(path)
    elif path.suffix == ".npz":
        read_npz(path)
    else:
        decode_raster(path)
    outcome = "decoded"
except (ImageRejected, NpzFormatError) as exc:
    outcome = "refused: " + str(exc)[:90]
print(before, rss("VmHWM"), time.perf_counter() - started, outcome, sep="\\t")
"""


def make_files(folder: Path) -> dict[str, Path]:
    """Files that compress to little and decode to a lot."""
    files = {}
    rgb = np.zeros((7800, 7800, 3), np.uint8)
    rgb[::97] = 200
    files["8-bit RGB PNG 7800 x 7800 (under the budget)"] = folder / "rgb.png"
    Image.fromarray(rgb).save(files["8-bit RGB PNG 7800 x 7800 (under the budget)"])
    del rgb
    deep = np.zeros((11000, 11000), np.uint16)
    deep[::89] = 40_000
    files["16-bit PNG 11000 x 11000 (under the budget)"] = folder / "deep.png"
    Image.fromarray(deep).save(files["16-bit PNG 11000 x 11000 (under the budget)"])
    del deep
    files["8-bit RGB PNG 20000 x 20000 (a bomb, refused)"] = folder / "bomb.png"
    Image.new("RGB", (20000, 20000)).save(files["8-bit RGB PNG 20000 x 20000 (a bomb, refused)"])
    files["JPEG 20000 x 15000 (decoded reduced)"] = folder / "big.jpg"
    Image.new("RGB", (20000, 15000), (120, 60, 30)).save(
        files["JPEG 20000 x 15000 (decoded reduced)"], quality=40
    )
    files["16-bit DICOM 8000 x 8000 (under the budget)"] = _dicom(folder / "big.dcm", 8000)
    files[".npz of 40 x 4096 x 4096 uint8 (over the budget, refused)"] = folder / "big.npz"
    np.savez_compressed(
        files[".npz of 40 x 4096 x 4096 uint8 (over the budget, refused)"],
        train_images=np.zeros((40, 4096, 4096), np.uint8),
        train_labels=np.zeros((40, 1), np.int64),
    )
    return files


def _dicom(path: Path, side: int) -> Path:
    from tests.dicom_factory import write_dicom

    pixels = np.zeros((side, side), np.uint16)
    pixels[::31] = 3000
    return write_dicom(path, pixels)


def measure(path: Path, budget_mb: int) -> dict:
    env = {**os.environ, "SEVERITY_DECODE_BUDGET_MB": str(budget_mb)}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    before, peak, seconds, outcome = done.stdout.strip().split("\t")
    taken = float(peak) - float(before)
    return {
        "file_mb": round(path.stat().st_size / 2**20, 2),
        "decode_mb": round(taken, 1),
        "times_budget": round(taken / budget_mb, 2),
        "seconds": round(float(seconds), 2),
        "outcome": outcome,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget-mb", type=int, default=512)
    parser.add_argument("--out", default="docs/bench/decode_memory.json")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        files = make_files(Path(folder))
        results = {name: measure(path, args.budget_mb) for name, path in files.items()}
    report = {
        "budget_mb": args.budget_mb,
        "seconds": round(time.monotonic() - started),
        "files": results,
    }
    print(json.dumps(report, indent=2))
    write_json(report, args.out)


if __name__ == "__main__":
    main()
