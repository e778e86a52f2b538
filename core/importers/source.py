"""The one import entry point that the command line, the worker and the Data page use:
it decides from the source what it is (file types by extension, in any case)."""

from __future__ import annotations

from pathlib import Path

from core.store import Store

from .folder import Progress, import_files, import_folder
from .manifest import read_manifest
from .npz import import_npz
from .report import ImportReport


def is_npz(path: Path) -> bool:
    return path.suffix.lower() == ".npz"


def import_source(
    store: Store,
    src: str | Path,
    dataset: str | None = None,
    manifest: str | Path | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """A MedMNIST-style ``.npz``, a single image or DICOM file, or a folder of them (with
    an optional manifest CSV). The dataset is named after the source unless given."""
    src = Path(src)
    if not src.exists():
        raise FileNotFoundError(f"{src} does not exist.")
    if is_npz(src):
        return import_npz(store, src, dataset, progress)
    return import_folder(store, src, dataset or src.resolve().name, manifest, progress)


def import_uploads(
    store: Store, folder: Path, dataset: str, progress: Progress | None = None
) -> list[ImportReport]:
    """Files uploaded together into ``folder``: each ``.npz`` archive, then the other
    files, with the ``.csv`` among them (if any) as their manifest."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    reports = [import_npz(store, p, dataset, progress) for p in files if is_npz(p)]
    manifest = next((p for p in files if p.suffix.lower() == ".csv"), None)
    others = [p for p in files if not is_npz(p) and p.suffix.lower() != ".csv"]
    if others:
        rows = read_manifest(manifest) if manifest else None
        reports.append(import_files(store, folder, others, dataset, rows, progress))
    return reports
