"""MedMNIST-style ``.npz`` files: ``<split>_images`` (N, H, W[, 3]) uint8 and
``<split>_labels`` (N, 1) integer grades, for splits train / val / test."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from core.imaging import ImageRejected, remove_stale_parts, to_display_pixels
from core.imaging.decode import decode_budget

from .folder import Progress
from .ingest import ImageFacts, RowBatch, store_pixels
from .report import ImportReport

SPLITS = ("train", "val", "test")


class NpzFormatError(Exception):
    """The file is not a MedMNIST-style archive this importer understands."""


def check_members(path: Path) -> None:
    """Read every member's header (never its data) and refuse object arrays, which
    would need unpickling, and archives that would not fit the decode budget."""
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    read_header = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = read_header(member)
                name = info.filename.removesuffix(".npy")
                if dtype.hasobject:
                    raise NpzFormatError(
                        f"{path.name}: {name} holds Python objects rather than numbers; such "
                        "arrays are never loaded (they could run code). Save plain arrays."
                    )
                total += int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise NpzFormatError(f"{path.name} is not a readable .npz archive.") from exc
    if total > decode_budget():
        raise NpzFormatError(
            f"{path.name} holds {total / 2**20:,.0f} MB of arrays once loaded, more than this "
            f"app loads at once ({decode_budget() / 2**20:,.0f} MB). Split it into smaller files."
        )


def read_npz(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return ``{split: (images, grades)}``, checking the layout before anything is stored."""
    check_members(path)
    try:
        archive = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise NpzFormatError(f"{path.name} is not a readable .npz archive: {exc}") from exc
    with archive:
        splits = {}
        for split in SPLITS:
            if f"{split}_images" not in archive.files:
                continue
            images = archive[f"{split}_images"]
            labels = archive.get(f"{split}_labels")
            if labels is None:
                raise NpzFormatError(f"{path.name} has {split}_images but no {split}_labels.")
            labels = np.asarray(labels)
            if labels.ndim == 2 and labels.shape[1] != 1:
                raise NpzFormatError(
                    f"{path.name} holds several labels per image (multi-label); only one "
                    "severity grade per image is supported."
                )
            labels = labels.reshape(-1)
            if len(labels) != len(images):
                raise NpzFormatError(
                    f"{path.name}: {split} has {len(images)} images but {len(labels)} labels."
                )
            if images.ndim not in (3, 4):
                raise NpzFormatError(f"{path.name}: {split}_images has shape {images.shape}.")
            splits[split] = (images, labels.astype(int))
    if not splits:
        raise NpzFormatError(
            f"{path.name} has none of train_images, val_images, test_images "
            f"(found: {', '.join(archive.files) or 'nothing'})."
        )
    return splits


def import_npz(
    store, path: str | Path, dataset: str | None = None, progress: Progress | None = None
) -> ImportReport:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"The file {path} does not exist.")
    splits = read_npz(path)
    remove_stale_parts(store.media_root)  # left by an import that was killed
    dataset_id = store.datasets.ensure(dataset or path.stem, source=path.name)
    total = sum(len(images) for images, _ in splits.values())
    report, done = ImportReport(), 0
    batch = RowBatch(store, dataset_id, report)
    for split, (images, grades) in splits.items():
        for index, (pixels, grade) in enumerate(zip(images, grades, strict=True)):
            name = f"{path.name}:{split}[{index}]"
            done += 1
            try:
                if grade < 0:
                    raise ImageRejected(f"grade {grade} is negative")
                stored = store_pixels(store.media_root, to_display_pixels(pixels))
            except ImageRejected as exc:
                batch.reject(name, str(exc))
            except Exception as exc:
                batch.stop_if_disk_full(exc, name)  # the rows before it are kept
                batch.flush()
                raise
            else:
                batch.add(name, stored, ImageFacts(grade=int(grade), split=split, source=name))
            if progress and (done % 50 == 0 or done == total):
                progress(done, total)
    batch.flush()
    return report
