"""Load DuckDB extensions from the PyPI packages of the pinned DuckDB version.

DuckDB's extension server is not reachable here (and should not be needed in
production either): ``duckdb-extension-<name>==1.5.5`` ships each extension file,
which is installed into DuckDB's extension folder once and loaded from there.
"""

from __future__ import annotations

import duckdb

from basin.common.errors import TerminalError
from basin.common.sql import literal

PACKAGES = {
    "postgres_scanner": "duckdb-extension-postgres-scanner",
    "sqlite_scanner": "duckdb-extension-sqlite-scanner",
}
HINTS = {"httpfs": "pip install 'basin[s3]'"}


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
            hint=HINTS.get(name)
            or f"pip install '{package}=={duckdb.__version__}' (Basin pins DuckDB {duckdb.__version__})",
        ) from None


def s3_secret(
    con: duckdb.DuckDBPyConnection,
    *,
    name: str,
    scope: str,
    endpoint_url: str | None,
    region: str | None,
    url_style: str,
) -> None:
    """A TEMPORARY S3 secret in ``con``'s DuckDB instance (gone when it closes; never
    on disk) from the credentials botocore's chain resolves now: environment, shared
    profile, or the instance/task role."""
    from urllib.parse import urlsplit

    try:
        import botocore.session
    except ImportError:
        raise TerminalError(
            "the lake is on S3 but botocore is not installed", hint="pip install 'basin[s3]'"
        ) from None
    session = botocore.session.get_session()
    credentials = session.get_credentials()
    if credentials is None:
        raise TerminalError(
            f"no AWS credentials for {scope}: Basin takes them from the AWS chain only",
            hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE), "
            "or run with an instance or task role",
        )
    frozen = credentials.get_frozen_credentials()
    options = {
        "TYPE": "s3",
        "KEY_ID": literal(frozen.access_key),
        "SECRET": literal(frozen.secret_key),
        "REGION": literal(region or session.get_config_variable("region") or "us-east-1"),
        "URL_STYLE": literal(url_style),
        "SCOPE": literal(scope),
    }
    if frozen.token:
        options["SESSION_TOKEN"] = literal(frozen.token)
    if endpoint_url:
        url = urlsplit(endpoint_url)
        options["ENDPOINT"] = literal(url.netloc + url.path.rstrip("/"))
        options["USE_SSL"] = "true" if url.scheme == "https" else "false"
    listed = ", ".join(f"{key} {value}" for key, value in options.items())
    try:
        con.execute(f"CREATE OR REPLACE TEMPORARY SECRET {name} ({listed})")
    except duckdb.Error as exc:
        message = str(exc).strip()
        for value in (frozen.secret_key, frozen.token, frozen.access_key):
            if value:
                message = message.replace(value, "***")
        raise TerminalError(f"cannot give DuckDB access to {scope}: {message}") from None
