"""Load lake batches into PostgreSQL.

DuckDB attaches the database with its postgres extension and runs the same
transaction as on DuckDB itself (``warehouses/duckdb/load.py``): the INSERT becomes a
binary COPY streamed from the Parquet files (measured here: 10.6 s for 10M rows
against 11.6 s for a server-side COPY of the same data as CSV, at 190 MB), and the
DDL, rows and ledger entry commit in one PostgreSQL transaction.
"""

from __future__ import annotations

import duckdb

from basin.common.duckdb import harden, load_extension
from basin.common.errors import LoadError, WarehouseUnavailable, unreachable
from basin.common.sql import literal

CATALOG = "wh"


def attach(conninfo: str, display: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the warehouse attached read-write as ``wh``."""
    con = duckdb.connect()
    try:
        harden(con)
        con.execute("SET preserve_insertion_order = false")
        load_extension(con, "postgres_scanner")
        con.execute(f"ATTACH {literal(conninfo)} AS {CATALOG} (TYPE postgres)")
    except duckdb.Error as exc:
        con.close()
        kind = WarehouseUnavailable if unreachable(exc) else LoadError
        raise kind(
            f"cannot connect to the PostgreSQL warehouse {display}: {str(exc).strip().splitlines()[0]}",
            hint="check environments.<env>.warehouse in basin.yml and that the server is running",
        ) from None
    return con
