"""Superset 6.1, really started by `basin bi serve`, over the reference platform's
published marts: the reference dashboards import (twice, converging), every chart's
numbers through Superset's REST API equal a direct query of the published snapshot,
a new publication is seen at once (no stale cache), SQL Lab cannot read host files,
and an export writes the dashboards back as code."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.conftest import superset_venv
from tests.e2e.test_run import basin_cli, generate

pytestmark = [pytest.mark.superset, pytest.mark.slow]


def _drop_roles(pg_url: str, pg_database: str, names: dict[str, str]) -> None:
    """Roles are shared by the whole server: drop what the test's access apply made."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        found = [
            r[0]
            for r in conn.execute(
                "select rolname from pg_roles where rolname like %s or rolname = %s",
                (names["prefix"].replace("_", "\\_") + "%", names["user"]),
            )
        ]
    if not found:
        return
    quoted = ", ".join(f'"{r}"' for r in found)
    for url in (pg_database, pg_url):
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"drop owned by {quoted}")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for role in found:
            conn.execute(f'drop role if exists "{role}"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _query_context(params: dict) -> dict:
    """What Superset's frontend asks for a chart, from the chart's saved params (the
    viz types of the reference dashboards)."""
    ds_id, ds_type = params["datasource"].split("__")
    metrics = params.get("metrics") or ([params["metric"]] if params.get("metric") else [])
    columns: list = list(params.get("groupby") or [])
    if params.get("x_axis"):
        columns.insert(
            0,
            {
                "timeGrain": params.get("time_grain_sqla"),
                "columnType": "BASE_AXIS",
                "sqlExpression": params["x_axis"],
                "label": params["x_axis"],
                "expressionType": "SQL",
            },
        )
    filters = [
        {"col": f["subject"], "op": f["operator"], "val": f.get("comparator")}
        for f in params.get("adhoc_filters") or []
        if f.get("expressionType") == "SIMPLE"
    ]
    return {
        "datasource": {"id": int(ds_id), "type": ds_type},
        "queries": [
            {"columns": columns, "metrics": metrics, "filters": filters, "row_limit": 10000}
        ],
        "result_format": "json",
        "result_type": "full",
    }


# What each reference chart shows, computed straight from the published snapshot.
EXPECTED = {
    "Customers": "select count(*) as count from marts.customer_360",
    "Total balance": 'select sum(total_balance) as "Total balance" from marts.customer_360',
    "Customers by segment": 'select segment, count(*) as count, sum(lifetime_order_value) as "Order value", sum(total_balance) as "Balance" from marts.customer_360 group by all',
    "Churn risk": "select churn_risk_band, count(*) as count from marts.customer_360 group by all",
    "Dormant accounts": "select count(*) as count from marts.account_transaction_summary where is_dormant",
    "Accounts by type": 'select account_type, account_status, count(*) as count, sum(balance) as "Balance", sum(transaction_count) as "Transactions" from marts.account_transaction_summary group by all',
    "Campaign engagement": 'select campaign_name, sum(sent_count) as "Sent", sum(opened_count) as "Opened", sum(clicked_count) as "Clicked" from marts.email_engagement_by_campaign group by all',
    "Emails opened": 'select sum(opened_count) as "Opened" from marts.email_engagement_by_campaign',
    "Revenue by month": "select epoch_ms(date_trunc('month', order_month)::timestamp)::double as order_month, sum(revenue) as \"Revenue\" from marts.order_metrics_monthly group by all",
}


def _normal(rows: list[dict]) -> list[tuple]:
    def value(v: object) -> object:
        if isinstance(v, Decimal | float):
            return round(float(v), 2)
        return v

    return sorted(tuple((k, value(v)) for k, v in sorted(r.items())) for r in rows)


def _direct(published: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(published), read_only=True) as con:
        out = {}
        for chart, sql in EXPECTED.items():
            cur = con.execute(sql)
            names = [d[0] for d in cur.description]
            out[chart] = _normal([dict(zip(names, row, strict=True)) for row in cur.fetchall()])
        return out


def _through_superset(client) -> dict[str, list[tuple]]:  # noqa: ANN001
    out = {}
    for chart in client.get("/api/v1/chart/", q="(page_size:100)")["result"]:
        params = json.loads(client.get(f"/api/v1/chart/{chart['id']}")["result"]["params"])
        out[chart["slice_name"]] = _normal(client.chart_data(_query_context(params)))
    return out


def test_reference_dashboards_in_a_real_superset(
    reference: Path, request: pytest.FixtureRequest, pg_url: str, pg_database: str
) -> None:
    from basin.bi.superset import server
    from basin.bi.superset.client import Superset, SupersetError

    port = _free_port()
    yml = reference / "basin.yml"
    yml.write_text(yml.read_text() + f"\nbi:\n  port: {port}\n")
    env = {"BASIN_SUPERSET_VENV": str(superset_venv(request.config))}
    generate(reference, "--scale", "0.005")
    done = basin_cli(reference, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    checked = basin_cli(reference, "bi", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "3 dashboard(s) and 9 chart(s)" in checked.stdout

    # Two `basin bi serve` at once (a double click, two terminals): one Superset.
    both = [
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "basin"),
                "--project",
                str(reference),
                "bi",
                "serve",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, **env},
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=900)[0] for p in both]
    roles: dict[str, str] = {}
    try:
        assert [p.returncode for p in both] == [0, 0], outputs
        assert sum("already running" in out for out in outputs) == 1, outputs
        assert all(f"http://127.0.0.1:{port}" in out for out in outputs)
        assert all("imported 3 dashboard(s), 9 chart(s) and 5 dataset(s)" in o for o in outputs)
        # Importing again converges: nothing is duplicated (both serves imported too).
        applied = basin_cli(reference, "bi", "apply", env=env)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        published = reference / ".basin/dev/published/warehouse.duckdb"
        password = (reference / ".basin/superset/admin-password").read_text().strip()
        with Superset(f"http://127.0.0.1:{port}", "admin", password) as client:
            assert client.get("/api/v1/dashboard/")["count"] == 3
            assert client.get("/api/v1/chart/")["count"] == 9
            assert client.get("/api/v1/database/")["count"] == 1
            # Datasets follow dbt: the model's description and column descriptions.
            datasets = client.get("/api/v1/dataset/", q="(page_size:100)")["result"]
            [c360] = [d for d in datasets if d["table_name"] == "customer_360"]
            detail = client.get(f"/api/v1/dataset/{c360['id']}")["result"]
            assert detail["description"].startswith("Grain: one row per customer")
            columns = {c["column_name"]: c["description"] for c in detail["columns"]}
            assert columns["email"] == "Customer e-mail address."

            # Every chart's numbers are the published marts' numbers.
            first = _through_superset(client)
            assert first == _direct(published)
            assert _through_superset(client) == first  # the second time from the cache

            # SQL Lab reads the marts, and nothing else on this machine.
            [database] = client.get("/api/v1/database/")["result"]
            assert client.sql(database["id"], "select count(*) as n from marts.customer_360") == [
                {"n": 100}
            ]
            for attempt in (
                "select * from read_csv('/etc/passwd')",
                "set enable_external_access = true",
                f"attach '{reference / '.basin/dev/warehouse.duckdb'}' as private",
            ):
                with pytest.raises(SupersetError, match="disabled by configuration|locked"):
                    client.sql(database["id"], attempt)

            # A new publication is what the next chart query sees.
            generate(reference, "--scale", "0.005", "--add-day")
            again = basin_cli(reference, "run")
            assert again.returncode == 0, again.stdout + again.stderr
            second = _through_superset(client)
            assert second == _direct(published)
            assert second["Customers"] != first["Customers"]

        # What is in Superset goes back into dashboards/ as code.
        exported = basin_cli(reference, "bi", "export", env=env)
        assert exported.returncode == 0, exported.stdout + exported.stderr
        folder = reference / "dashboards"
        assert not (folder / "databases").exists()
        charts = [yaml.safe_load(p.read_text()) for p in (folder / "charts").glob("*.yaml")]
        assert len(charts) == 9 and all(c["dataset"].startswith("marts.") for c in charts)
        assert len(list((folder / "dashboards").glob("*.yaml"))) == 3
        assert basin_cli(reference, "bi", "check").returncode == 0

        # The same dashboards on the PostgreSQL warehouse, read as a service user holding
        # the built-in read-only basin_bi role (`basin access apply` creates it).
        tag = uuid.uuid4().hex[:8]
        roles.update(prefix=f"t{tag}_", user=f"bi_{tag}")
        yml.write_text(
            yml.read_text() + f"\naccess:\n  role_prefix: t{tag}_\n  users:\n"
            f"    bi_{tag}: {{kind: service, roles: [basin_bi]}}\n"
        )
        on_pg = {**env, "BASIN_WAREHOUSE_DSN": pg_database}
        for step in (("run",), ("access", "apply"), ("bi", "apply")):
            done = basin_cli(reference, "--env", "postgres", *step, env=on_pg)
            assert done.returncode == 0, (step, done.stdout + done.stderr)
        with Superset(f"http://127.0.0.1:{port}", "admin", password) as client:
            [database] = client.get("/api/v1/database/")["result"]
            assert database["backend"] == "postgresql"
            assert _through_superset(client) == _direct(published)  # PG's marts = DuckDB's
            with pytest.raises(SupersetError, match="does not allow for DDL/DML"):
                client.sql(database["id"], "create table marts.sneaky (x int)")
            # Superset logs in as the read-only role: the published marts, nothing else.
            with pytest.raises(SupersetError, match="permission denied for schema raw"):
                client.sql(database["id"], "select * from raw.finance__customers")
    finally:
        stopped = basin_cli(reference, "bi", "serve", "--stop", env=env)
        if roles:
            _drop_roles(pg_url, pg_database, roles)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert server.running(reference) is None
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
    for secret in ("admin-password", "secret-key"):
        assert (reference / ".basin/superset" / secret).stat().st_mode & 0o077 == 0
