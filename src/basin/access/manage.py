"""``basin access plan|apply|check``: the project's access policy against the
warehouse (PostgreSQL), and the grants each publish carries across its swap."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basin.common.errors import TerminalError

if TYPE_CHECKING:
    from collections.abc import Callable

    from basin.access.policy import Policy
    from basin.access.postgres import Change
    from basin.config import Project


@dataclass
class Report:
    """What ``basin access check`` found."""

    beyond: list[str] = field(default_factory=list)
    """Privileges on managed schemas that the policy does not give."""
    unused: list[str] = field(default_factory=list)
    """Roles nobody holds."""
    pii: dict[str, list[str]] = field(default_factory=dict)
    """Role → the PII columns it reads unmasked (``schema.table.column (pii: tag)``)."""
    pending: int = 0
    """Statements an apply would run."""
    notes: list[str] = field(default_factory=list)


def _snowflake(project: Project, wh: Any) -> tuple[Policy, list[Change]]:
    from basin.access import snowflake

    wanted = policy(project)
    wanted.notes.append(
        "Snowflake: the whole policy, not compared with the account (none is reachable "
        "here); run it in a worksheet as a role with MANAGE GRANTS — `basin access apply` "
        "does not run it yet"
    )
    keys = {
        user: cfg.public_key for user, cfg in project.config.access.users.items() if cfg.public_key
    }
    return wanted, snowflake.plan(wanted, wh.database, keys)


def _postgres(project: Project) -> str:
    from basin.warehouses.postgres.configuration import PostgresWarehouse

    wh = project.env.warehouse
    if not isinstance(wh, PostgresWarehouse):
        raise TerminalError(
            f"`basin access` manages PostgreSQL warehouses; environment {project.env_name} "
            f"uses {wh.engine}",
            hint="run it with --env <a PostgreSQL environment>. DuckDB has no roles (its "
            "published file is read by whoever can read the file; access.masking writes a "
            "masked copy); on Snowflake `basin access plan` prints the policy's SQL",
        )
    return wh.conninfo()


def _audit_suffix(project: Project) -> str:
    """The suffix of the schemas published ones are built in (engines that swap)."""
    return str(getattr(project.env.warehouse, "audit_suffix", "_audit"))


def policy(project: Project) -> Policy:
    from basin.access.policy import compile_policy
    from basin.transform.runner import built_relations

    target = project.state_path("dbt") / "target"
    built = {s for s, _ in built_relations(target)} if (target / "manifest.json").exists() else None
    return compile_policy(project, built, _audit_suffix(project))


def _connect(conninfo: str) -> Any:
    import psycopg

    try:
        return psycopg.connect(conninfo)
    except psycopg.OperationalError as exc:
        from basin.common.errors import WarehouseUnavailable
        from basin.common.redaction import redact

        raise WarehouseUnavailable(
            f"cannot reach the PostgreSQL warehouse: {redact(str(exc).strip().splitlines()[0])}",
            hint="check environments.<env>.warehouse.dsn and that the server runs",
        ) from None


def plan(project: Project) -> tuple[Policy, list[Change]]:
    """The statements that would bring the warehouse to the policy (Snowflake: the
    whole policy, compiled: there is no account to compare with)."""
    from basin.access import postgres
    from basin.warehouses.snowflake.configuration import SnowflakeWarehouse

    wh = project.env.warehouse
    if isinstance(wh, SnowflakeWarehouse):
        return _snowflake(project, wh)
    conninfo = _postgres(project)
    wanted = policy(project)
    with _connect(conninfo) as conn:
        owner = conn.execute("select current_user").fetchone()[0]
        return wanted, postgres.plan(wanted, postgres.live(conn, wanted), owner)


def apply(project: Project) -> tuple[Policy, list[Change]]:
    """Run the plan in one transaction (all or nothing); returns what ran."""
    from basin.access import postgres

    conninfo = _postgres(project)
    wanted = policy(project)
    with _connect(conninfo) as conn:
        owner = conn.execute("select current_user").fetchone()[0]
        changes = postgres.plan(wanted, postgres.live(conn, wanted), owner)
        try:
            for change in changes:
                conn.execute(change.sql.encode())
        except Exception as exc:
            conn.rollback()
            from basin.common.redaction import redact

            raise TerminalError(
                f"access apply failed, nothing was changed: {redact(str(exc).strip())}",
                hint="the warehouse user needs CREATEROLE and to own (or be granted with "
                "GRANT OPTION on) the schemas; `basin access plan` shows the statements",
            ) from None
    return wanted, changes


def check(project: Project) -> Report:
    """Least privilege: grants beyond the policy, roles nobody holds, pending changes."""
    from basin.access import postgres

    conninfo = _postgres(project)
    wanted = policy(project)
    with _connect(conninfo) as conn:
        owner = conn.execute("select current_user").fetchone()[0]
        server = postgres.live(conn, wanted)
        report = Report(
            beyond=postgres.beyond(wanted, server),
            pending=len(postgres.plan(wanted, server, owner)),
            notes=list(wanted.notes),
        )
    held = {role for roles in wanted.members.values() for role in roles}
    report.unused = sorted(set(wanted.roles.values()) - held)
    report.pii = _pii_readers(project, wanted)
    return report


def _pii_readers(project: Project, wanted: Policy) -> dict[str, list[str]]:
    """Who reads PII as it is: readers of a schema with PII columns (dbt ``meta: {pii}``),
    except in published tables whose masking hides it from them."""
    from basin.transform.runner import pii_columns

    suffix = _audit_suffix(project)
    out: dict[str, list[str]] = {}
    for (schema, table), columns in sorted(
        pii_columns(project.state_path("dbt") / "target").items()
    ):
        base = schema.removesuffix(suffix) if schema in wanted.audits else schema
        for column, tag in sorted(columns.items()):
            readers = wanted.readers(base)
            mask = wanted.mask(tag) if base in wanted.published else None
            if mask is not None:
                readers &= set(mask[1])
            for role in readers:
                out.setdefault(role, []).append(f"{base}.{table}.{column} (pii: {tag})")
    return out


def publish_governance(
    project: Project, schemas: list[str]
) -> dict[str, tuple[list[str], list[str]]]:
    """Per published schema, the statements its swap runs before and after renaming
    (PostgreSQL; each acts only on roles that exist); empty for other engines."""
    from basin.access import postgres
    from basin.warehouses.postgres.configuration import PostgresWarehouse
    from basin.warehouses.snowflake.configuration import SnowflakeWarehouse

    wh = project.env.warehouse
    if isinstance(wh, SnowflakeWarehouse):
        return _snowflake_governance(project, wh, schemas)
    if not isinstance(wh, PostgresWarehouse):
        return {}
    from basin.transform.runner import pii_columns

    wanted = policy(project)
    pii = pii_columns(project.state_path("dbt") / "target") if wanted.masks else {}
    out = {}
    for s in schemas:
        audit = s + wh.audit_suffix
        before, after = postgres.publish_statements(wanted, s, audit)
        tables = {t: cols for (schema, t), cols in pii.items() if schema == audit.lower()}
        masking = postgres.masking_statements(
            wanted, audit, tables, postgres.row_filters(wanted, s)
        )
        masked = {t for t, cols in tables.items() if any(wanted.mask(g) for g in cols.values())}
        rows = postgres.row_policy_statements(wanted, s, audit, masked)
        out[s] = (masking + rows + before, after)
    return out


"""Beside the published DuckDB snapshot: the same tables with PII masked."""


def publish_masked_copy(project: Project) -> Callable[[Path, str], Path] | None:
    """DuckDB: what writes, after a publish, the published snapshot again with every
    PII column masked (``access.masking``) for readers PII is not revealed to — called
    ``(published file, run id)``; None without masking or on other engines (they mask
    per reader: :func:`publish_governance`). The build's PII tags are read now, before
    anything is published."""
    from basin.transform.runner import pii_columns
    from basin.warehouses.duckdb.publish import MASKED_FILE, publish_masked

    access = project.config.access
    if project.env.warehouse.engine != "duckdb" or not access.masking:
        return None
    masks: dict[tuple[str, str], dict[str, str]] = {}
    for (schema, table), columns in pii_columns(project.state_path("dbt") / "target").items():
        if schema not in project.config.publish.schemas:
            continue
        for column, tag in columns.items():
            rule = access.mask_for(tag)
            if rule is not None:
                masks.setdefault((schema, table), {})[column] = rule.rule

    def write(published: Path, run_id: str) -> Path:
        target = published.with_name(MASKED_FILE)
        publish_masked(published, target, masks, run_id)
        return target

    return write


def _snowflake_governance(
    project: Project, wh: Any, schemas: list[str]
) -> dict[str, tuple[list[str], list[str]]]:
    """Snowflake: masking and row access policies and the readers' grants on the
    incoming schema, when ``access:`` names users (SQL only: not run against an account
    in Basin's tests)."""
    from basin.access import snowflake
    from basin.transform.runner import pii_columns

    if not project.config.access.users:
        return {}
    wanted = policy(project)
    pii = pii_columns(project.state_path("dbt") / "target") if wanted.masks else {}
    out = {}
    for s in schemas:
        audit = s + wh.audit_suffix
        tables = {t: c for (schema, t), c in pii.items() if schema == audit.lower()}
        out[s] = snowflake.publish_statements(wanted, wh.database, s, audit, tables)
    return out
