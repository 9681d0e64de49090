"""Open, migrate and use the metadata store."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from basin import __version__
from basin.common.errors import MetadataError
from basin.common.redaction import redact
from basin.metadata.models import (
    AlertDelivery,
    Batch,
    CatalogDataset,
    CheckResult,
    EntityConfig,
    EntitySchema,
    Incident,
    LineageEdge,
    Load,
    MonitorResult,
    ProcessedFile,
    Publication,
    Run,
    Step,
    Watermark,
)

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD_REVISION = "0010"
"""The newest migration. Opening a store already there skips Alembic (≈0.2 s of
imports and script loading on every command); tests check it matches the files."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_run_id() -> str:
    """Sortable, unique across processes: ``r20261122T011500Z-3fa9c1``."""
    return utcnow().strftime("r%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def _redacted(text: str | None) -> str | None:
    return redact(text) if text else text


def fingerprint(env: str, kind: str, source: str | None, entity: str | None) -> str:
    """An incident's identity: one open incident per fingerprint, and the key alert
    channels deduplicate by."""
    import hashlib

    key = "\x1f".join([env, kind, source or "", entity or ""])
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class MetadataStore:
    """Typed access to Basin's metadata tables over one SQLAlchemy engine, for one
    environment: everything it reads and writes is that environment's, so several
    environments can share one store (a PostgreSQL database) without seeing each
    other's runs, watermarks, publications or incidents."""

    def __init__(
        self, url: str, *, env: str, schema: str | None = None, lock_dir: Path | None = None
    ) -> None:
        self.url = url
        self.env = env
        self.schema = schema
        self.engine = self._create_engine(url, schema)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        from basin.metadata.locks import Locks, lock_dir_for

        self.locks = Locks(self.engine, lock_dir_for(url, lock_dir or Path(".basin-locks")))

    @staticmethod
    def _create_engine(url: str, schema: str | None) -> Engine:
        connect_args: dict[str, Any] = {}
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Several processes write at once (parallel extracts, Airflow tasks):
            # wait for the lock instead of failing with "database is locked".
            connect_args["timeout"] = 60
            # Parallel extraction threads share the engine's pool.
            connect_args["check_same_thread"] = False
        elif schema:
            connect_args["options"] = f"-csearch_path={schema}"
        engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        if engine.dialect.name == "sqlite":

            @event.listens_for(engine, "connect")
            def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.close()

        return engine

    # --- lifecycle -----------------------------------------------------------------

    def _at_head(self) -> bool:
        from sqlalchemy.exc import DBAPIError

        try:
            with self.engine.connect() as conn:
                version = conn.execute(text("select version_num from alembic_version")).scalar()
        except DBAPIError:
            return False  # no tables yet, or the database is unreachable: migrate() says which
        return version == HEAD_REVISION

    def migrate(self) -> None:
        """Create or upgrade the tables to the newest revision (safe to repeat)."""
        if self._at_head():
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as conn:
                if self.schema and conn.dialect.name == "postgresql":
                    conn.execute(text(f'create schema if not exists "{self.schema}"'))
                if conn.dialect.name == "postgresql":
                    # Serialise concurrent first starts of several processes.
                    conn.execute(text("select pg_advisory_xact_lock(724551)"))
                elif conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except OperationalError as exc:
            raise MetadataError(
                f"cannot open the metadata store {self.safe_url}: {exc.orig}",
                hint="check environments.<env>.metadata.url in basin.yml and that the "
                "database is running (`basin doctor` checks it)",
            ) from None

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @staticmethod
    def head_revision() -> str | None:
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        return ScriptDirectory.from_config(cfg).get_current_head()

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as s:
            yield s

    # --- runs and steps ----------------------------------------------------------

    def start_run(self, command: str, run_id: str | None = None) -> str:
        import os
        import socket

        run_id = run_id or new_run_id()
        with self.session() as s:
            s.add(
                Run(
                    run_id=run_id,
                    env=self.env,
                    command=command,
                    status="running",
                    started_at=utcnow(),
                    basin_version=__version__,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                )
            )
        return run_id

    def running_runs(self) -> list[Run]:
        """Runs recorded as running, newest first."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(Run)
                    .where(Run.env == self.env, Run.status == "running")
                    .order_by(Run.started_at.desc())
                )
            )

    def abandon_runs(self, run_ids: Sequence[str], reason: str) -> None:
        """Mark runs whose process is gone, and their unfinished steps, ``abandoned``."""
        if not run_ids:
            return
        now = utcnow()
        with self.session() as s:
            s.execute(
                update(Run)
                .where(Run.run_id.in_(list(run_ids)), Run.status == "running")
                .values(status="abandoned", ended_at=now, error=reason)
            )
            s.execute(
                update(Step)
                .where(Step.run_id.in_(list(run_ids)), Step.status == "running")
                .values(status="abandoned", ended_at=now, error=reason)
            )

    def finish_run(self, run_id: str, status: str, error: str | None = None) -> None:
        with self.session() as s:
            s.execute(
                update(Run)
                .where(Run.run_id == run_id)
                .values(status=status, ended_at=utcnow(), error=_redacted(error))
            )

    def start_step(self, run_id: str, name: str) -> int:
        with self.session() as s:
            step = Step(run_id=run_id, name=name, status="running", started_at=utcnow())
            s.add(step)
            s.flush()
            return step.id

    def finish_step(
        self,
        step_id: int,
        status: str,
        *,
        rows: int | None = None,
        detail: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        with self.session() as s:
            s.execute(
                update(Step)
                .where(Step.id == step_id)
                .values(
                    status=status,
                    ended_at=utcnow(),
                    rows=rows,
                    detail=json.dumps(detail, default=str) if detail is not None else None,
                    error=_redacted(error),
                )
            )

    def build_history(self) -> list[Step]:
        """The newest ``transform`` step and every ``check`` step after it,
        oldest first: the record the quality gate judges a build by."""
        with self.session() as s:
            last = s.scalar(
                select(func.max(Step.id))
                .join(Run, Run.run_id == Step.run_id)
                .where(Step.name == "transform", Run.env == self.env)
            )
            if last is None:
                return []
            return list(
                s.scalars(
                    select(Step)
                    .join(Run, Run.run_id == Step.run_id)
                    .where(
                        Run.env == self.env,
                        Step.id >= last,
                        Step.name.in_(["transform", "check"]),
                    )
                    .order_by(Step.id)
                )
            )

    def runs(self, limit: int = 10) -> list[Run]:
        """The newest runs, newest first."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(Run)
                    .where(Run.env == self.env)
                    .order_by(Run.started_at.desc(), Run.run_id.desc())
                    .limit(limit)
                )
            )

    def run(self, run_id: str) -> Run | None:
        with self.session() as s:
            r = s.get(Run, run_id)
            return r if r is not None and r.env == self.env else None

    def steps(self, run_id: str) -> list[Step]:
        with self.session() as s:
            return list(s.scalars(select(Step).where(Step.run_id == run_id).order_by(Step.id)))

    # --- lake batches --------------------------------------------------------------

    def begin_batch(
        self,
        batch_id: str,
        source: str,
        entity: str,
        run_id: str | None,
        path: str,
        inputs: Any,
    ) -> None:
        with self.session() as s:
            s.add(
                Batch(
                    batch_id=batch_id,
                    env=self.env,
                    source=source,
                    entity=entity,
                    run_id=run_id,
                    status="writing",
                    path=path,
                    inputs=json.dumps(inputs, default=str),
                    created_at=utcnow(),
                )
            )

    def complete_batch(
        self,
        batch_id: str,
        *,
        row_count: int,
        quarantined_rows: int,
        files: Sequence[dict[str, Any]] = (),
        watermark: str | None = None,
    ) -> None:
        """Mark a batch complete and record what it consumed, in one transaction."""
        now = utcnow()
        with self.session() as s:
            batch = s.get(Batch, batch_id)
            if batch is None or batch.env != self.env:
                raise MetadataError(f"batch {batch_id} is not in the metadata store")
            batch.status = "complete"
            batch.row_count = row_count
            batch.quarantined_rows = quarantined_rows
            batch.completed_at = now
            for f in files:
                s.merge(
                    ProcessedFile(
                        env=self.env,
                        source=batch.source,
                        entity=batch.entity,
                        path=f["path"],
                        checksum=f["sha256"],
                        size=f["size"],
                        batch_id=batch_id,
                        processed_at=now,
                    )
                )
            if watermark is not None:
                s.merge(
                    Watermark(
                        env=self.env,
                        source=batch.source,
                        entity=batch.entity,
                        value=watermark,
                        batch_id=batch_id,
                        updated_at=now,
                    )
                )

    def delete_batch(self, batch_id: str) -> None:
        from sqlalchemy import delete

        with self.session() as s:
            s.execute(delete(Batch).where(Batch.env == self.env, Batch.batch_id == batch_id))

    def abandon_batch(self, batch_id: str) -> None:
        with self.session() as s:
            s.execute(
                update(Batch)
                .where(Batch.env == self.env, Batch.batch_id == batch_id)
                .values(status="abandoned")
            )

    def last_step_marked(self, name: str, marker: str) -> datetime | None:
        """When the newest successful step ``name`` of this environment whose detail
        holds ``marker`` (a JSON fragment such as ``"follows_delta": false``) ended."""
        with self.session() as s:
            return s.scalars(
                select(Step.ended_at)
                .join(Run, Run.run_id == Step.run_id)
                .where(
                    Run.env == self.env,
                    Step.name == name,
                    Step.status == "success",
                    Step.detail.contains(marker),
                )
                .order_by(Step.ended_at.desc())
                .limit(1)
            ).first()

    def first_created(self, batch_ids: list[str]) -> datetime | None:
        """When the earliest of these batches was started (every row of a batch was
        extracted after it); None if any of them is unknown here."""
        if not batch_ids:
            return None
        found: dict[str, datetime] = {}
        with self.session() as s:
            for start in range(0, len(batch_ids), 500):
                chunk = batch_ids[start : start + 500]
                q = select(Batch.batch_id, Batch.created_at).where(
                    Batch.env == self.env, Batch.batch_id.in_(chunk)
                )
                found.update({b: c for b, c in s.execute(q).all()})
        if len(found) < len(set(batch_ids)):
            return None
        return min(found.values())

    def batches(
        self, source: str | None = None, entity: str | None = None, status: str | None = None
    ) -> list[Batch]:
        with self.session() as s:
            q = (
                select(Batch)
                .where(Batch.env == self.env)
                .order_by(Batch.created_at, Batch.batch_id)
            )
            if source:
                q = q.where(Batch.source == source)
            if entity:
                q = q.where(Batch.entity == entity)
            if status:
                q = q.where(Batch.status == status)
            return list(s.scalars(q))

    def last_extraction_seconds(self) -> dict[tuple[str, str], float]:
        """``(source, entity)`` → seconds its newest complete batch took to extract
        (created to completed)."""
        newest = (
            select(Batch.source, Batch.entity, func.max(Batch.created_at).label("created"))
            .where(Batch.env == self.env, Batch.status == "complete")
            .group_by(Batch.source, Batch.entity)
            .subquery()
        )
        q = (
            select(Batch.source, Batch.entity, Batch.created_at, Batch.completed_at)
            .join(
                newest,
                (Batch.source == newest.c.source)
                & (Batch.entity == newest.c.entity)
                & (Batch.created_at == newest.c.created),
            )
            .where(Batch.env == self.env, Batch.status == "complete")
        )
        with self.session() as s:
            return {
                (source, entity): (done - created).total_seconds()
                for source, entity, created, done in s.execute(q).all()
                if done is not None
            }

    def lake_rows(self, source: str, entity: str) -> int:
        """Rows across an entity's complete batches in the lake."""
        with self.session() as s:
            total = s.scalar(
                select(func.coalesce(func.sum(Batch.row_count), 0)).where(
                    Batch.env == self.env,
                    Batch.source == source,
                    Batch.entity == entity,
                    Batch.status == "complete",
                )
            )
            return int(total or 0)

    def processed_files(self, source: str, entity: str) -> set[tuple[str, str]]:
        """``(path, sha256)`` of every file already extracted for the entity."""
        with self.session() as s:
            rows = s.execute(
                select(ProcessedFile.path, ProcessedFile.checksum).where(
                    ProcessedFile.env == self.env,
                    ProcessedFile.source == source,
                    ProcessedFile.entity == entity,
                )
            )
            return {(p, c) for p, c in rows}

    def watermark(self, source: str, entity: str) -> str | None:
        with self.session() as s:
            wm = s.get(Watermark, (self.env, source, entity))
            return wm.value if wm else None

    # --- loads and publications ----------------------------------------------------

    def record_load(
        self, batch_id: str, warehouse: str, run_id: str | None, table_name: str, rows: int
    ) -> None:
        with self.session() as s:
            s.merge(
                Load(
                    batch_id=batch_id,
                    warehouse=warehouse,
                    env=self.env,
                    run_id=run_id,
                    table_name=table_name,
                    rows=rows,
                    loaded_at=utcnow(),
                )
            )

    def record_publication(self, run_id: str, location: str, tables: dict[str, int]) -> None:
        with self.session() as s:
            s.add(
                Publication(
                    env=self.env,
                    run_id=run_id,
                    published_at=utcnow(),
                    location=location,
                    tables=json.dumps(tables),
                )
            )

    def loaded_after(self, when: datetime, warehouse: str) -> list[str]:
        """Batches recorded as loaded into ``warehouse`` after ``when``, oldest first."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(Load.batch_id)
                    .where(Load.env == self.env, Load.warehouse == warehouse, Load.loaded_at > when)
                    .order_by(Load.loaded_at)
                )
            )

    def publications(self, limit: int = 50) -> list[Publication]:
        """The newest publications, newest first."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(Publication)
                    .where(Publication.env == self.env)
                    .order_by(Publication.id.desc())
                    .limit(limit)
                )
            )

    def last_publication(self) -> Publication | None:
        with self.session() as s:
            return s.scalars(
                select(Publication)
                .where(Publication.env == self.env)
                .order_by(Publication.id.desc())
                .limit(1)
            ).first()

    # --- quality results -----------------------------------------------------------

    def record_checks(self, run_id: str, results: list[dict[str, Any]]) -> None:
        now = utcnow()
        with self.session() as s:
            for r in results:
                s.add(CheckResult(env=self.env, run_id=run_id, checked_at=now, **r))

    def check_results(self, run_id: str | None = None, *, limit: int = 5000) -> list[CheckResult]:
        """Results of one run, or the newest ones of every run."""
        with self.session() as s:
            q = (
                select(CheckResult)
                .where(CheckResult.env == self.env)
                .order_by(CheckResult.id.desc())
                .limit(limit)
            )
            if run_id:
                q = q.where(CheckResult.run_id == run_id)
            return list(s.scalars(q))

    # --- catalog and lineage -----------------------------------------------------

    def record_dataset(self, key: str, **fields: Any) -> None:
        """Create or refresh a catalog entry; see :meth:`record_datasets`."""
        self.record_datasets([{"key": key, **fields}])

    def record_datasets(self, entries: Sequence[dict[str, Any]]) -> None:
        """Create or refresh catalog entries in one transaction. Each entry has ``key``,
        ``kind``, ``namespace``, ``name`` and optionally ``columns`` ([(name, type[,
        description])]), ``rows``, ``run_id``, ``description``, ``owner``, ``tags``;
        what an entry does not give keeps its earlier value."""
        now = utcnow()
        keys = sorted({e["key"] for e in entries})
        with self.session() as s:
            found: dict[str, CatalogDataset] = {}
            for chunk in range(0, len(keys), 500):  # one query, not one per entry
                found.update(
                    (r.key, r)
                    for r in s.scalars(
                        select(CatalogDataset).where(
                            CatalogDataset.env == self.env,
                            CatalogDataset.key.in_(keys[chunk : chunk + 500]),
                        )
                    )
                )
            for entry in entries:
                e = dict(entry)
                key = e.pop("key")
                row = found.get(key)
                if row is None:
                    row = found[key] = CatalogDataset(key=key, env=self.env)
                    s.add(row)
                row.kind, row.namespace, row.name = e.pop("kind"), e.pop("namespace"), e.pop("name")
                row.updated_at = now
                if e.get("columns") is not None:
                    row.columns = json.dumps([list(c) for c in e.pop("columns")])
                if e.get("tags") is not None:
                    row.tags = json.dumps(e.pop("tags"))
                for field in ("rows", "run_id", "description", "owner"):
                    if e.get(field) is not None:
                        setattr(row, field, e[field])

    def datasets(self) -> list[CatalogDataset]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(CatalogDataset)
                    .where(CatalogDataset.env == self.env)
                    .order_by(CatalogDataset.key)
                )
            )

    def replace_lineage(
        self,
        dataset: str,
        step: str,
        edges: Sequence[tuple[str | None, str, str | None]],
    ) -> None:
        """Make ``edges`` — ``(column, upstream dataset, upstream column)`` — the
        lineage of ``dataset``."""
        self.replace_lineages([(dataset, step, edges)])

    def replace_lineages(
        self,
        items: Sequence[tuple[str, str, Sequence[tuple[str | None, str, str | None]]]],
    ) -> None:
        """:meth:`replace_lineage` for many datasets in one transaction."""
        from sqlalchemy import delete, insert

        if not items:
            return
        rows = [
            {
                "env": self.env,
                "dataset": dataset,
                "column_name": column,
                "upstream_dataset": upstream,
                "upstream_column": upstream_column,
                "step": step,
            }
            for dataset, step, edges in items
            for column, upstream, upstream_column in edges
        ]
        datasets = sorted({dataset for dataset, _, _ in items})
        with self.session() as s:
            # Core statements: one DELETE and one executemany INSERT (the ORM's
            # per-object bookkeeping cost 0.2 s for the reference's ~600 edges).
            for chunk in range(0, len(datasets), 500):
                s.execute(
                    delete(LineageEdge).where(
                        LineageEdge.env == self.env,
                        LineageEdge.dataset.in_(datasets[chunk : chunk + 500]),
                    )
                )
            if rows:
                s.execute(insert(LineageEdge), rows)

    def lineage_edges(self) -> list[LineageEdge]:
        with self.session() as s:
            return list(s.scalars(select(LineageEdge).where(LineageEdge.env == self.env)))

    # --- contracts, incidents, resets --------------------------------------------

    def entity_schema(self, source: str, entity: str) -> tuple[int, list[dict[str, str]]] | None:
        """The newest accepted schema of an entity: (version, columns)."""
        with self.session() as s:
            row = s.scalars(
                select(EntitySchema)
                .where(
                    EntitySchema.env == self.env,
                    EntitySchema.source == source,
                    EntitySchema.entity == entity,
                )
                .order_by(EntitySchema.version.desc())
                .limit(1)
            ).first()
            return (row.version, json.loads(row.columns)) if row else None

    def schema_history(self, source: str, entity: str) -> list[EntitySchema]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(EntitySchema)
                    .where(
                        EntitySchema.env == self.env,
                        EntitySchema.source == source,
                        EntitySchema.entity == entity,
                    )
                    .order_by(EntitySchema.version)
                )
            )

    def record_schema(
        self,
        source: str,
        entity: str,
        columns: list[dict[str, str]],
        *,
        change: str | None,
        batch_id: str | None,
    ) -> int:
        with self.session() as s:
            current = s.scalar(
                select(EntitySchema.version)
                .where(
                    EntitySchema.env == self.env,
                    EntitySchema.source == source,
                    EntitySchema.entity == entity,
                )
                .order_by(EntitySchema.version.desc())
                .limit(1)
            )
            version = (current or 0) + 1
            s.add(
                EntitySchema(
                    env=self.env,
                    source=source,
                    entity=entity,
                    version=version,
                    columns=json.dumps(columns),
                    change=change,
                    batch_id=batch_id,
                    recorded_at=utcnow(),
                )
            )
            return version

    def open_incident(
        self,
        kind: str,
        message: str,
        *,
        severity: str = "error",
        source: str | None = None,
        entity: str | None = None,
        batch_id: str | None = None,
        run_id: str | None = None,
        event_at: datetime | None = None,
    ) -> tuple[Incident, bool]:
        """Open an incident, or count one more occurrence of the same open one (same
        fingerprint). Returns it and whether it is new."""
        now = utcnow()
        message = redact(message)
        key = fingerprint(self.env, kind, source, entity)
        with self.session() as s:
            existing = s.scalars(
                select(Incident).where(
                    Incident.env == self.env,
                    Incident.fingerprint == key,
                    Incident.resolved_at.is_(None),
                )
            ).first()
            if existing is not None:
                existing.occurrences += 1
                existing.last_seen_at = now
                existing.message = message
                existing.batch_id = batch_id or existing.batch_id
                existing.severity = severity
                s.flush()
                s.expunge(existing)
                return existing, False
            incident = Incident(
                env=self.env,
                kind=kind,
                severity=severity,
                source=source,
                entity=entity,
                batch_id=batch_id,
                run_id=run_id,
                message=message,
                opened_at=now,
                last_seen_at=now,
                occurrences=1,
                fingerprint=key,
                event_at=event_at,
            )
            s.add(incident)
            s.flush()
            s.expunge(incident)
            return incident, True

    def resolve_incidents(
        self, kind: str, source: str | None, entity: str | None, by: str = "basin"
    ) -> list[Incident]:
        """Resolve the open incident of this kind and subject, if any (its condition
        cleared); returns what was resolved."""
        key = fingerprint(self.env, kind, source, entity)
        with self.session() as s:
            found = list(
                s.scalars(
                    select(Incident).where(
                        Incident.env == self.env,
                        Incident.fingerprint == key,
                        Incident.resolved_at.is_(None),
                    )
                )
            )
            now = utcnow()
            for incident in found:
                incident.resolved_at = now
                incident.resolved_by = by
            s.flush()
            for incident in found:
                s.expunge(incident)
            return found

    def incident(self, incident_id: int) -> Incident | None:
        with self.session() as s:
            found = s.get(Incident, incident_id)
            return found if found is not None and found.env == self.env else None

    def update_incident(self, incident_id: int, **values: Any) -> Incident | None:
        """Set fields of one incident (``acked_at``, ``resolved_at`` …); None if it is
        not one of this environment's."""
        with self.session() as s:
            found = s.get(Incident, incident_id)
            if found is None or found.env != self.env:
                return None
            for key, value in values.items():
                setattr(found, key, value)
            s.flush()
            s.expunge(found)
            return found

    def incidents(self, *, open_only: bool = False, limit: int = 50) -> list[Incident]:
        with self.session() as s:
            q = (
                select(Incident)
                .where(Incident.env == self.env)
                .order_by(Incident.id.desc())
                .limit(limit)
            )
            if open_only:
                q = q.where(Incident.resolved_at.is_(None))
            return list(s.scalars(q))

    # --- aggregates for metrics ----------------------------------------------------------

    def run_counts(self) -> list[tuple[str, str, int]]:
        """``(command, status, runs)`` over the whole history."""
        with self.session() as s:
            rows = s.execute(
                select(Run.command, Run.status, func.count())
                .where(Run.env == self.env)
                .group_by(Run.command, Run.status)
            )
            return [(str(c), str(st), int(n)) for c, st, n in rows]

    def last_runs(self) -> list[Run]:
        """The newest finished run of each command."""
        with self.session() as s:
            newest = (
                select(Run.command, func.max(Run.started_at).label("at"))
                .where(Run.env == self.env, Run.ended_at.is_not(None))
                .group_by(Run.command)
                .subquery()
            )
            return list(
                s.scalars(
                    select(Run)
                    .join(
                        newest,
                        (Run.command == newest.c.command) & (Run.started_at == newest.c.at),
                    )
                    .where(Run.env == self.env)
                )
            )

    def last_steps(self) -> list[Step]:
        """The newest finished step of each name."""
        with self.session() as s:
            newest = (
                select(Step.name, func.max(Step.id).label("id"))
                .join(Run, Run.run_id == Step.run_id)
                .where(Run.env == self.env, Step.ended_at.is_not(None))
                .group_by(Step.name)
                .subquery()
            )
            return list(s.scalars(select(Step).join(newest, Step.id == newest.c.id)))

    def entity_totals(self) -> list[tuple[str, str, int, int, int]]:
        """``(source, entity, batches, rows, quarantined rows)`` of complete batches."""
        with self.session() as s:
            rows = s.execute(
                select(
                    Batch.source,
                    Batch.entity,
                    func.count(),
                    func.coalesce(func.sum(Batch.row_count), 0),
                    func.coalesce(func.sum(Batch.quarantined_rows), 0),
                )
                .where(Batch.env == self.env, Batch.status == "complete")
                .group_by(Batch.source, Batch.entity)
            )
            return [(str(a), str(b), int(c), int(d or 0), int(e or 0)) for a, b, c, d, e in rows]

    def run_outcomes_since(self, since: datetime) -> list[tuple[str, str, datetime]]:
        """``(command, status, started_at)`` of the runs started since ``since``."""
        with self.session() as s:
            rows = s.execute(
                select(Run.command, Run.status, Run.started_at).where(
                    Run.env == self.env, Run.started_at >= since
                )
            )
            return [(str(c), str(st), at) for c, st, at in rows]

    def check_counts_since(self, since: datetime) -> dict[str, int]:
        """Check results since ``since``, counted by status."""
        with self.session() as s:
            rows = s.execute(
                select(CheckResult.status, func.count())
                .where(CheckResult.env == self.env, CheckResult.checked_at >= since)
                .group_by(CheckResult.status)
            )
            return {str(st): int(n) for st, n in rows}

    def first_run_at(self) -> datetime | None:
        """When this environment's first run started (None: no run yet)."""
        with self.session() as s:
            found: datetime | None = s.scalar(
                select(func.min(Run.started_at)).where(Run.env == self.env)
            )
            return found

    def checked_runs_since(self, since: datetime) -> int:
        """Runs whose checks were recorded since ``since``."""
        with self.session() as s:
            found = s.scalar(
                select(func.count(func.distinct(CheckResult.run_id))).where(
                    CheckResult.env == self.env, CheckResult.checked_at >= since
                )
            )
            return int(found or 0)

    def publication_times_since(self, since: datetime) -> list[datetime]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(Publication.published_at)
                    .where(Publication.env == self.env, Publication.published_at >= since)
                    .order_by(Publication.published_at)
                )
            )

    # --- alert deliveries ------------------------------------------------------------

    def record_delivery(
        self,
        incident_id: int,
        channel: str,
        action: str,
        status: str,
        attempts: int,
        error: str | None = None,
    ) -> AlertDelivery:
        now = utcnow()
        with self.session() as s:
            delivery = AlertDelivery(
                env=self.env,
                incident_id=incident_id,
                channel=channel,
                action=action,
                status=status,
                attempts=attempts,
                error=redact(error) if error else None,
                created_at=now,
                sent_at=now if status == "sent" else None,
            )
            s.add(delivery)
            s.flush()
            s.expunge(delivery)
            return delivery

    def mark_delivery(self, delivery_id: int, status: str) -> None:
        """A failed or held delivery that a later attempt took over (``retried``)."""
        with self.session() as s:
            s.execute(
                update(AlertDelivery)
                .where(AlertDelivery.env == self.env, AlertDelivery.id == delivery_id)
                .values(status=status)
            )

    def deliveries(
        self, *, incident_id: int | None = None, status: str | None = None
    ) -> list[AlertDelivery]:
        """Deliveries, oldest first."""
        with self.session() as s:
            q = select(AlertDelivery).where(AlertDelivery.env == self.env)
            if incident_id is not None:
                q = q.where(AlertDelivery.incident_id == incident_id)
            if status is not None:
                q = q.where(AlertDelivery.status == status)
            return list(s.scalars(q.order_by(AlertDelivery.id)))

    # --- monitors ----------------------------------------------------------------------

    def record_monitor_results(self, run_id: str | None, results: Sequence[dict[str, Any]]) -> None:
        now = utcnow()
        with self.session() as s:
            s.add_all(
                MonitorResult(
                    env=self.env,
                    run_id=run_id,
                    evaluated_at=now,
                    **{**r, "message": redact(r["message"])},
                )
                for r in results
            )

    def monitor_results(self, *, limit: int = 1000) -> list[MonitorResult]:
        """The newest monitor evaluations, newest first."""
        with self.session() as s:
            return list(
                s.scalars(
                    select(MonitorResult)
                    .where(MonitorResult.env == self.env)
                    .order_by(MonitorResult.id.desc())
                    .limit(limit)
                )
            )

    def entity_config(self, source: str, entity: str) -> EntityConfig | None:
        """The settings an entity was last extracted with."""
        with self.session() as s:
            return s.get(EntityConfig, (self.env, source, entity))

    def record_entity_config(
        self, source: str, entity: str, fingerprint: str, settings: dict[str, Any]
    ) -> None:
        with self.session() as s:
            s.merge(
                EntityConfig(
                    env=self.env,
                    source=source,
                    entity=entity,
                    fingerprint=fingerprint,
                    settings=json.dumps(settings, sort_keys=True, default=str),
                    updated_at=utcnow(),
                )
            )

    def set_batch_status(self, batch_id: str, status: str) -> None:
        with self.session() as s:
            s.execute(
                update(Batch)
                .where(Batch.env == self.env, Batch.batch_id == batch_id)
                .values(status=status)
            )

    def reset_entity(self, source: str, entity: str) -> None:
        """Forget an entity's extraction state: watermark, files taken, accepted schema.

        Lake batches and warehouse rows stay; the next batch replaces the raw table.
        """
        from sqlalchemy import delete

        with self.session() as s:
            s.execute(
                delete(Watermark).where(
                    Watermark.env == self.env,
                    Watermark.source == source,
                    Watermark.entity == entity,
                )
            )
            s.execute(
                delete(ProcessedFile).where(
                    ProcessedFile.env == self.env,
                    ProcessedFile.source == source,
                    ProcessedFile.entity == entity,
                )
            )
            s.execute(
                delete(EntitySchema).where(
                    EntitySchema.env == self.env,
                    EntitySchema.source == source,
                    EntitySchema.entity == entity,
                )
            )


def open_store(
    url: str, *, env: str, schema: str | None = None, lock_dir: Path | None = None
) -> MetadataStore:
    """Open the store for one environment and bring its tables to the newest revision."""
    store = MetadataStore(url, env=env, schema=schema, lock_dir=lock_dir)
    store.migrate()
    return store
