"""Batch manifests: the file whose presence marks a lake batch complete.

Written last, after every data file of the batch; a batch folder without one is
incomplete (a crash, a kill -9) and is never loaded.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

MANIFEST_NAME = "_manifest.json"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class DataFile:
    """One Parquet file of a batch, relative to the batch folder."""

    path: str
    size: int
    sha256: str
    rows: int


@dataclass(frozen=True)
class Manifest:
    """What a complete batch holds."""

    batch_id: str
    source: str
    entity: str
    run_id: str | None
    created_at: str
    row_count: int
    columns: list[dict[str, str]]
    """``[{"name": ..., "type": ...}]`` in DuckDB type names."""
    files: list[DataFile]
    quarantined_rows: int = 0
    inputs: list[dict[str, Any]] = field(default_factory=list)
    """What the batch was read from: files with checksums, or a query window."""
    watermark: dict[str, Any] | None = None
    load_mode: str = "append"
    """``append`` adds the rows to raw; ``replace`` makes them the raw table's only
    rows (full snapshots, full refreshes)."""
    version: int = MANIFEST_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        data["files"] = [DataFile(**f) for f in data.get("files", [])]
        return cls(**data)
