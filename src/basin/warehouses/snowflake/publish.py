"""SQL that publishes audited schemas on Snowflake with ``ALTER SCHEMA … SWAP WITH``.

Each swap is atomic and instant (metadata only). Snowflake DDL commits on its own,
so several published schemas swap one after the other, not all at once.
"""

from __future__ import annotations

from basin.common.sql import LEDGER_SCHEMA
from basin.warehouses.base import Governance


def publish_statements(
    schemas: list[str],
    suffix: str,
    run_id: str,
    warehouse: str,
    governance: Governance | None = None,
) -> list[str]:
    out = [f"USE WAREHOUSE {warehouse}"]
    for schema in schemas:
        before, after = (governance or {}).get(schema, ([], []))
        out += before  # policies and grants on the tables about to be published
        # The first publication swaps with an empty schema, which becomes the audit one.
        out.append(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        out.append(f"ALTER SCHEMA {schema}{suffix} SWAP WITH {schema}")
        out += after
    out.append(
        f"CREATE TABLE IF NOT EXISTS {LEDGER_SCHEMA}.publications "
        "(run_id VARCHAR PRIMARY KEY, published_at TIMESTAMP_TZ NOT NULL, schemas ARRAY)"
    )
    listed = ", ".join(f"'{s}'" for s in schemas)
    out.append(
        f"INSERT INTO {LEDGER_SCHEMA}.publications (run_id, published_at, schemas) "
        f"SELECT '{run_id}', CURRENT_TIMESTAMP(), ARRAY_CONSTRUCT({listed})"
    )
    return out
