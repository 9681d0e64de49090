"""Defect 5: secrets never leak — not in what Basin prints, stores or sends.

A secret is planted in every secret-bearing field of basin.yml, each connection is
made to fail, and stdout, stderr and every file under .basin/ are searched for it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.reliability.conftest import basin

pytestmark = pytest.mark.e2e

SECRET = "Pl4nted-s3cret-Zq9"
"""Never a real credential: the servers these point at refuse the connection."""

REFUSED = "127.0.0.1:1"  # nothing listens on port 1


def _write(project: Path) -> None:
    (project / "basin.yml").write_text(
        f"""
project: leaky
environments:
  dev:
    warehouse: {{engine: duckdb, path: warehouse.duckdb}}
  pgwh:
    warehouse: {{engine: postgres, dsn: "postgresql://basin:${{env:WH_PASSWORD}}@{REFUSED}/wh"}}
  pgwh2:
    warehouse: {{engine: postgres, host: 127.0.0.1, port: 1, password: "${{env:WH_PASSWORD}}"}}
  meta:
    warehouse: {{engine: duckdb, path: warehouse.duckdb}}
    metadata: {{url: "postgresql+psycopg://basin:${{env:META_PASSWORD}}@{REFUSED}/meta"}}
sources:
  crm:
    kind: postgres
    dsn: "postgresql://basin:${{env:SRC_PASSWORD}}@{REFUSED}/crm"
    tables:
      customers: {{table: customers}}
  crm2:
    kind: postgres
    host: 127.0.0.1
    port: 1
    password: "${{env:SRC_PASSWORD}}"
    tables:
      customers: {{table: customers}}
  saas:
    kind: rest
    base_url: "http://{REFUSED}/api"
    auth: {{type: api_key, name: key, key: "${{env:API_KEY}}", location: query}}
    retries: {{max_attempts: 1}}
    endpoints:
      contacts: {{path: contacts}}
  saas2:
    kind: rest
    base_url: "http://{REFUSED}/api"
    auth: {{type: bearer, token: "${{env:API_TOKEN}}"}}
    retries: {{max_attempts: 1}}
    endpoints:
      contacts: {{path: contacts}}
  saas3:
    kind: rest
    base_url: "http://{REFUSED}/api"
    auth: {{type: basic, username: basin, password: "${{env:API_PASSWORD}}"}}
    retries: {{max_attempts: 1}}
    endpoints:
      contacts: {{path: contacts}}
lineage:
  transport: http
  url: "http://{REFUSED}"
  api_key: "${{env:LINEAGE_KEY}}"
dbt:
  project_dir: dbt
"""
    )
    dbt = project / "dbt"
    (dbt / "models").mkdir(parents=True)
    (dbt / "dbt_project.yml").write_text("name: leaky\nprofile: leaky\nversion: '1.0'\n")
    (dbt / "models" / "one.sql").write_text("select 1 as x\n")


SECRETS = {
    name: SECRET
    for name in (
        "WH_PASSWORD",
        "META_PASSWORD",
        "SRC_PASSWORD",
        "API_KEY",
        "API_TOKEN",
        "API_PASSWORD",
        "LINEAGE_KEY",
    )
}


def test_no_secret_in_output_metadata_or_lineage(tmp_path: Path) -> None:
    project = tmp_path / "leaky"
    project.mkdir()
    _write(project)
    outputs = []
    for args in (
        ("extract",),  # every source fails to connect; lineage's HTTP endpoint too
        ("run",),
        ("status",),
        ("--env", "pgwh", "load"),
        ("--env", "pgwh", "run"),
        ("--env", "pgwh2", "transform"),
        ("--env", "pgwh2", "replay"),
        ("--env", "meta", "status"),
        ("--env", "meta", "run"),
        ("doctor",),
        ("--env", "pgwh", "doctor"),
        ("-v", "extract", "--select", "crm"),  # --verbose prints tracebacks
        ("-v", "--env", "pgwh", "load"),
        ("--log-format", "json", "extract"),  # the machine-readable log, too
        ("--log-format", "json", "--env", "pgwh", "run"),
    ):
        proc = basin(project, *args, env=SECRETS)
        out, err = proc.communicate(timeout=600)
        outputs.append((args, proc.returncode, out, err))
    # Every command failed (so each error path ran) but status/doctor of dev.
    failed = {a for a, code, _, _ in outputs if code != 0}
    assert ("extract",) in failed and ("--env", "pgwh", "load") in failed
    assert ("--env", "meta", "run") in failed
    for args, _, out, err in outputs:
        assert SECRET not in out and SECRET not in err, (args, out, err)
    assert "internal error" not in "".join(e for _, _, _, e in outputs)

    leaked = [
        str(p) for p in project.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()
    ]
    assert leaked == [], leaked
    # Lineage events the unreachable receiver did not take are kept, without secrets.
    assert (project / ".basin/dev/openlineage/undelivered.jsonl").stat().st_size > 0
    # The errors were recorded, masked, where the user looks for them.
    status = basin(project, "status", env=SECRETS).communicate(timeout=600)[0]
    assert "failed" in status


def test_redaction_masks_known_values_and_secret_shapes() -> None:
    from basin.common.redaction import redact, register

    register(["hunter2-but-longer"])
    assert redact("auth failed for hunter2-but-longer!") == "auth failed for ***!"
    assert redact("postgresql://u:p%40ss@db:5432/x") == "postgresql://u:***@db:5432/x"
    assert redact("host=db password='a b c' user=x") == "host=db password=*** user=x"
    assert redact("GET /v1?api_key=abc123&page=2") == "GET /v1?api_key=***&page=2"
    assert redact("Authorization: Bearer eyJhbGciOi.x-y") == "Authorization: Bearer ***"
    assert redact("nothing here: 5432 rows") == "nothing here: 5432 rows"
    # A config error naming a secret field is not mistaken for a value.
    message = "lineage.api_key: environment variable KEY is not set"
    assert redact(message) == message
    assert os.environ.get("NOT_SET_ANYWHERE") is None
