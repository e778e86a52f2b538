"""Importers: folders of images / DICOM (with an optional manifest) and MedMNIST npz."""

from .folder import import_files, import_folder
from .manifest import ManifestError
from .npz import NpzFormatError, import_npz
from .report import ImportReport

__all__ = [
    "ImportReport",
    "ManifestError",
    "NpzFormatError",
    "import_files",
    "import_folder",
    "import_npz",
]
