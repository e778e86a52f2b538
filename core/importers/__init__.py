"""Importers: folders of images / DICOM (with an optional manifest) and MedMNIST npz."""

from .folder import import_files, import_folder
from .manifest import ManifestError
from .npz import NpzFormatError, import_npz
from .report import ImportReport
from .root import OutsideImportRoot, import_root, inside_import_root
from .source import import_source, import_uploads

__all__ = [
    "ImportReport",
    "ManifestError",
    "NpzFormatError",
    "OutsideImportRoot",
    "import_files",
    "import_folder",
    "import_npz",
    "import_root",
    "import_source",
    "import_uploads",
    "inside_import_root",
]
