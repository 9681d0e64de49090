"""What every source kind shares: the extractor interface and the batch lifecycle.

A batch is written in three moves, so that a crash at any point loses nothing and
shows nothing half-done:

1. the metadata store records the batch as ``writing`` with its inputs;
2. data files land in the batch folder, then ``_manifest.json`` last;
3. the store marks it ``complete`` and, in the same transaction, records the files
   consumed and the new watermark.

On the next extract, :func:`recover_batches` finishes step 3 for batches whose manifest
exists and deletes the leftovers of those without one.
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basin.core.errors import ExtractError

if TYPE_CHECKING:
    from basin.lake.manifest import Manifest
    from basin.lake.storage import Lake
    from basin.metadata.store import MetadataStore


def new_batch_id() -> str:
    from basin.metadata.store import utcnow

    return utcnow().strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


@dataclass
class ExtractResult:
    """What one entity's extraction produced."""

    source: str
    entity: str
    batch_id: str | None
    rows: int = 0
    quarantined_rows: int = 0
    inputs: int = 0
    note: str = ""


@dataclass
class ExtractContext:
    """What an extractor may use."""

    lake: Lake
    store: MetadataStore
    run_id: str | None
    scratch_dir: Path
    """Local folder for temporary files (DuckDB spill, staged Parquet)."""
    project_root: Path
    options: dict[str, Any] = field(default_factory=dict)


class Extractor(ABC):
    """Extracts the entities of one configured source into lake batches."""

    def __init__(self, name: str, config: Any) -> None:
        self.name = name
        self.config = config

    @abstractmethod
    def extract(self, entity: str, ctx: ExtractContext) -> ExtractResult:
        """Extract whatever is new for ``entity`` into at most one new batch."""


def recover_batches(store: MetadataStore, lake: Lake, source: str, entity: str) -> list[str]:
    """Settle batches left ``writing`` by a crash. Returns the ids that were completed."""
    completed = []
    for batch in store.batches(source, entity, status="writing"):
        batch_dir = lake.batch_dir(source, entity, batch.batch_id)
        if lake.has_manifest(batch_dir):
            m = lake.read_manifest(batch_dir)
            store.complete_batch(
                m.batch_id,
                row_count=m.row_count,
                quarantined_rows=m.quarantined_rows,
                files=[i for i in m.inputs if "sha256" in i],
                watermark=(m.watermark or {}).get("value"),
            )
            completed.append(m.batch_id)
        else:
            lake.remove_batch(source, entity, batch.batch_id)
            store.abandon_batch(batch.batch_id)
    return completed


class BatchWriter:
    """Writes one batch following the three moves above."""

    def __init__(
        self, ctx: ExtractContext, source: str, entity: str, inputs: list[dict[str, Any]]
    ) -> None:
        self.ctx = ctx
        self.source = source
        self.entity = entity
        self.inputs = inputs
        self.batch_id = new_batch_id()
        self.batch_dir = ctx.lake.batch_dir(source, entity, self.batch_id)
        self.quarantine_dir = ctx.lake.quarantine_dir(source, entity, self.batch_id)
        self.staging = ctx.scratch_dir / f"{source}.{entity}.{self.batch_id}"

    def __enter__(self) -> BatchWriter:
        self.ctx.store.begin_batch(
            self.batch_id, self.source, self.entity, self.ctx.run_id, self.batch_dir, self.inputs
        )
        self.staging.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        import shutil

        shutil.rmtree(self.staging, ignore_errors=True)
        if exc is not None:
            self.ctx.lake.remove_batch(self.source, self.entity, self.batch_id)
            self.ctx.store.abandon_batch(self.batch_id)

    def commit(
        self,
        *,
        local_files: list[tuple[Path, int]],
        columns: list[dict[str, str]],
        quarantine_files: list[Path] = (),  # type: ignore[assignment]
        quarantined_rows: int = 0,
        watermark: dict[str, Any] | None = None,
    ) -> Manifest:
        """Move staged files into the lake, write the manifest, mark complete."""
        from basin.lake.manifest import DataFile, Manifest
        from basin.lake.storage import sha256_of
        from basin.metadata.store import utcnow

        lake = self.ctx.lake
        data_files = []
        for i, (local, rows) in enumerate(local_files):
            name = f"part-{i:05d}.parquet"
            dest = f"{self.batch_dir}/{name}"
            lake.put_file(local, dest)
            data_files.append(
                DataFile(
                    path=name, size=lake.fs.size(dest), sha256=sha256_of(lake.fs, dest), rows=rows
                )
            )
        for local in quarantine_files:
            lake.put_file(local, f"{self.quarantine_dir}/{local.name}")
        manifest = Manifest(
            batch_id=self.batch_id,
            source=self.source,
            entity=self.entity,
            run_id=self.ctx.run_id,
            created_at=utcnow().isoformat(),
            row_count=sum(r for _, r in local_files),
            columns=columns,
            files=data_files,
            quarantined_rows=quarantined_rows,
            inputs=self.inputs,
            watermark=watermark,
        )
        lake.write_manifest(self.batch_dir, manifest)
        self.ctx.store.complete_batch(
            self.batch_id,
            row_count=manifest.row_count,
            quarantined_rows=quarantined_rows,
            files=[i for i in self.inputs if "sha256" in i],
            watermark=(watermark or {}).get("value"),
        )
        return manifest


EXTRACTORS = {
    "files": "basin.sources.files.extract:FilesExtractor",
}
"""Source ``kind`` → its extractor class, imported on demand."""


def extractor_for(name: str, config: Any) -> Extractor:
    """The extractor of a configured source."""
    import importlib

    target = EXTRACTORS.get(config.kind)
    if target is None:
        raise ExtractError(f"source '{name}': no extractor for kind '{config.kind}'")
    module, _, cls = target.partition(":")
    extractor: Extractor = getattr(importlib.import_module(module), cls)(name, config)
    return extractor
