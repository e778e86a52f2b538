"""What happened to each file of an import, in words a clinician understands."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATUSES = ("imported", "duplicate", "rejected")


@dataclass
class FileOutcome:
    file: str
    status: str  # imported | duplicate | rejected
    reason: str = ""
    image_id: int | None = None


@dataclass
class ImportReport:
    outcomes: list[FileOutcome] = field(default_factory=list)

    def add(self, file: str, status: str, reason: str = "", image_id: int | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown import status {status!r}")
        self.outcomes.append(FileOutcome(file, status, reason, image_id))

    def counts(self) -> dict[str, int]:
        counted = Counter(o.status for o in self.outcomes)
        return {status: counted.get(status, 0) for status in STATUSES}

    def summary(self) -> str:
        c = self.counts()
        return f"{c['imported']} imported, {c['duplicate']} duplicate, {c['rejected']} rejected"

    def to_dict(self) -> dict:
        return {"counts": self.counts(), "files": [asdict(o) for o in self.outcomes]}

    def write_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))
