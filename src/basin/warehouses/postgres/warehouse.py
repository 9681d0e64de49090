"""PostgreSQL: a warehouse a team shares. Loads through DuckDB's postgres extension
(``load.py``), builds with dbt-postgres, publishes by swapping schemas (``publish.py``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from basin.common.errors import LoadError, TerminalError, WarehouseUnavailable, unreachable
from basin.common.logging import get_logger
from basin.common.sql import quote_ident
from basin.lake.manifest import Manifest
from basin.warehouses.base import (
    Governance,
    LoadResult,
    PublishResult,
    ReplayPlan,
    Warehouse,
)
from basin.warehouses.duckdb import load as duck_load
from basin.warehouses.postgres import load, profile, publish
from basin.warehouses.postgres.configuration import PostgresWarehouse as PostgresConfig

log = get_logger(__name__)

OWNER = "Basin project {project}, environment {env}"
"""The comment on every schema an environment writes (``claim``)."""
OWNER_PATTERN = r"Basin project (?P<project>\S+), environment (?P<env>\S+)"

LOAD_STEPS = ("load", "replay")
"""Steps whose sessions take ``workloads.load``'s settings; the others ``transform``'s."""


class PostgresWarehouse(Warehouse):
    ENGINE = "postgres"
    DBT_ADAPTER = "postgres"
    SUPPORTS_TRANSACTIONAL_DDL = True
    READS_PARQUET_IN_PLACE = False
    PUBLISH_BY = "schema-swap"

    @property
    def cfg(self) -> PostgresConfig:
        return self.project.env.warehouse  # type: ignore[return-value]

    @property
    def identity(self) -> str:
        return self.cfg.display()

    @property
    def audit_suffix(self) -> str:
        return self.cfg.audit_suffix

    @property
    def _place(self) -> duck_load.Place:
        return duck_load.Place(load.CATALOG, self.raw_schema, self.ledger_schema)

    def _conninfo(self, step: str = "basin", run_id: str | None = None) -> str:
        """The connection string, tagged: ``application_name`` names the step and run in
        ``pg_stat_activity`` and the server's logs (PostgreSQL keeps its first 63 bytes)."""
        extra = {"application_name": self.tag(step, run_id)[:63]}
        options = self._options("load" if step in LOAD_STEPS else "transform")
        if options:
            extra["options"] = options
        return make_conninfo(self.cfg.conninfo(), **extra)

    def _options(self, workload: str) -> str:
        """libpq ``options`` of a workload: the connection string's own, then the
        workload's settings (later ``-c`` wins)."""
        own = conninfo_to_dict(self.cfg.conninfo()).get("options") or ""
        settings = getattr(self.cfg.workloads, workload).options()
        return " ".join(x for x in (str(own), settings) if x)

    def twin(self, name: str) -> Any:
        """The database ``<database>_<name>`` on the same server."""
        from pydantic import SecretStr

        parts = conninfo_to_dict(self.cfg.conninfo())
        parts["dbname"] = f"{parts.get('dbname') or 'postgres'}_{name}"
        return self.cfg.model_copy(update={"dsn": SecretStr(make_conninfo("", **parts))})

    def empty_twin(self, name: str) -> None:
        """Drop and create this twin's database (never a live one: its name must end
        ``_<name>``). Needs CREATEDB."""
        from basin.common.errors import TerminalError

        parts = conninfo_to_dict(self.cfg.conninfo())
        database = str(parts.get("dbname") or "")
        if not database.endswith(f"_{name}"):
            raise TerminalError(f"{self.identity} is not a {name} twin: it is not emptied")
        admin = make_conninfo("", **{**parts, "dbname": "postgres"})
        try:
            with psycopg.connect(
                admin, autocommit=True, connect_timeout=self.cfg.connect_timeout
            ) as conn:
                conn.execute(
                    sql.SQL("drop database if exists {} with (force)").format(
                        sql.Identifier(database)
                    )
                )
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(database)))
        except psycopg.Error as exc:
            raise TerminalError(
                f"cannot create the {name} database {database!r}: "
                f"{str(exc).strip().splitlines()[0]}",
                hint="the warehouse user needs CREATEDB (or create the database and grant it)",
            ) from None

    def foreign_schemas(self, schemas: list[str]) -> dict[str, str]:
        with self._pg() as conn:
            found = _schema_comments(conn, schemas)
        return _foreign(found, self._owner)

    @property
    def _owner(self) -> str:
        return OWNER.format(project=self.project.config.project, env=self.project.env_name)

    def claim(self, schemas: list[str], *, create: bool = False) -> None:
        """Each schema this environment writes carries a comment naming the project and
        environment (``COMMENT ON SCHEMA``); one naming another is refused before
        anything is written, so two projects sharing a database never load, build or
        publish into each other's schemas. A schema with no such comment (made by hand,
        or by Basin before it marked them) is taken."""
        wanted = sorted({s.lower() for s in schemas})
        with self._pg() as conn:
            # One claim at a time in the database: two environments starting at once
            # cannot both find a schema unmarked and both take it.
            conn.execute("select pg_advisory_xact_lock(hashtext('basin: schema claim'))")
            if create:
                for schema in wanted:
                    conn.execute(
                        sql.SQL("create schema if not exists {}").format(sql.Identifier(schema))
                    )
            found = _schema_comments(conn, wanted)
            foreign = _foreign(found, self._owner)
            if foreign:
                names = ", ".join(foreign)
                raise TerminalError(
                    f"schema(s) {names} in {self.identity} belong to Basin "
                    f"{_owners(foreign)}: two projects or environments cannot share a "
                    "schema (nothing was written)",
                    hint=self.rename_hint(list(foreign)),
                )
            for schema, comment in found.items():
                if comment == self._owner:
                    continue
                try:
                    with conn.transaction():  # a savepoint: the others are still marked
                        conn.execute(
                            sql.SQL("comment on schema {} is {}").format(
                                sql.Identifier(schema), sql.Literal(self._owner)
                            )
                        )
                except psycopg.errors.InsufficientPrivilege:
                    log.warning(
                        "schema %s in %s is not marked as this environment's (only its "
                        "owner may comment on it): other projects are not kept out of it "
                        "until its owner runs COMMENT ON SCHEMA %s IS '%s'",
                        schema,
                        self.identity,
                        schema,
                        self._owner,
                    )

    def rename_hint(self, schemas: list[str]) -> str:
        """The settings that name ``schemas``."""
        env = f"environments.{self.project.env_name}.warehouse.schemas"
        dbt = "the +schema of the models in dbt_project.yml"
        settings: list[str] = []
        for schema in schemas:
            if schema == self.raw_schema:
                setting = f"{env}.raw"
            elif schema == self.ledger_schema:
                setting = f"{env}.ledger"
            elif schema.removesuffix(self.audit_suffix) in self.project.config.publish.schemas:
                setting = "publish.schemas"
            else:
                setting = dbt
            if setting not in settings:
                settings.append(setting)
        if "publish.schemas" in settings and dbt not in settings:
            settings.append(dbt)  # the published models are built into those names
        return (
            f"give this project its own names — {', '.join(settings)} — or its own "
            "database (docs: Warehouses, “Two projects in one PostgreSQL database”)"
        )

    def dbt_env(self) -> dict[str, str]:
        env = super().dbt_env()
        options = self._options("transform")
        # dbt-postgres takes no ``options``; libpq reads PGOPTIONS for every connection.
        return {**env, "PGOPTIONS": options} if options else env

    def tagged_dbt_target(self, step: str, run_id: str | None) -> dict[str, Any]:
        return {**self.dbt_target(), "application_name": self.tag(step, run_id)[:63]}

    def _pg(self, step: str = "basin", run_id: str | None = None) -> psycopg.Connection:
        try:
            return psycopg.connect(
                self._conninfo(step, run_id), connect_timeout=self.cfg.connect_timeout
            )
        except psycopg.OperationalError as exc:
            missing = re.search(r'database "([^"]+)" does not exist', str(exc))
            if missing:
                where = conninfo_to_dict(self.cfg.conninfo())
                name = missing.group(1)
                raise LoadError(
                    f"the PostgreSQL warehouse's database {name!r} does not exist on "
                    f"{where.get('host', 'localhost')}:{where.get('port', 5432)}",
                    hint=f"create it (as a role allowed to): createdb -h {where.get('host', 'localhost')} "
                    f"-p {where.get('port', 5432)} -U {where.get('user', 'postgres')} {name}"
                    f' — or in psql: CREATE DATABASE "{name}"; then run basin doctor again',
                ) from None
            if not unreachable(exc):  # the server answered no (role, password, database)
                raise LoadError(
                    f"cannot connect to the PostgreSQL warehouse {self.identity}: "
                    f"{str(exc).strip().splitlines()[0]}",
                    hint="check the user, password and database of environments.<env>."
                    "warehouse in basin.yml",
                ) from None
            # Unreachable (refused, reset, timed out): worth retrying, e.g. by Airflow.
            raise WarehouseUnavailable(
                f"cannot connect to the PostgreSQL warehouse {self.identity}: {str(exc).strip().splitlines()[0]}",
                hint="check environments.<env>.warehouse in basin.yml and that the server is running",
            ) from None
        except psycopg.Error as exc:
            raise LoadError(
                f"cannot connect to the PostgreSQL warehouse {self.identity}: {str(exc).strip().splitlines()[0]}",
                hint="check environments.<env>.warehouse in basin.yml and that the server is running",
            ) from None

    def loaded_batch_ids(self) -> set[str]:
        with self._pg() as conn:
            ledger = sql.Identifier(self.ledger_schema, "load_ledger")
            exists = conn.execute("select to_regclass(%s)", (ledger.as_string(conn),)).fetchone()
            if not exists or exists[0] is None:
                return set()
            query = sql.SQL("select batch_id from {}").format(ledger)
            return {r[0] for r in conn.execute(query).fetchall()}

    def load_batch(self, manifest: Manifest, urls: list[str], run_id: str | None) -> LoadResult:
        con = load.attach(self._conninfo("load", run_id), self.identity)
        try:
            self.lake.prepare(con)
            return duck_load.load_batch(con, self._place, manifest, urls, run_id)
        finally:
            con.close()

    def after_load(self, loaded: list[str], indexes: dict[str, list[list[str]]]) -> None:
        """Create the declared indexes that are missing, then ANALYZE the loaded raw
        tables at once: autovacuum would get to them minutes later, and dbt's next
        queries would be planned on no statistics (measured with 8.6M rows: a join
        planned at cost 63M, 0.3M after ANALYZE).

        Raises:
            LoadError: an index names a column the raw table does not have.
        """
        if not loaded and not any(indexes.values()):
            return
        with self._pg("load") as conn:
            conn.autocommit = True
            for table, specs in sorted(indexes.items()):
                schema, _, name = table.rpartition(".")
                found = conn.execute("select to_regclass(%s)", (table,)).fetchone()
                if not specs or found is None or found[0] is None:
                    continue  # not loaded yet: created after its first load
                for columns in specs:
                    index = _index_name(name, columns)
                    try:
                        conn.execute(
                            f"create index if not exists {quote_ident(index)} on "
                            f"{quote_ident(schema)}.{quote_ident(name)} "
                            f"({', '.join(quote_ident(c) for c in columns)})"
                        )
                    except psycopg.errors.UndefinedColumn as exc:
                        raise LoadError(
                            f"cannot index {table} on ({', '.join(columns)}): "
                            f"{str(exc).strip().splitlines()[0]}",
                            hint="fix `indexes:` of the entity in basin.yml (the rows are "
                            "loaded; the index is created on the next load)",
                        ) from None
            for table in loaded:
                schema, _, name = table.rpartition(".")
                conn.execute(
                    f"analyze {quote_ident(schema or self.raw_schema)}.{quote_ident(name)}"
                )

    def drop_raw(self, source: str, entity: str) -> None:
        con = load.attach(self.cfg.conninfo(), self.identity)
        try:
            duck_load.drop_raw(con, self._place, source, entity)
        finally:
            con.close()

    def replay(
        self,
        entities: ReplayPlan,
        run_id: str | None,
        after_batch: Callable[[LoadResult], None] | None = None,
    ) -> list[LoadResult]:
        # One PostgreSQL transaction through the attached database: DDL included.
        con = load.attach(self._conninfo("replay", run_id), self.identity)
        try:
            self.lake.prepare(con)
            return duck_load.replay(
                con, self._place, entities, run_id, after_batch, drop_tables=False
            )
        finally:
            con.close()

    def dbt_profile(self) -> tuple[dict[str, Any], dict[str, str]]:
        dbt = self.project.config.dbt
        return profile.dbt_target(self.cfg, dbt.target_schema, dbt.threads)

    def lineage_dataset(self, schema: str, table: str) -> tuple[str, str]:
        namespace, database = self.cfg.lineage_address()
        return namespace, f"{database}.{schema}.{table}"

    def sample(self, sql: str, limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self._pg() as conn:
            conn.read_only = True
            cur = conn.execute(f"select * from ({sql}) as basin_sample limit {int(limit)}")
            return [c.name for c in cur.description or []], cur.fetchall()

    def table_counts(self, schema: str) -> dict[str, int]:
        with self._pg() as conn:
            return publish.counts(conn, [schema])

    def row_counts(self, relations: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The planner's row estimate (``pg_class.reltuples``) of each analyzed table,
        as ``count(*)`` scans the whole table; a table never analyzed yet (just built)
        is counted exactly."""
        if not relations:
            return {}
        with self._pg() as conn:
            rows = conn.execute(
                """
                select n.nspname, c.relname, c.reltuples::bigint
                from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where c.relkind in ('r', 'p')
                  and (lower(n.nspname), lower(c.relname))
                      in (select * from unnest(%s::text[], %s::text[]))
                """,
                ([s.lower() for s, _ in relations], [t.lower() for _, t in relations]),
            ).fetchall()
            counts: dict[tuple[str, str], int] = {}
            for schema, table, estimate in rows:
                if estimate < 0:
                    found = conn.execute(
                        sql.SQL("select count(*) from {}.{}").format(
                            sql.Identifier(schema), sql.Identifier(table)
                        )
                    ).fetchone()
                    estimate = found[0] if found else 0
                counts[(schema.lower(), table.lower())] = int(estimate)
        return counts

    def drop_statements(self, kind: str, relations: list[tuple[str, str]]) -> list[str]:
        # PostgreSQL refuses to drop a view another view reads, unless both go in one
        # statement.
        if not relations:
            return []
        names = ", ".join(f"{quote_ident(s)}.{quote_ident(t)}" for s, t in relations)
        return [f"drop {kind} {names}"]

    def execute(self, statements: list[str]) -> None:
        with self._pg() as conn:  # one transaction: committed on leaving, else rolled back
            for statement in statements:
                conn.execute(statement.encode())

    def publish(
        self, schemas: list[str], run_id: str, governance: Governance | None = None
    ) -> PublishResult:
        return publish.swap_schemas(
            self._conninfo("publish", run_id),
            schemas,
            self.audit_suffix,
            run_id,
            f"{self.identity} schemas {', '.join(schemas)}",
            governance or {},
            self.ledger_schema,
        )

    def published_tables(self) -> dict[str, int] | None:
        with self._pg() as conn:
            schemas = self._published_schemas(conn)
            return publish.counts(conn, schemas) if schemas is not None else None

    def published_checksums(self) -> dict[str, tuple[int, str]]:
        with self._pg() as conn:
            schemas = self._published_schemas(conn)
            return publish.checksums(conn, schemas) if schemas is not None else {}

    def backup_published(self, folder: Path) -> list[str]:
        from basin.warehouses.postgres import backup

        with self._pg() as conn:
            schemas = self._published_schemas(conn)
        if schemas is None:
            raise TerminalError(
                f"nothing to back up: nothing is published in {self.identity} yet",
                hint="run `basin run` (or `basin publish`) first",
            )
        return backup.dump(
            self._conninfo("backup"),
            [*schemas, self.raw_schema, self.ledger_schema],
            folder,
            self.identity,
        )

    def restore_published(self, folder: Path, files: list[str]) -> PublishResult:
        from basin.warehouses.postgres import backup

        backup.restore(self._conninfo("restore"), folder, self.identity)
        return PublishResult(location=self.identity, tables=self.published_tables() or {})

    def _published_schemas(self, conn: psycopg.Connection) -> list[str] | None:
        """The schemas of the last publication; None if nothing was published."""
        publications = sql.Identifier(self.ledger_schema, "publications")
        exists = conn.execute("select to_regclass(%s)", (publications.as_string(conn),)).fetchone()
        if not exists or exists[0] is None:
            return None
        last = conn.execute(
            sql.SQL("select schemas from {} order by published_at desc limit 1").format(
                publications
            )
        ).fetchone()
        return list(last[0]) if last else None


__all__ = ["PostgresWarehouse"]


def _schema_comments(conn: psycopg.Connection, schemas: list[str]) -> dict[str, str]:
    """Schema → its comment ('' without one), for those of ``schemas`` that exist."""
    rows = conn.execute(
        "select nspname, coalesce(obj_description(oid, 'pg_namespace'), '') "
        "from pg_namespace where nspname = any(%s) order by nspname",
        ([s.lower() for s in schemas],),
    ).fetchall()
    return {schema: comment for schema, comment in rows}


def _foreign(comments: dict[str, str], mine: str) -> dict[str, str]:
    """Schema → ``project P, environment E`` for those another environment marked."""
    out = {}
    for schema, comment in comments.items():
        other = re.fullmatch(OWNER_PATTERN, comment)
        if other and comment != mine:
            out[schema] = f"project {other['project']}, environment {other['env']}"
    return out


def _owners(foreign: dict[str, str]) -> str:
    """``project P, environment E`` (and any other owners)."""
    return " and ".join(dict.fromkeys(foreign.values()))


def _index_name(table: str, columns: list[str]) -> str:
    """``<table>__<columns>_idx``, shortened with a hash past PostgreSQL's 63 bytes."""
    import hashlib

    name = f"{table}__{'_'.join(columns)}_idx"
    if len(name.encode()) <= 63:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name.encode()[:50].decode(errors='ignore')}_{digest}_idx"
