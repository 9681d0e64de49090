"""Dashboards as code without Superset: what `basin bi check` catches, what Basin
generates for Superset (database, datasets), and how an export is written back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from basin.bi.superset.assets import (
    DATABASE_FILE,
    DashboardError,
    bundle,
    dataset_uuid,
    write_export,
)
from basin.config import load_project
from basin.metadata.store import open_store


@pytest.fixture
def shop(project: Path):
    """The `basin init` project with one published table in its catalog."""
    loaded = load_project(project)
    store = open_store(f"sqlite:///{project / 'meta.db'}", env="dev")
    store.record_datasets(
        [
            {
                "key": "marts.daily_revenue",
                "kind": "model",
                "namespace": "duckdb://x",
                "name": "marts.daily_revenue",
                "columns": [("order_date", "DATE", "The day."), ("revenue", "DECIMAL", None)],
                "description": "One row per day.",
            },
            {
                "key": "published.marts.daily_revenue",
                "kind": "published",
                "namespace": "duckdb://published",
                "name": "marts.daily_revenue",
                "columns": [("order_date", "DATE"), ("revenue", "DECIMAL"), ("orders", "BIGINT")],
            },
        ]
    )
    yield project, loaded, store
    store.close()


def _chart(folder: Path, name: str, params: dict, dataset: str = "marts.daily_revenue") -> None:
    (folder / "charts").mkdir(parents=True, exist_ok=True)
    doc = {
        "slice_name": name,
        "viz_type": "table",
        "params": params,
        "uuid": f"00000000-0000-0000-0000-{abs(hash(name)) % 10**12:012d}",
        "version": "1.0.0",
        "dataset": dataset,
    }
    (folder / "charts" / f"{name}.yaml").write_text(yaml.safe_dump(doc))


def test_generated_datasets_carry_the_dbt_descriptions_and_charts_their_uuid(shop) -> None:
    root, project, store = shop
    _chart(root / "dashboards", "revenue", {"groupby": ["order_date"], "metrics": ["count"]})
    files, passwords = bundle(project, project, store)
    assert passwords == {}
    [dataset] = [yaml.safe_load(t) for p, t in files.items() if p.startswith("datasets/")]
    assert dataset["description"] == "One row per day."
    columns = {c["column_name"]: c for c in dataset["columns"]}
    assert columns["order_date"]["description"] == "The day." and columns["order_date"]["is_dttm"]
    assert set(columns) == {"order_date", "revenue", "orders"}  # the published columns
    chart = yaml.safe_load(files["charts/revenue.yaml"])
    assert "dataset" not in chart
    assert chart["dataset_uuid"] == dataset["uuid"] == dataset_uuid(project, "marts.daily_revenue")
    database = yaml.safe_load(files[DATABASE_FILE])
    assert database["sqlalchemy_uri"].endswith("/published/warehouse.duckdb")
    assert database["extra"]["engine_params"]["connect_args"] == {
        "read_only": True,
        "config": {"enable_external_access": False, "lock_configuration": True},
    }
    assert database["allow_dml"] is False and database["allow_file_upload"] is False


def test_check_names_each_chart_and_column_that_no_longer_fits(shop, cli) -> None:
    root, project, store = shop
    folder = root / "dashboards"
    _chart(folder, "ok", {"groupby": ["order_date"]})
    _chart(
        folder,
        "renamed",
        {
            "groupby": ["order_day"],
            "metrics": [
                {
                    "expressionType": "SIMPLE",
                    "column": {"column_name": "amount"},
                    "aggregate": "SUM",
                }
            ],
            "adhoc_filters": [
                {
                    "expressionType": "SIMPLE",
                    "subject": "status",
                    "operator": "==",
                    "comparator": "x",
                }
            ],
        },
    )
    _chart(folder, "gone", {"groupby": ["x"]}, dataset="marts.nope")
    _chart(
        folder,
        "sql",
        {
            "metrics": [{"expressionType": "SQL", "sqlExpression": "sum(anything)"}],
            "metric": "revenue_total",
        },
    )
    with pytest.raises(DashboardError) as caught:
        bundle(project, project, store)
    message = str(caught.value)
    assert "chart 'renamed'" in message
    for column in ("order_day", "amount", "status"):
        assert f"uses column {column!r}, which marts.daily_revenue does not have" in message
    assert "chart 'gone'" in message and "reads marts.nope, which is not published" in message
    assert "uses metric 'revenue_total'" in message  # a saved metric the dataset lacks
    assert "chart 'ok'" not in message and "sum(anything)" not in message
    assert message.startswith("5 problem(s)")


def test_a_dashboard_filter_on_a_missing_column_is_caught(shop) -> None:
    root, project, store = shop
    (root / "dashboards" / "dashboards").mkdir(parents=True)
    doc = {
        "dashboard_title": "Revenue",
        "uuid": "11111111-1111-1111-1111-111111111111",
        "position": {"CHART-a": {"type": "CHART", "meta": {"uuid": "x"}, "id": "CHART-a"}},
        "metadata": {
            "native_filter_configuration": [
                {
                    "name": "Status",
                    "targets": [{"dataset": "marts.daily_revenue", "column": {"name": "status"}}],
                }
            ]
        },
        "version": "1.0.0",
    }
    (root / "dashboards" / "dashboards" / "revenue.yaml").write_text(yaml.safe_dump(doc))
    with pytest.raises(DashboardError, match="filter 'Status' uses column 'status'"):
        bundle(project, project, store)
    doc["metadata"]["native_filter_configuration"][0]["targets"][0]["column"]["name"] = "revenue"
    (root / "dashboards" / "dashboards" / "revenue.yaml").write_text(yaml.safe_dump(doc))
    files, _ = bundle(project, project, store)
    built = yaml.safe_load(files["dashboards/revenue.yaml"])
    [aim] = built["metadata"]["native_filter_configuration"][0]["targets"]
    assert aim == {
        "datasetUuid": dataset_uuid(project, "marts.daily_revenue"),
        "column": {"name": "revenue"},
    }
    assert built["position"]["CHART-a"]["meta"]["chartId"] == 1  # import needs one


def test_broken_yaml_and_an_empty_catalog_say_what_to_do(shop, tmp_path: Path) -> None:
    root, project, store = shop
    (root / "dashboards" / "charts").mkdir(parents=True)
    (root / "dashboards" / "charts" / "bad.yaml").write_text("slice_name: [unclosed\n")
    with pytest.raises(DashboardError, match="bad.yaml is not valid YAML"):
        bundle(project, project, store)
    empty = open_store(f"sqlite:///{tmp_path / 'empty.db'}", env="dev")
    with pytest.raises(DashboardError, match="nothing is published") as caught:
        bundle(project, project, empty)
    assert "basin --env dev run" in (caught.value.hint or "")
    empty.close()


def test_postgres_needs_a_read_only_user_and_its_password_stays_out_of_the_yaml(
    shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, _, store = shop
    yml = root / "basin.yml"
    text = (
        yml.read_text()
        .replace("engine: duckdb", "engine: postgres")
        .replace("path: warehouse.duckdb", "host: 127.0.0.1")
    )
    assert "engine: postgres" in text
    yml.write_text(text)
    project = load_project(root)
    with pytest.raises(Exception, match="read-only user of the PostgreSQL warehouse") as caught:
        bundle(project, project, store)
    assert "bi.user" in (caught.value.hint or "")
    monkeypatch.setenv("BI_PASSWORD", "planted-s3cret-9f2")
    yml.write_text(
        text + "\naccess:\n  roles:\n    reader: {read: ['@published']}\n"
        "  users:\n    superset: {kind: service, roles: [reader], password: '${env:BI_PASSWORD}'}\n"
        "bi:\n  user: superset\n"
    )
    project = load_project(root)
    files, passwords = bundle(project, project, store)
    assert passwords == {DATABASE_FILE: "planted-s3cret-9f2"}
    assert "planted-s3cret-9f2" not in "".join(files.values())
    database = yaml.safe_load(files[DATABASE_FILE])
    assert database["sqlalchemy_uri"].startswith("postgresql+psycopg2://superset:XXXXXXXXXX@")
    # Without bi.user: the one service user holding the built-in read-only basin_bi role.
    yml.write_text(text + "\naccess:\n  users:\n    dash: {kind: service, roles: [basin_bi]}\n")
    project = load_project(root)
    files, passwords = bundle(project, project, store)
    assert passwords == {}  # no password: the server's own authentication (trust here)
    assert yaml.safe_load(files[DATABASE_FILE])["sqlalchemy_uri"].startswith(
        "postgresql+psycopg2://dash@127.0.0.1:5432/"
    )


def test_the_bi_workloads_settings_reach_superset_s_sessions(shop, pg_url: str) -> None:
    """warehouse.workloads.bi lands in the connection Superset is given, and PostgreSQL
    applies it (with the read-only default) to a session opened with it."""
    import psycopg2

    root, _, store = shop
    yml = root / "basin.yml"
    yml.write_text(
        yml.read_text()
        .replace("engine: duckdb", "engine: postgres")
        .replace(
            "path: warehouse.duckdb",
            f"dsn: '{pg_url}'\n      workloads: {{bi: {{statement_timeout: 7s, work_mem: 8MB}}}}",
        )
        + "\naccess:\n  users:\n    dash: {kind: service, roles: [basin_bi]}\n"
    )
    project = load_project(root)
    files, _ = bundle(project, project, store)
    options = yaml.safe_load(files[DATABASE_FILE])["extra"]["engine_params"]["connect_args"][
        "options"
    ]
    with psycopg2.connect(pg_url, options=options) as conn, conn.cursor() as cur:
        cur.execute("show statement_timeout")
        assert cur.fetchone() == ("7s",)
        cur.execute("show work_mem")
        assert cur.fetchone() == ("8MB",)
        cur.execute("show default_transaction_read_only")
        assert cur.fetchone() == ("on",)


def test_export_writes_charts_back_with_table_names_in_place(shop) -> None:
    root, project, store = shop
    folder = root / "dashboards"
    _chart(folder, "revenue", {"groupby": ["order_date"]})
    files, _ = bundle(project, project, store)
    chart = yaml.safe_load(files["charts/revenue.yaml"])
    chart["slice_name"] = "Revenue, renamed in the UI"
    exported = {
        "metadata.yaml": "version: 1.0.0\n",
        DATABASE_FILE: files[DATABASE_FILE],
        **{p: t for p, t in files.items() if p.startswith("datasets/")},
        "charts/Revenue_renamed_7.yaml": yaml.safe_dump(chart),
        "charts/New_one_8.yaml": yaml.safe_dump(
            {**chart, "uuid": "22222222-2222-2222-2222-222222222222", "slice_name": "New one"}
        ),
    }
    written = write_export(project, exported)
    assert sorted(p.relative_to(folder).as_posix() for p in written) == [
        "charts/new_one.yaml",
        "charts/revenue.yaml",  # same uuid: the same file
    ]
    back = yaml.safe_load((folder / "charts" / "revenue.yaml").read_text())
    assert back["dataset"] == "marts.daily_revenue" and "dataset_uuid" not in back
    assert back["slice_name"] == "Revenue, renamed in the UI"
    assert not (folder / "databases").exists() and not (folder / "datasets").exists()


def test_a_server_killed_behind_basins_back_is_forgotten(project: Path) -> None:
    from basin.bi.superset import server

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    state = server.home(project) / "serve.json"
    state.parent.mkdir(parents=True)
    state.write_text(
        json.dumps({"url": "http://127.0.0.1:1", "port": 1, "pid": dead.pid, "log": "x"})
    )
    assert server.running(project) is None and not state.exists()
    assert server.stop(project) is False


def test_a_publication_empties_the_chart_cache_but_keeps_its_folder(project: Path) -> None:
    from basin.bi.superset import server

    cache = server.cache_dir(project)
    cache.mkdir(parents=True)
    (cache / "2029a7f3e").write_bytes(b"old numbers")
    (cache / "__wz_cache_count").write_bytes(b"1")
    server.expire_cache(project)
    assert cache.is_dir() and not list(cache.iterdir())
