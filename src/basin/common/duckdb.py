"""Load DuckDB extensions from the PyPI packages of the pinned DuckDB version.

DuckDB's extension server is not reachable here (and should not be needed in
production either): ``duckdb-extension-<name>==1.5.5`` ships each extension file,
which is installed into DuckDB's extension folder once and loaded from there.
"""

from __future__ import annotations

import duckdb

from basin.common.errors import TerminalError

PACKAGES = {
    "postgres_scanner": "duckdb-extension-postgres-scanner",
    "sqlite_scanner": "duckdb-extension-sqlite-scanner",
}


def harden(con: duckdb.DuckDBPyConnection) -> None:
    """Never try to download an extension at run time (it would hang on a closed network)."""
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """``LOAD name``, installing it from its PyPI package first if needed."""
    try:
        con.execute(f"LOAD {name}")
        return
    except duckdb.Error:
        pass
    try:
        from duckdb_extensions import import_extension

        import_extension(name, con=con)
        con.execute(f"LOAD {name}")
    except (ImportError, ModuleNotFoundError, duckdb.Error) as exc:
        package = PACKAGES.get(name, f"duckdb-extension-{name.replace('_', '-')}")
        raise TerminalError(
            f"cannot load the DuckDB extension {name}: {exc}",
            hint=f"pip install '{package}=={duckdb.__version__}' (Basin pins DuckDB {duckdb.__version__})",
        ) from None
