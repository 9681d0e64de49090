"""Back up and restore a PostgreSQL warehouse with the server's own tools.

``pg_dump`` writes the published schemas, ``raw`` and ``_basin`` (the load ledger and
the publication record: what raw holds and what was published stay consistent) in its
custom format. A restore turns the dump into SQL with ``pg_restore`` and runs it with
``psql`` in one transaction after dropping those schemas: the warehouse is the
backup's or, if anything fails, unchanged. The audit schemas are not kept: the next
build makes them again. The password reaches the tools in ``PGPASSWORD``, never on a
command line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import TYPE_CHECKING

from basin.common.errors import TerminalError
from basin.common.redaction import redact
from basin.common.sql import quote_ident

if TYPE_CHECKING:
    from pathlib import Path

DUMP_FILE = "warehouse.pgdump"
SCHEMAS_FILE = "warehouse-schemas.json"
TIMEOUT = 6 * 3600


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise TerminalError(
            f"{name} is not installed: backing up and restoring a PostgreSQL warehouse "
            "uses the server's own tools",
            hint="install PostgreSQL's client programs (Debian: apt-get install "
            "postgresql-client), of the server's major version or newer",
        )
    return found


def _connection(conninfo: str) -> tuple[str, dict[str, str]]:
    """The connection string without its password, and the environment carrying it."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    parts = {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if v is not None}
    env = dict(os.environ)
    password = parts.pop("password", None)
    if password:
        env["PGPASSWORD"] = password
    return make_conninfo("", **parts), env


def _run(args: list[str], env: dict[str, str], what: str, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(
        args, input=stdin, env=env, capture_output=True, timeout=TIMEOUT, check=False
    )
    if done.returncode != 0:
        err = redact(done.stderr.decode("utf-8", "replace").strip())
        raise TerminalError(f"{what} failed: {err[-2000:]}")
    return done.stdout


def dump(conninfo: str, schemas: list[str], folder: Path, identity: str) -> list[str]:
    """Write ``schemas`` into ``folder/warehouse.pgdump``."""
    dsn, env = _connection(conninfo)
    args = [_tool("pg_dump"), "--format=custom", f"--file={folder / DUMP_FILE}"]
    args += [f"--schema={quote_ident(s)}" for s in schemas]
    _run([*args, f"--dbname={dsn}"], env, f"pg_dump of {identity}")
    (folder / SCHEMAS_FILE).write_text(json.dumps(schemas))
    return [DUMP_FILE, SCHEMAS_FILE]


def restore(conninfo: str, folder: Path, identity: str) -> None:
    """Replace the dumped schemas with the dump's, in one transaction."""
    dsn, env = _connection(conninfo)
    schemas = json.loads((folder / SCHEMAS_FILE).read_text())
    script = _run(
        [_tool("pg_restore"), "--file=-", str(folder / DUMP_FILE)],
        env,
        f"reading the dump {folder / DUMP_FILE}",
    )
    drops = "".join(f"DROP SCHEMA IF EXISTS {quote_ident(s)} CASCADE;\n" for s in schemas)
    _run(
        [
            _tool("psql"),
            "--no-psqlrc",
            "--quiet",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
            f"--dbname={dsn}",
            "--file=-",
        ],
        env,
        f"restoring {identity}",
        stdin=drops.encode() + script,
    )
