"""The warehouse interface every engine implements.

Engine differences are capability flags on :class:`Warehouse`, read by the façade,
never ``if engine == ...`` chains elsewhere.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from basin.common.sql import literal, quote_ident

if TYPE_CHECKING:
    from pathlib import Path

    from basin.config import Project
    from basin.lake.manifest import Manifest
    from basin.lake.storage import Lake

MASKED_SUFFIX = "__basin_pii"
"""A published table whose PII is masked keeps its data under ``<table>__basin_pii``
(readable by its owner only) behind a view of its name (``basin.access``)."""


def raw_table_name(source: str, entity: str) -> str:
    """The ``raw`` table of an entity: ``<source>__<entity>``."""
    return f"{source}__{entity}"


@dataclass(frozen=True)
class LoadResult:
    batch_id: str
    table: str
    rows: int
    skipped: bool = False
    """True when the ledger already held the batch (nothing was written)."""


@dataclass(frozen=True)
class PublishResult:
    location: str
    tables: dict[str, int]
    """``schema.table`` → row count, as published."""
    detail: dict[str, Any] = field(default_factory=dict)
    """Engine specifics worth recording (the DuckDB snapshot's storage version)."""


ReplayPlan = list[tuple[str, str, list[tuple["Manifest", list[str]]]]]
"""``(source, entity, [(manifest, data file URLs), …])`` per entity, oldest batch first."""


Governance = dict[str, tuple[list[str], list[str]]]
"""Published schema → (statements before its swap, statements after it)."""


class Warehouse(ABC):
    """A warehouse engine: loads lake batches, hosts dbt, publishes audited marts."""

    ENGINE: ClassVar[str]
    DBT_ADAPTER: ClassVar[str]
    """The dbt adapter type written into the generated profile."""
    SUPPORTS_TRANSACTIONAL_DDL: ClassVar[bool]
    """DDL and the load ledger commit in one transaction with the rows."""
    READS_PARQUET_IN_PLACE: ClassVar[bool]
    """The engine reads lake Parquet directly (no client-side streaming)."""
    PUBLISH_BY: ClassVar[str]
    """How publication is made atomic: ``file-swap``, ``schema-swap`` …"""

    def __init__(self, project: Project) -> None:
        self.project = project

    @cached_property
    def lake(self) -> Lake:
        """The lake batches are loaded from: a DuckDB that reads it is prepared with
        ``self.lake.prepare(con)`` (S3 access; nothing for a local folder)."""
        from basin.lake.storage import Lake

        return Lake.of(self.project)

    @property
    def raw_schema(self) -> str:
        """The schema loaded batches land in."""
        return self.project.env.own_schemas[0]

    @property
    def ledger_schema(self) -> str:
        """The schema of Basin's own tables in the warehouse (load ledger, publications)."""
        return self.project.env.own_schemas[1]

    @property
    def audit_suffix(self) -> str:
        """Suffix of the schemas dbt builds published models into before the swap
        (``marts`` → ``marts_audit``); empty where the whole warehouse is private."""
        return ""

    @abstractmethod
    def dbt_profile(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The dbt profile output for this warehouse, and the environment variables it
        reads (secrets never go in the generated file)."""

    def dbt_target(self) -> dict[str, Any]:
        return self.dbt_profile()[0]

    def tag(self, step: str, run_id: str | None) -> str:
        """What the engine is told about who runs a query, for cost attribution and
        for finding a run's queries among the server's (``basin/<env>/<step>/<run>``)."""
        return f"basin/{self.project.env_name}/{step}/{run_id or '-'}"

    def tagged_dbt_target(self, step: str, run_id: str | None) -> dict[str, Any]:
        """The dbt target with the step's tag, on engines that take one (PostgreSQL's
        ``application_name``, Snowflake's ``query_tag``)."""
        return self.dbt_target()

    def dbt_env(self) -> dict[str, str]:
        return self.dbt_profile()[1]

    @property
    @abstractmethod
    def identity(self) -> str:
        """A stable name for this warehouse, recorded with each load."""

    @abstractmethod
    def loaded_batch_ids(self) -> set[str]:
        """Batch ids in the warehouse's own load ledger."""

    @property
    def ledger_table(self) -> str:
        """The load ledger, as this engine's SQL names it."""
        return f"{quote_ident(self.ledger_schema)}.load_ledger"

    def unbuilt_batches(self, code: str) -> list[str] | None:
        """The batches loaded since the last whole dbt build that passed here (the
        delta an incremental build follows), oldest first; None when no build has
        passed against this ledger yet, or the last that did ran other code than
        ``code`` (a fingerprint of the dbt project): then everything counts as new.
        The ledger is the authority: a warehouse rebuilt from nothing starts over."""
        try:
            _, rows = self.sample(
                f"SELECT batch_id, built_run, built_code, loaded_at FROM {self.ledger_table}",
                10**9,
            )
        except Exception:  # noqa: BLE001 - no ledger, or no build recorded in it yet
            return None
        built = [(run, built_code) for _, run, built_code, _ in rows if run]
        if not built or max(built)[1] != code:
            return None
        return [b for b, run, _, _ in sorted(rows, key=lambda r: (r[3], r[0])) if not run]

    def mark_built(self, batch_ids: list[str], run_id: str, code: str) -> None:
        """Record that a whole build which passed (run ``run_id`` of the dbt project
        whose fingerprint is ``code``) has taken these batches: the next build's delta
        starts after them. Replay enters a batch in the ledger again, not built."""
        if not batch_ids:
            return  # nothing loaded (a project without sources has no ledger)
        table = self.ledger_table
        statements = [
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS built_run VARCHAR",
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS built_code VARCHAR",
        ]
        for start in range(0, len(batch_ids), 500):
            chunk = ", ".join(literal(b) for b in batch_ids[start : start + 500])
            statements.append(
                f"UPDATE {table} SET built_run = {literal(run_id)}, built_code = {literal(code)} "
                f"WHERE batch_id IN ({chunk})"
            )
        self.execute(statements)

    @abstractmethod
    def load_batch(self, manifest: Manifest, urls: list[str], run_id: str | None) -> LoadResult:
        """Load one complete batch into ``raw`` exactly once, ledger included."""

    @abstractmethod
    def drop_raw(self, source: str, entity: str) -> None:
        """Drop an entity's raw table and its ledger entries, in one transaction."""

    @abstractmethod
    def replay(
        self,
        entities: ReplayPlan,
        run_id: str | None,
        after_batch: Callable[[LoadResult], None] | None = None,
    ) -> list[LoadResult]:
        """Rebuild the raw tables of ``(source, entity, [(manifest, file urls), …])``
        from those batches alone, beside the old tables: the old tables and their
        ledger entries are replaced only once every batch has loaded, so a failure
        leaves the warehouse as it was."""

    @abstractmethod
    def publish(
        self, schemas: list[str], run_id: str, governance: Governance | None = None
    ) -> PublishResult:
        """Make the audited ``schemas`` what consumers read, atomically; ``governance``:
        per schema, statements to run in the same transaction before and after the
        swap (the grants that must never be missing from a published table)."""

    def refuse_governance(self, governance: Governance | None) -> None:
        """For engines whose publish carries no grants: refuse rather than publish
        ungoverned tables."""
        if governance:
            from basin.common.errors import PublishError

            raise PublishError(
                f"{self.identity}: publishing with grants is built for PostgreSQL only",
                hint="remove access: from basin.yml for this environment, or publish to PostgreSQL",
            )

    @abstractmethod
    def published_tables(self) -> dict[str, int] | None:
        """What consumers can read now (``schema.table`` → rows), None if nothing."""

    def twin(self, name: str) -> Any:
        """This warehouse's settings for a twin of it named ``name`` (a drill rebuilds
        there): a warehouse beside this one, never this one. Engines that cannot make
        one refuse."""
        from basin.common.errors import TerminalError

        raise TerminalError(
            f"{self.identity}: a twin warehouse (for a drill) is built for DuckDB and "
            "PostgreSQL only",
            hint="run the drill on a DuckDB or PostgreSQL environment",
        )

    def empty_twin(self, name: str) -> None:  # noqa: B027 - optional hook
        """Make this warehouse, a twin named ``name``, empty before it is rebuilt
        (a DuckDB twin's file goes with its state folder: nothing to do)."""

    def kept_publications(self) -> list[str]:
        """Run ids of earlier publications that can be restored, oldest first."""
        return []

    def restore_publication(self, run_id: str) -> PublishResult:
        """Make a kept publication the published one again (atomically)."""
        from basin.common.errors import PublishError

        raise PublishError(
            f"{self.identity}: restoring an earlier publication is built for DuckDB only",
            hint="on PostgreSQL the previous publication stays in the audit schemas until "
            "the next build; publish a fixed build instead",
        )

    def backup_published(self, folder: Path) -> list[str]:
        """Write what consumers read now into ``folder`` (files a restore takes back);
        returns the files' names. Engines that cannot refuse."""
        from basin.common.errors import TerminalError

        raise TerminalError(
            f"{self.identity}: backing up the warehouse is built for DuckDB and PostgreSQL only",
            hint="back up a Snowflake warehouse with its own Time Travel and zero-copy clones",
        )

    def restore_published(self, folder: Path, files: list[str]) -> PublishResult:
        """Make the backed-up ``files`` in ``folder`` what consumers read (atomically)."""
        raise NotImplementedError  # every engine that backs up restores

    def published_checksums(self) -> dict[str, tuple[int, str]]:
        """``schema.table`` → (rows, order-independent digest) of what consumers read
        now; empty if nothing is published. Compared within one engine (a drill)."""
        from basin.common.errors import TerminalError

        raise TerminalError(
            f"{self.identity}: comparing published tables is built for DuckDB and PostgreSQL only",
            hint="run the drill on a DuckDB or PostgreSQL environment",
        )

    @abstractmethod
    def sample(self, sql: str, limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Up to ``limit`` rows of a query (failing rows of a check), with column names."""

    @abstractmethod
    def table_counts(self, schema: str) -> dict[str, int]:
        """Row counts of the tables in a schema of the pipeline warehouse."""

    @abstractmethod
    def lineage_dataset(self, schema: str, table: str) -> tuple[str, str]:
        """OpenLineage ``(namespace, name)`` of a table of the pipeline warehouse, named
        as openlineage-dbt names dbt's relations so the two meet in one graph."""

    def published_dataset(self, schema: str, table: str) -> tuple[str, str]:
        """OpenLineage ``(namespace, name)`` of a published table."""
        return self.lineage_dataset(schema, table)

    def columns(self, schemas: list[str]) -> dict[tuple[str, str], list[tuple[str, str]]]:
        """``(schema, table)`` → ``[(column, type), …]`` in order, for tables and views
        of ``schemas`` in the pipeline warehouse (missing schemas are left out)."""
        if not schemas:
            return {}
        wanted = ", ".join("'" + s.replace("'", "''") + "'" for s in schemas)
        _, rows = self.sample(
            "select table_schema, table_name, column_name, data_type, ordinal_position "
            f"from information_schema.columns where table_schema in ({wanted})",
            10_000_000,
        )
        found: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
        for schema, table, column, dtype, position in rows:
            found.setdefault((schema, table), []).append((int(position), column, dtype))
        return {key: [(c, t) for _, c, t in sorted(cols)] for key, cols in found.items()}

    @abstractmethod
    def execute(self, statements: list[str]) -> None:
        """Run DDL statements in the pipeline warehouse, in one transaction where the
        engine allows."""

    def drop_unbuilt(self, schemas: list[str], built: set[tuple[str, str]]) -> list[str]:
        """Drop the tables and views of ``schemas`` that are not in ``built`` (lower-case
        ``(schema, name)`` of what the last whole dbt build made): a model deleted from
        the project must not be published from an earlier build's leftovers, which no
        check of this build looked at. Returns the ``schema.name`` dropped."""
        if not schemas:
            return []
        wanted = ", ".join("'" + s.lower().replace("'", "''") + "'" for s in schemas)
        _, rows = self.sample(
            "select table_schema, table_name, table_type from information_schema.tables "
            f"where lower(table_schema) in ({wanted}) and table_type in ('BASE TABLE', 'VIEW')",
            1_000_000,
        )
        stale = sorted(
            (str(s), str(t), str(kind))
            for s, t, kind in rows
            if (str(s).lower(), str(t).lower()) not in built
        )
        views = [(s, t) for s, t, kind in stale if kind == "VIEW"]
        tables = [(s, t) for s, t, kind in stale if kind != "VIEW"]
        # Views first: a view may read a stale table, never the other way round.
        statements = self.drop_statements("view", views) + self.drop_statements("table", tables)
        if statements:
            self.execute(statements)
        return [f"{s}.{t}" for s, t, _ in stale]

    def drop_statements(self, kind: str, relations: list[tuple[str, str]]) -> list[str]:
        """``drop <kind>`` statements for ``(schema, name)`` relations (one each: engines
        that track dependencies between views override this with one statement)."""
        return [f"drop {kind} {quote_ident(s)}.{quote_ident(t)}" for s, t in relations]

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Let the queries made inside (``sample``, ``columns``, ``row_counts``) share
        one read connection, on engines that open one per query."""
        yield

    def row_counts(self, relations: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Rows of each ``(schema, table)`` that is a table of the pipeline warehouse,
        for the catalog. Views and missing relations are left out (counting a view
        would run its query). Exact ``count(*)`` in one statement; engines override
        this with their own bookkeeping where counting would scan."""
        wanted = sorted({(s.lower(), t.lower()) for s, t in relations})
        if not wanted:
            return {}
        schemas = ", ".join("'" + s.replace("'", "''") + "'" for s in {s for s, _ in wanted})
        _, rows = self.sample(
            "select table_schema, table_name from information_schema.tables "
            f"where table_type = 'BASE TABLE' and table_schema in ({schemas})",
            1_000_000,
        )
        wanted_set = set(wanted)
        tables = sorted((s, t) for s, t in rows if (str(s).lower(), str(t).lower()) in wanted_set)
        if not tables:
            return {}
        counts = " union all ".join(
            f"select {i} as i, count(*) as n from {quote_ident(s)}.{quote_ident(t)}"
            for i, (s, t) in enumerate(tables)
        )
        _, found = self.sample(counts, len(tables))
        return {(tables[i][0].lower(), tables[i][1].lower()): int(n) for i, n in found}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def recover(self) -> None:  # noqa: B027 - optional hook
        """Remove what a command killed mid-way left behind (called holding the
        project's exclusive lock, after its runs were marked abandoned)."""

    def claim(self, schemas: list[str], *, create: bool = False) -> None:  # noqa: B027
        """Mark ``schemas`` as written by this project and environment, before (and
        after) a step writes them, on engines where projects share a database; raise
        ``TerminalError`` naming the project and environment that wrote one already.
        ``create``: make the missing ones first. A private warehouse needs nothing."""

    def foreign_schemas(self, schemas: list[str]) -> dict[str, str]:
        """Those of ``schemas`` another project or environment wrote (``claim``), with
        who (``project P, environment E``); none on a private warehouse."""
        return {}

    def rename_hint(self, schemas: list[str]) -> str:
        """Which settings name ``schemas``, for an error about them."""
        return "give this project its own database"

    def after_dbt(self) -> None:  # noqa: B027 - optional hook
        """Release what the dbt adapter keeps open in this process after an invocation."""

    def after_load(  # noqa: B027 - optional hook
        self, loaded: list[str], indexes: dict[str, list[list[str]]]
    ) -> None:
        """After a load committed rows into ``loaded`` (``raw.<name>``): refresh what the
        engine's planner knows of them, and create the ``indexes`` declared on raw
        tables (``raw.<name>`` → column lists) that are missing. Engines that keep
        statistics by themselves and have no indexes need nothing."""


WAREHOUSES = {
    "duckdb": "basin.warehouses.duckdb.warehouse:DuckDBWarehouse",
    "postgres": "basin.warehouses.postgres.warehouse:PostgresWarehouse",
    "snowflake": "basin.warehouses.snowflake.warehouse:SnowflakeWarehouse",
}
"""Engine name → implementation, imported on demand."""


def warehouse_for(project: Project) -> Warehouse:
    import importlib

    target = WAREHOUSES[project.env.warehouse.engine]
    module, _, cls = target.partition(":")
    warehouse: Warehouse = getattr(importlib.import_module(module), cls)(project)
    return warehouse
