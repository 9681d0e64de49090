"""Publish on PostgreSQL: swap each audited schema with its published one in one transaction.

dbt builds a published schema ``marts`` as ``marts_audit``. When the gate passes,
one transaction renames ``marts`` → ``marts__basin_swap``, ``marts_audit`` → ``marts``
and ``marts__basin_swap`` → ``marts_audit``. Readers see the old schema until the
commit and the new one after it; nothing is copied. The previous publication is
left as the audit schema, which the next build replaces (incremental models build
on it: it is the last good state).
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from basin.common import faults
from basin.common.errors import PublishError
from basin.warehouses.base import MASKED_SUFFIX, Governance, PublishResult

SWAP = "__basin_swap"


def _schemas(conn: psycopg.Connection) -> set[str]:
    return {r[0] for r in conn.execute("select nspname from pg_namespace").fetchall()}


def counts(conn: psycopg.Connection, schemas: list[str]) -> dict[str, int]:
    return {
        name: int(found[0]) if found else 0
        for name, found in _each(conn, schemas, "select count(*) from {}").items()
    }


CHECKSUM = (
    "select count(*), coalesce(md5(string_agg(h, ',' order by h)), '') "
    "from (select md5(t::text) as h from {} as t) as rows"
)
"""Rows and an order-independent digest of a table (each row's text, hashed, sorted)."""


def checksums(conn: psycopg.Connection, schemas: list[str]) -> dict[str, tuple[int, str]]:
    """``schema.table`` → (rows, digest) of every published table of ``schemas``."""
    return {
        name: (int(found[0]), str(found[1]))
        for name, found in _each(conn, schemas, CHECKSUM).items()
        if found
    }


def _each(conn: psycopg.Connection, schemas: list[str], query: str) -> dict[str, Any]:
    """``query`` (``{}`` = the relation) over each published table of ``schemas``."""
    out: dict[str, Any] = {}
    rows = conn.execute(
        """
        select table_schema, table_name from information_schema.tables
        where table_schema = any(%s) and table_name not like %s order by 1, 2
        """,
        (schemas, "%" + MASKED_SUFFIX.replace("_", "\\_")),
    ).fetchall()
    for schema, name in rows:
        relation = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))
        out[f"{schema}.{name}"] = conn.execute(sql.SQL(query).format(relation)).fetchone()
    return out


def swap_schemas(
    conninfo: str,
    schemas: list[str],
    suffix: str,
    run_id: str,
    location: str,
    governance: Governance,
    ledger: str,
) -> PublishResult:
    try:
        with psycopg.connect(conninfo) as conn:
            # Fail fast rather than queue behind a long reader holding a lock.
            conn.execute("set local lock_timeout = '30s'")
            present = _schemas(conn)
            missing = [s + suffix for s in schemas if s + suffix not in present]
            if missing:
                raise PublishError(
                    f"cannot publish: audit schema(s) {', '.join(missing)} not found",
                    hint="run `basin transform` first; models of published schemas build into "
                    "<schema>" + suffix + " (Basin's generate_schema_name macro)",
                )
            for schema in schemas:
                published, audit, swap = (
                    sql.Identifier(n) for n in (schema, schema + suffix, schema + SWAP)
                )
                before, after = governance.get(schema, ([], []))
                for statement in before:  # the grants, on the tables about to be published
                    conn.execute(statement.encode())
                if schema in present:
                    conn.execute(sql.SQL("alter schema {} rename to {}").format(published, swap))
                conn.execute(sql.SQL("alter schema {} rename to {}").format(audit, published))
                if schema in present:
                    conn.execute(sql.SQL("alter schema {} rename to {}").format(swap, audit))
                    for statement in after:  # readers lose the publication swapped out
                        conn.execute(statement.encode())
            conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(ledger)))
            publications = sql.Identifier(ledger, "publications")
            conn.execute(
                sql.SQL(
                    "create table if not exists {} (run_id text primary key, "
                    "published_at timestamptz not null default now(), schemas text[])"
                ).format(publications)
            )
            conn.execute(
                sql.SQL("insert into {} (run_id, schemas) values (%s, %s)").format(publications),
                (run_id, schemas),
            )
            tables = counts(conn, schemas)
            faults.point("publish.before_swap")
            conn.commit()
    except psycopg.Error as exc:
        raise PublishError(
            f"swapping schemas {', '.join(schemas)} failed: {str(exc).strip().splitlines()[0]}",
            hint="the transaction was rolled back: the previous publication is untouched",
        ) from None
    return PublishResult(location=location, tables=tables)
