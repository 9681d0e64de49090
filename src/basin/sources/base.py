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

from basin.common import faults
from basin.common.errors import ExtractError

if TYPE_CHECKING:
    from basin.lake.manifest import DataFile, Manifest
    from basin.lake.quarantine import Quarantined
    from basin.lake.storage import Lake
    from basin.metadata.store import MetadataStore
    from basin.sources.engine import ScanEngine


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
    """Why there is no batch (``no new files``), when there is none."""
    attention: bool = False
    """The note needs a person (a glob that matches nothing): logged as a warning."""
    manifest: Manifest | None = None
    """The batch's manifest, as written (None when nothing new was extracted)."""
    quarantined: list[str] = field(default_factory=list)
    """One line per input with quarantined records: what, how many, why, where."""
    warnings: list[str] = field(default_factory=list)
    """What a person should look at (a delimiter or date format that looks wrong)."""


@dataclass
class ExtractContext:
    """What an extractor may use."""

    lake: Lake
    store: MetadataStore
    run_id: str | None
    scratch_dir: Path
    """Local folder for temporary files (DuckDB spill, staged Parquet)."""
    project_root: Path
    engine: ScanEngine
    """The step's DuckDB instance with the scanners loaded (database sources)."""
    options: dict[str, Any] = field(default_factory=dict)


class Extractor(ABC):
    """Extracts the entities of one configured source into lake batches."""

    def __init__(self, name: str, config: Any) -> None:
        self.name = name
        self.config = config

    @abstractmethod
    def extract(self, entity: str, ctx: ExtractContext) -> ExtractResult:
        """Extract whatever is new for ``entity`` into at most one new batch."""

    @abstractmethod
    def dataset(self, entity: str, project_root: Path) -> tuple[str, str]:
        """OpenLineage ``(namespace, name)`` of what ``entity`` is read from."""

    def release(self, entity: str, ctx: ExtractContext, item: Quarantined) -> ExtractResult:
        """Read a quarantined batch's records again, with the settings as they are now,
        into a new batch (only source kinds that keep records one by one can)."""
        raise ExtractError(
            f"{self.name}.{entity}: {self.config.kind} sources keep no quarantined records "
            "to read again",
            hint=f"take the rows again from the source: `basin extract --select "
            f"{self.name}.{entity} --full-refresh`",
        )


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
        self.quarantined = False

    def __enter__(self) -> BatchWriter:
        self.ctx.store.begin_batch(
            self.batch_id, self.source, self.entity, self.ctx.run_id, self.batch_dir, self.inputs
        )
        self.staging.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        import shutil

        shutil.rmtree(self.staging, ignore_errors=True)
        if exc is not None and not self.quarantined:
            self.ctx.lake.remove_batch(self.source, self.entity, self.batch_id)
            self.ctx.store.abandon_batch(self.batch_id)

    def discard(self) -> None:
        """Drop a batch that turned out empty: no trace in the lake or the store."""
        self.ctx.lake.remove_batch(self.source, self.entity, self.batch_id)
        self.ctx.store.delete_batch(self.batch_id)

    def commit(
        self,
        *,
        local_files: list[tuple[Path, int]],
        columns: list[dict[str, str]],
        quarantine_files: list[Path] = (),  # type: ignore[assignment]
        quarantined_rows: int = 0,
        watermark: dict[str, Any] | None = None,
        load_mode: str = "append",
    ) -> Manifest:
        """Check the contract, move staged files into the lake, write the manifest,
        mark the batch complete.

        Raises:
            ContractError: the batch breaks the entity's accepted schema; its files
                are in quarantine, nothing else moved.
        """
        from basin.lake.manifest import Manifest
        from basin.metadata.store import utcnow

        lake = self.ctx.lake
        if self.ctx.options.get("full_refresh"):
            load_mode = "replace"
        schema_change = self._check_contract(columns, local_files, quarantine_files)
        data_files = self._put_files(local_files)
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
            load_mode=load_mode,
        )
        faults.point("extract.before_manifest")
        lake.write_manifest(self.batch_dir, manifest)
        faults.point("extract.before_complete")
        store = self.ctx.store
        store.complete_batch(
            self.batch_id,
            row_count=manifest.row_count,
            quarantined_rows=quarantined_rows,
            files=[i for i in self.inputs if "sha256" in i],
            watermark=(watermark or {}).get("value"),
        )
        if schema_change is not None:
            store.record_schema(
                self.source,
                self.entity,
                schema_change[0],
                change=schema_change[1],
                batch_id=self.batch_id,
            )
        store.resolve_incidents("schema_breaking", self.source, self.entity)
        return manifest

    def _put_files(self, local_files: list[tuple[Path, int]]) -> list[DataFile]:
        """Copy the staged Parquet files into the batch folder, each with its checksum."""
        from basin.lake.manifest import DataFile
        from basin.lake.storage import sha256_of

        lake = self.ctx.lake
        data_files = []
        for i, (local, rows) in enumerate(local_files):
            name = f"part-{i:05d}.parquet"
            dest = f"{self.batch_dir}/{name}"
            lake.put_file(local, dest)
            size, digest = lake.fs.size(dest), sha256_of(lake.fs, dest)
            data_files.append(DataFile(path=name, size=size, sha256=digest, rows=rows))
        return data_files

    def _check_contract(
        self,
        columns: list[dict[str, str]],
        local_files: list[tuple[Path, int]],
        quarantine_files: list[Path],
    ) -> tuple[list[dict[str, str]], str | None] | None:
        """Compare with the accepted schema; returns the schema to record, if any."""
        import json

        from basin.common.errors import ContractError
        from basin.lake.contract import compare, merged

        if not columns:
            return None
        store = self.ctx.store
        accepted = store.entity_schema(self.source, self.entity)
        if accepted is None:
            return [{"name": c["name"], "type": c["type"]} for c in columns], "initial schema"
        diff = compare(accepted[1], columns)
        if diff.breaking:
            lake = self.ctx.lake
            for local, _ in local_files:
                lake.put_file(local, f"{self.quarantine_dir}/{local.name}")
            for local in quarantine_files:
                lake.put_file(local, f"{self.quarantine_dir}/{local.name}")
            reason = (
                f"{self.source}.{self.entity}: batch {self.batch_id} breaks the schema contract "
                f"(version {accepted[0]}): {diff.describe()}"
            )
            contract_file = self.staging / "_contract.json"
            contract_file.write_text(
                json.dumps({"reason": reason, "accepted": accepted[1], "batch": columns}, indent=2)
            )
            lake.put_file(contract_file, f"{self.quarantine_dir}/_contract.json")
            store.set_batch_status(self.batch_id, "quarantined")
            store.open_incident(
                "schema_breaking",
                reason,
                source=self.source,
                entity=self.entity,
                batch_id=self.batch_id,
                run_id=self.ctx.run_id,
            )
            self.quarantined = True
            raise ContractError(
                reason,
                hint=f"the batch is in {self.quarantine_dir}; fix the source, or accept the new "
                f"schema with `basin extract --select {self.source}.{self.entity} --full-refresh`",
            )
        if diff.evolved:
            return merged(accepted[1], columns), diff.describe()
        return None


FINGERPRINTED = ("mode", "cursor", "primary_key", "table", "query", "path")
"""Entity settings whose change makes the rows already taken a different kind of
data (a second full copy appended, another table): a change is refused until the
entity is re-baselined with ``--full-refresh``."""


def entity_model(config: Any, entity: str) -> Any | None:
    """One entity's settings in a source's config (a file entity, a table, an endpoint)."""
    for attr in ("entities", "tables", "endpoints"):
        entities = getattr(config, attr, None)
        if isinstance(entities, dict) and entity in entities:
            return entities[entity]
    return None


def entity_settings(config: Any, entity: str) -> dict[str, Any]:
    """The fingerprinted settings of one entity of a source's config."""
    model = entity_model(config, entity)
    if model is None:
        return {}
    return {k: getattr(model, k) for k in FINGERPRINTED if hasattr(model, k)}


def fingerprint(settings: dict[str, Any]) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


EXTRACTORS = {
    "files": "basin.sources.files.extract:FilesExtractor",
    "postgres": "basin.sources.postgres.extract:PostgresExtractor",
    "sqlite": "basin.sources.sqlite.extract:SQLiteExtractor",
    "rest": "basin.sources.rest.extract:RestExtractor",
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
