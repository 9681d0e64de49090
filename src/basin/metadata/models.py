"""SQLAlchemy tables of the metadata store. Change them only with a migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A point in time, stored in UTC and read back as an aware UTC datetime on every
    engine (SQLite keeps no zone: without this, its values came back naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: Basin stores aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


ENV = String(64)
"""Every table is scoped by environment: two environments may share one store."""


class Run(Base):
    """One invocation of a Basin command that does work (``run``, ``extract`` …)."""

    __tablename__ = "basin_runs"
    __table_args__ = (Index("ix_basin_runs_env_started", "env", "started_at"),)

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    env: Mapped[str] = mapped_column(ENV)
    command: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # running | success | failed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    basin_version: Mapped[str] = mapped_column(String(32))
    host: Mapped[str | None] = mapped_column(String(256))  # where the command ran
    pid: Mapped[int | None] = mapped_column(Integer)


class Step(Base):
    """One step of a run: extract, load, transform, publish."""

    __tablename__ = "basin_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("basin_runs.run_id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # running | success | failed | skipped
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rows: Mapped[int | None] = mapped_column(BigInteger)
    detail: Mapped[str | None] = mapped_column(Text)  # JSON
    error: Mapped[str | None] = mapped_column(Text)


class Batch(Base):
    """A lake batch: one extraction of one entity. Complete once its manifest exists."""

    __tablename__ = "basin_batches"
    __table_args__ = (
        Index("ix_basin_batches_entity", "env", "source", "entity", "status", "completed_at"),
        Index("ix_basin_batches_run", "run_id"),
    )

    batch_id: Mapped[str] = mapped_column(String(96), primary_key=True)
    env: Mapped[str] = mapped_column(ENV)
    source: Mapped[str] = mapped_column(String(128))
    entity: Mapped[str] = mapped_column(String(128))
    run_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # writing | complete | abandoned
    path: Mapped[str] = mapped_column(Text)
    row_count: Mapped[int | None] = mapped_column(BigInteger)
    quarantined_rows: Mapped[int | None] = mapped_column(BigInteger)
    inputs: Mapped[str | None] = mapped_column(Text)  # JSON: files or query window
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Load(Base):
    """A batch loaded into a warehouse. Mirrors the ledger inside the warehouse,
    which is the authority because it commits in the same transaction as the rows."""

    __tablename__ = "basin_loads"

    batch_id: Mapped[str] = mapped_column(String(96), primary_key=True)
    warehouse: Mapped[str] = mapped_column(String(256), primary_key=True)
    env: Mapped[str] = mapped_column(ENV)
    run_id: Mapped[str | None] = mapped_column(String(64))
    table_name: Mapped[str] = mapped_column(String(256))
    rows: Mapped[int] = mapped_column(BigInteger)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Watermark(Base):
    """How far an entity has been extracted (cursor value, or the files taken)."""

    __tablename__ = "basin_watermarks"

    env: Mapped[str] = mapped_column(ENV, primary_key=True)
    source: Mapped[str] = mapped_column(String(128), primary_key=True)
    entity: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[str | None] = mapped_column(String(96))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProcessedFile(Base):
    """A dropped file already extracted (path + size + checksum), so it is taken once."""

    __tablename__ = "basin_processed_files"

    env: Mapped[str] = mapped_column(ENV, primary_key=True)
    source: Mapped[str] = mapped_column(String(128), primary_key=True)
    entity: Mapped[str] = mapped_column(String(128), primary_key=True)
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    checksum: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    batch_id: Mapped[str] = mapped_column(String(96))
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Publication(Base):
    """A successful publish: what consumers can read since when."""

    __tablename__ = "basin_publications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    env: Mapped[str] = mapped_column(ENV)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    location: Mapped[str] = mapped_column(Text)
    tables: Mapped[str] = mapped_column(Text)  # JSON: {"marts.x": rows}


class EntitySchema(Base):
    """The accepted schema (contract) of a source entity, one row per version."""

    __tablename__ = "basin_entity_schemas"

    env: Mapped[str] = mapped_column(ENV, primary_key=True)
    source: Mapped[str] = mapped_column(String(128), primary_key=True)
    entity: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    columns: Mapped[str] = mapped_column(Text)  # JSON [{"name", "type"}]
    change: Mapped[str | None] = mapped_column(Text)  # what changed from the previous version
    batch_id: Mapped[str | None] = mapped_column(String(96))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Incident(Base):
    """Something that needs a person: a broken contract, a failed gate, a missed SLA."""

    __tablename__ = "basin_incidents"
    __table_args__ = (
        Index("ix_basin_incidents_open", "env", "kind", "source", "entity", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    env: Mapped[str] = mapped_column(ENV)
    kind: Mapped[str] = mapped_column(String(64))  # schema_breaking | …
    severity: Mapped[str] = mapped_column(String(16))  # error | warn
    source: Mapped[str | None] = mapped_column(String(128))
    entity: Mapped[str | None] = mapped_column(String(128))
    batch_id: Mapped[str | None] = mapped_column(String(96))
    run_id: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fingerprint: Mapped[str | None] = mapped_column(String(32), index=True)
    """Same problem, same fingerprint (environment, kind, source, entity): one open
    incident at a time, and the key alert channels deduplicate by (PagerDuty's dedup_key)."""
    event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the problem began (the data became late, a deadline passed): time to detect
    is ``opened_at - event_at``."""
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acked_by: Mapped[str | None] = mapped_column(String(128))
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    """Who resolved it; ``basin`` when the condition cleared on its own."""


class MonitorResult(Base):
    """One evaluation of one monitor (freshness, volume, schema, checks) on one target."""

    __tablename__ = "basin_monitor_results"
    __table_args__ = (
        Index("ix_basin_monitor_results_target", "env", "monitor", "target", "evaluated_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    env: Mapped[str] = mapped_column(ENV)
    run_id: Mapped[str | None] = mapped_column(String(64))
    monitor: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(256))
    status: Mapped[str] = mapped_column(String(16))  # ok | breach | unknown
    observed: Mapped[float | None] = mapped_column(Float)
    expected: Mapped[str | None] = mapped_column(Text)  # JSON: the baseline or limit
    message: Mapped[str] = mapped_column(Text)
    evaluated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertDelivery(Base):
    """One incident event (trigger, acknowledge, resolve, renotify) for one channel:
    sent, failed (tried again later), or held by the channel's quiet hours."""

    __tablename__ = "basin_alert_deliveries"
    __table_args__ = (Index("ix_basin_alert_deliveries_incident", "env", "incident_id", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    env: Mapped[str] = mapped_column(ENV)
    incident_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))  # trigger | acknowledge | resolve | renotify
    status: Mapped[str] = mapped_column(String(16))  # sent | failed | held | retried
    attempts: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CheckResult(Base):
    """One quality check's outcome in one run (dbt tests and Basin's own)."""

    __tablename__ = "basin_check_results"
    __table_args__ = (
        Index("ix_basin_check_results_model", "model", "checked_at"),
        Index("ix_basin_check_results_check", "env", "unique_id", "id"),
        Index("ix_basin_check_results_env", "env", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    env: Mapped[str] = mapped_column(ENV)
    run_id: Mapped[str] = mapped_column(String(64), index=True)
    unique_id: Mapped[str] = mapped_column(String(512))
    name: Mapped[str] = mapped_column(String(512))
    model: Mapped[str | None] = mapped_column(String(512))
    column_name: Mapped[str | None] = mapped_column(String(256))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # pass | warn | fail | error | skipped
    failures: Mapped[int | None] = mapped_column(BigInteger)
    message: Mapped[str | None] = mapped_column(Text)
    sample: Mapped[str | None] = mapped_column(Text)  # JSON: {"columns": [...], "rows": [[...]]}
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CatalogDataset(Base):
    """A dataset Basin knows: a source entity, a lake dataset, a warehouse relation or a
    published table, keyed by a readable name (``source.crm.customers``,
    ``lake.crm.customers``, ``raw.crm__customers``, ``published.marts.customer_360``)."""

    __tablename__ = "basin_datasets"

    key: Mapped[str] = mapped_column(String(512), primary_key=True)
    env: Mapped[str] = mapped_column(ENV, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # source | lake | raw | model | published …
    namespace: Mapped[str] = mapped_column(String(1024))  # OpenLineage namespace
    name: Mapped[str] = mapped_column(String(1024))  # OpenLineage name
    columns: Mapped[str | None] = mapped_column(Text)  # JSON [[name, type, description], …]
    description: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(256))
    tags: Mapped[str | None] = mapped_column(Text)  # JSON list
    rows: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    run_id: Mapped[str | None] = mapped_column(String(64))


class LineageEdge(Base):
    """``upstream_dataset.upstream_column`` feeds ``dataset.column_name`` (both columns
    empty: a table-level edge). A dataset's edges are replaced when it is rebuilt."""

    __tablename__ = "basin_lineage_edges"
    __table_args__ = (
        Index("ix_basin_lineage_edges_dataset", "env", "dataset"),
        Index("ix_basin_lineage_edges_upstream", "env", "upstream_dataset"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    env: Mapped[str] = mapped_column(ENV)
    dataset: Mapped[str] = mapped_column(String(512))
    column_name: Mapped[str | None] = mapped_column(String(256))
    upstream_dataset: Mapped[str] = mapped_column(String(512))
    upstream_column: Mapped[str | None] = mapped_column(String(256))
    step: Mapped[str] = mapped_column(String(32))  # extract | load | transform | publish


class EntityConfig(Base):
    """The extraction settings an entity's lake batches were taken with (mode, cursor,
    primary key), as a fingerprint: a change is detected before the next extract."""

    __tablename__ = "basin_entity_configs"

    env: Mapped[str] = mapped_column(ENV, primary_key=True)
    source: Mapped[str] = mapped_column(String(128), primary_key=True)
    entity: Mapped[str] = mapped_column(String(128), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    settings: Mapped[str | None] = mapped_column(Text)  # JSON, for the error message
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AuditEntry(Base):
    """One line of the audit log: who ran which command with which arguments (secrets
    redacted), when, and how it ended. Hash-chained: each entry's hash covers its
    fields and the previous entry's hash, so an edited or deleted entry is found."""

    __tablename__ = "basin_audit_log"
    __table_args__ = (UniqueConstraint("env", "seq", name="uq_basin_audit_log_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    env: Mapped[str] = mapped_column(ENV)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(256))
    command: Mapped[str] = mapped_column(String(128))
    arguments: Mapped[str] = mapped_column(Text)  # JSON list, secrets redacted
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    config_sha: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The newest entry of each environment's audit log: deleting the last entries
    leaves a chain that is whole, but no longer ends where the head says."""

    __tablename__ = "basin_audit_head"

    env: Mapped[str] = mapped_column(ENV, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    config_sha: Mapped[str | None] = mapped_column(String(64))
    """basin.yml's hash at the newest entry (a change is logged before the next)."""
