"""The import root: the one folder on the server that the app may import from.

Folder and manifest paths typed into the app (or queued as import jobs) must lie inside
it after symlinks are resolved, so the app cannot be used to read the salt, the
database or any other file on the server. ``$SEVERITY_IMPORT_ROOT`` names it; by
default it is ``import/`` beside the database (``data/import/``).
"""

from __future__ import annotations

import os
from pathlib import Path

IMPORT_ROOT_ENV = "SEVERITY_IMPORT_ROOT"


class OutsideImportRoot(Exception):
    """A server path that is not inside the import root; the message names the root."""


def import_root(media_root: str | Path) -> Path:
    """The import root of a store whose media folder is ``media_root`` (created if
    missing): ``$SEVERITY_IMPORT_ROOT``, else ``import/`` beside the media folder, which
    for a SQLite study is beside its database file (``data/import``). Never derived from
    the database's location itself: a PostgreSQL URL is not a folder."""
    configured = os.environ.get(IMPORT_ROOT_ENV)
    root = Path(configured) if configured else Path(media_root).resolve().parent / "import"
    root.mkdir(parents=True, exist_ok=True)
    return root.resolve()


def inside_import_root(root: Path, typed: str | Path) -> Path:
    """``typed`` (absolute, or relative to the root) resolved, if it lies inside ``root``
    and exists; ``OutsideImportRoot`` otherwise. The message never shows file contents."""
    root = root.resolve()
    candidate = Path(typed).expanduser()
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        resolved = candidate.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        raise OutsideImportRoot(
            f"{typed} was not found inside the import folder {root}. Copy the images there "
            "first; paths are relative to that folder."
        ) from None
    except (OSError, RuntimeError):  # permission denied, a symlink loop
        raise OutsideImportRoot(f"{typed} cannot be read.") from None
    if not resolved.is_relative_to(root):
        raise OutsideImportRoot(
            f"Only files and folders inside the import folder {root} can be imported; "
            f"{typed} is outside it (symlinks are followed before this check)."
        )
    return resolved
