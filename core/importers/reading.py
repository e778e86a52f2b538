"""Reading images as the importers do, without storing anything: folders (recursively),
image files, DICOM files and MedMNIST-style ``.npz``, decoded and de-identified by the
same code (``decode_raster``, ``decode_dicom``, ``read_npz``). What may leave here for a
DICOM file is its pixels, its relative path with the header's identifying values
removed, and the patient's pseudonym; nothing else from its header."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.imaging import ImageRejected, decode_raster, to_display_pixels
from core.imaging.dicom import decode_dicom

from .folder import RASTER_SUFFIXES, is_dicom, is_inside, redact, relative_name, walk_images
from .npz import NpzFormatError, read_npz
from .source import is_npz


@dataclass
class ReadImage:
    source: str  # path relative to the folder given (a file given: its name)
    pixels: np.ndarray | None  # uint8 H x W or H x W x 3; None when it could not be read
    patient: str = ""  # the pseudonym of a DICOM file's patient, else empty
    problem: str = ""  # why it could not be read, in words a clinician understands


def read_images(
    paths: Iterable[str | Path], pseudonym: Callable[[str], str]
) -> Iterator[ReadImage]:
    """Every image below ``paths``, one at a time, in a stable order; a file that cannot
    be read comes out with its ``problem`` instead of pixels, and never stops the rest.
    ``pseudonym`` turns a DICOM patient id into the study's pseudonym
    (``store.patients.pseudonym``, which writes nothing)."""
    for given in map(Path, paths):
        if not given.exists():
            yield ReadImage(given.name, None, problem="there is no such file or folder")
            continue
        root = given if given.is_dir() else given.parent
        files = sorted(walk_images(given)) if given.is_dir() else [given]
        real_root = root.resolve()
        for path in files:
            relative = relative_name(path, root)
            if not is_inside(real_root, path):
                problem = "the path leads outside the folder given (a link or '..'); not read"
                yield ReadImage(relative, None, problem=problem)
            elif is_npz(path):
                yield from _read_npz(path, relative)
            else:
                yield _read_file(path, relative, pseudonym)


def _read_file(path: Path, relative: str, pseudonym: Callable[[str], str]) -> ReadImage:
    try:
        if is_dicom(path):
            dicom = decode_dicom(path)
            patient = dicom.patient_source_id or ""
            source = redact(relative, [*dicom.identifiers, patient])
            return ReadImage(source, dicom.image.pixels, pseudonym(patient) if patient else "")
        if path.suffix.lower() in RASTER_SUFFIXES:
            return ReadImage(relative, decode_raster(path).pixels)
        raise ImageRejected(
            f"'{path.suffix or 'no extension'}' is not an image type this app reads "
            "(PNG, JPEG, TIFF, BMP, DICOM or a MedMNIST-style .npz)."
        )
    except ImageRejected as exc:
        return ReadImage(relative, None, problem=str(exc))
    except MemoryError:
        return ReadImage(relative, None, problem="the image is too large to open on this machine")
    except Exception as exc:  # one unexpected failure must not stop the others
        return ReadImage(relative, None, problem=f"unexpected problem while reading: {exc}")


def _read_npz(path: Path, relative: str) -> Iterator[ReadImage]:
    try:
        splits = read_npz(path)
    except NpzFormatError as exc:
        yield ReadImage(relative, None, problem=str(exc))
        return
    for split, (images, _) in splits.items():
        for index, pixels in enumerate(images):
            name = f"{relative}:{split}[{index}]"
            try:
                yield ReadImage(name, to_display_pixels(pixels).pixels)
            except ImageRejected as exc:
                yield ReadImage(name, None, problem=str(exc))
