"""Where runtime state lives. One rule everywhere: ``--db``, else ``$SEVERITY_DB``,
else ``data/app.db`` under the project root."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = PROJECT_ROOT / "assets"
DEFAULT_DB = PROJECT_ROOT / "data" / "app.db"
RETINAMNIST_NPZ = ASSETS_DIR / "retinamnist_trainval.npz"


def resolve_db_path(explicit: str | os.PathLike | None = None) -> str:
    if explicit:
        return str(explicit)
    return os.environ.get("SEVERITY_DB") or str(DEFAULT_DB)
