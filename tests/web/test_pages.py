"""The web UI's pages over a metadata store written through the store's own API:
each page renders what the store holds, misuse gets a clear page, and nothing a
source or a check wrote can inject markup."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from basin.metadata.store import MetadataStore, open_store
from basin.web.app import Environment, Site, create_app

EVIL = "<script>alert('x')</script>"


def _history(store: MetadataStore, runs: int = 3) -> dict[str, str]:
    """Runs with steps, batches, dbt nodes, checks (one failing, with a sample),
    catalog entries, lineage, a publication and an incident with a delivery."""
    ids: dict[str, str] = {}
    for i in range(runs):
        run_id = store.start_run("run")
        step = store.start_step(run_id, "extract")
        batch = f"b{i}"
        store.begin_batch(batch, "crm", "customers", run_id, f"/lake/{batch}", {})
        store.complete_batch(batch, row_count=100 + i, quarantined_rows=i)
        store.finish_step(step, "success", rows=100 + i)
        step = store.start_step(run_id, "transform")
        started = datetime.now(UTC).isoformat()
        store.finish_step(
            step,
            "success",
            detail={
                "nodes": {"success": 2},
                "select": None,
                "models": [
                    ["model.shop.stg_crm__customers", "success", started, 0.5, None],
                    ["model.shop.customer_360", "success", started, 1.25, 42],
                ],
            },
        )
        status = "fail" if i == runs - 1 else "pass"
        store.record_checks(
            run_id,
            [
                {
                    "unique_id": "test.shop.not_null_customer_360_email",
                    "name": "not_null_customer_360_email",
                    "model": "customer_360",
                    "column_name": "email",
                    "severity": "error",
                    "status": status,
                    "failures": 2 if status == "fail" else 0,
                    "message": EVIL if status == "fail" else None,
                    "sample": json.dumps(
                        {"columns": ["customer_id", "email"], "rows": [[7, EVIL], [8, None]]}
                    )
                    if status == "fail"
                    else None,
                }
            ],
        )
        store.finish_run(run_id, "success" if status == "pass" else "failed", error=None)
        ids[f"run{i}"] = run_id
        if status == "pass":
            store.record_publication(
                run_id, "/published/warehouse.duckdb", {"marts.customer_360": 42}
            )
    store.record_datasets(
        [
            {
                "key": "source.crm.customers",
                "kind": "source",
                "namespace": "postgres://crm",
                "name": "public.customers",
                "columns": [("id", "integer"), ("email_address", "text")],
            },
            {
                "key": "marts.customer_360",
                "kind": "model",
                "namespace": "duckdb://wh",
                "name": "marts.customer_360",
                "columns": [
                    ("customer_id", "integer", "The customer."),
                    ("email", "varchar", EVIL),
                ],
                "description": "One row per customer.",
                "rows": 42,
            },
            {
                "key": "published.marts.customer_360",
                "kind": "published",
                "namespace": "duckdb://published",
                "name": "marts.customer_360",
                "columns": [("customer_id", "integer"), ("email", "varchar")],
                "rows": 42,
            },
        ]
    )
    store.replace_lineages(
        [
            (
                "marts.customer_360",
                "transform",
                [
                    (None, "source.crm.customers", None),
                    ("email", "source.crm.customers", "email_address"),
                    ("customer_id", "source.crm.customers", "id"),
                ],
            ),
            (
                "published.marts.customer_360",
                "publish",
                [(None, "marts.customer_360", None), ("email", "marts.customer_360", "email")],
            ),
        ]
    )
    incident, _ = store.open_incident(
        "gate_failed",
        f"the gate failed: {EVIL}",
        source="basin",
        entity="gate",
        run_id=ids[f"run{runs - 1}"],
    )
    store.record_delivery(incident.id, "slack", "trigger", "sent", 1)
    ids["incident"] = str(incident.id)
    return ids


@pytest.fixture
def site(tmp_path: Path) -> tuple[Site, dict[str, str]]:
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    store = open_store(url, env="dev")
    ids = _history(store)
    store.close()
    site = Site(
        project="shop",
        environments={
            "dev": Environment("dev", url),
            "prod": Environment("prod", f"sqlite:///{tmp_path / 'prod' / 'meta.db'}"),
        },
        default_env="dev",
        links={"Airflow": "http://127.0.0.1:8080"},
    )
    yield site, ids
    site.close()


@pytest.fixture
def client(site: tuple[Site, dict[str, str]]) -> TestClient:
    return TestClient(create_app(site[0]))


def test_every_page_renders_what_the_store_holds(client: TestClient, site) -> None:
    _, ids = site
    pages = {
        "/": ["Last run", ids["run2"], "1 open"],
        "/runs": [ids["run0"], ids["run1"], ids["run2"], "failed"],
        f"/runs/{ids['run2']}": [
            "crm.customers",
            "model.shop.customer_360",
            "Timeline",
            "not_null_customer_360_email",
        ],
        "/tables": ["marts.customer_360", "42", "crm.customers"],
        "/quality": ["not_null_customer_360_email", "fail"],
        "/quality/test.shop.not_null_customer_360_email": ["History", "customer_id", "null"],
        "/lineage": ["graph-data", "published.marts.customer_360"],
        "/catalog?q=email": ["marts.customer_360", "email_address"],
        "/datasets/marts.customer_360": [
            "source.crm.customers.email_address",
            "One row per customer.",
        ],
        "/incidents": ["gate_failed"],
        f"/incidents/{ids['incident']}": ["slack", "trigger"],
    }
    for path, expected in pages.items():
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        for text in expected:
            assert text in response.text, (path, text)
        assert EVIL not in response.text, f"{path} renders stored text as markup"
    assert "http://127.0.0.1:8080" in client.get("/").text


def test_lineage_api_gives_the_graph_and_a_datasets_column_lineage(client: TestClient) -> None:
    graph = client.get("/api/lineage").json()
    nodes = {n["id"]: n["layer"] for n in graph["nodes"]}
    assert nodes == {
        "source.crm.customers": "source",
        "marts.customer_360": "warehouse",
        "published.marts.customer_360": "published",
    }
    assert {(e["source"], e["target"]) for e in graph["edges"]} == {
        ("source.crm.customers", "marts.customer_360"),
        ("marts.customer_360", "published.marts.customer_360"),
    }
    columns = {
        c["name"]: c for c in client.get("/api/datasets/marts.customer_360").json()["columns"]
    }
    assert columns["email"]["up"] == [["source.crm.customers", "email_address", "transform"]]
    assert columns["email"]["down"] == [["published.marts.customer_360", "email", "publish"]]
    missing = client.get("/api/datasets/marts.nope")
    assert missing.status_code == 404 and "marts.nope" in missing.json()["error"]


def test_search_finds_a_column_by_name_and_says_when_nothing_matches(client: TestClient) -> None:
    found = client.get("/catalog", params={"q": "email_addr"}).text
    assert "source.crm.customers" in found and "marts.customer_360</a>" not in found
    nothing = client.get("/catalog", params={"q": "zzz-nothing"}).text
    assert "Nothing matches zzz-nothing" in nothing


def test_unknown_things_get_a_page_naming_them(client: TestClient) -> None:
    for path, text in {
        "/runs/20990101T000000-nope": "no run 20990101T000000-nope",
        "/incidents/999999": "no incident 999999",
        "/datasets/marts.nope": "no dataset marts.nope",
        "/quality/test.nope": "no results for the check test.nope",
        "/?env=staging": "no environment named &#39;staging&#39;",
    }.items():
        response = client.get(path)
        assert response.status_code == 404, path
        assert text in response.text, (path, response.text[:300])
    assert client.get("/incidents/not-a-number").status_code == 422
    assert client.get("/runs?page=-3").status_code == 200  # clamped to the first page
    assert client.get("/runs?page=abc").status_code == 200


def test_an_environment_that_never_ran_says_so_and_creates_nothing(
    client: TestClient, tmp_path: Path
) -> None:
    response = client.get("/runs", params={"env": "prod"})
    assert response.status_code == 503
    assert "prod has no metadata store yet" in response.text
    assert "basin --env prod run" in response.text
    assert not (tmp_path / "prod").exists()


def test_a_store_of_an_older_basin_is_not_migrated_by_the_ui(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = open_store(f"sqlite:///{path}", env="dev")
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("update alembic_version set version_num = '0009'")
    site = Site("shop", {"dev": Environment("dev", f"sqlite:///{path}")}, "dev")
    response = TestClient(create_app(site)).get("/")
    assert response.status_code == 503 and "not at Basin&#39;s newest revision" in response.text
    with sqlite3.connect(path) as db:
        assert db.execute("select version_num from alembic_version").fetchone() == ("0009",)
    site.close()


def test_runs_are_paged_and_filtered(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    store = open_store(url, env="dev")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    from basin.metadata.models import Run

    with store.session() as s:
        for i in range(120):
            s.add(
                Run(
                    run_id=f"r{i:04d}",
                    env="dev",
                    command="run" if i % 3 else "check",
                    status="failed" if i % 10 == 0 else "success",
                    started_at=start + timedelta(minutes=i),
                    ended_at=start + timedelta(minutes=i, seconds=30),
                    basin_version="0",
                )
            )
    store.close()
    site = Site("shop", {"dev": Environment("dev", url)}, "dev", page_size=50)
    client = TestClient(create_app(site))
    first = client.get("/runs").text
    assert "r0119" in first and "r0070" in first and "r0069" not in first
    assert "page 1 of 3 (120)" in first
    last = client.get("/runs?page=3").text
    assert "r0019" in last and "r0000" in last and "r0020" not in last
    failed = client.get("/runs?status=failed").text
    assert "r0110" in failed and "r0111" not in failed and "(12)" not in failed
    checks = client.get("/runs?command=check&status=failed").text
    assert "r0090" in checks and "r0100" not in checks
    site.close()


def test_a_password_is_asked_for_when_the_ui_listens_beyond_this_machine(site) -> None:
    s, _ = site
    s.password = "s3cret-pass"
    client = TestClient(create_app(s))
    assert client.get("/").status_code == 401
    assert client.get("/api/lineage").status_code == 401
    assert client.get("/static/basin.css").status_code == 401
    wrong = base64.b64encode(b"admin:guess").decode()
    assert client.get("/", headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    right = base64.b64encode(b"admin:s3cret-pass").decode()
    response = client.get("/", headers={"Authorization": f"Basic {right}"})
    assert response.status_code == 200 and "s3cret-pass" not in response.text
    assert client.get("/healthz").text == "ok"


def test_binding_beyond_the_loopback_generates_a_private_password(project: Path) -> None:
    from basin.config import load_project
    from basin.web.serve import password_file, site_for

    loaded = load_project(project)
    assert site_for([loaded], host="127.0.0.1").password is None
    site = site_for([loaded], host="0.0.0.0")
    path = password_file(project)
    assert site.password and json.loads(path.read_text()) == {"admin": site.password}
    assert path.stat().st_mode & 0o077 == 0
    assert site_for([loaded], host="::").password == site.password  # generated once


def test_web_names_the_port_in_use_and_the_setting(project: Path, cli) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("web", "--port", str(port), project=project)
    assert result.exit_code != 0
    assert f"cannot serve the web UI on 127.0.0.1:{port}" in result.stderr
    assert "web.port" in result.stderr


def test_web_without_its_browser_files_says_how_to_get_them(
    project: Path, cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import basin.web.app

    monkeypatch.setattr(basin.web.app, "STATIC", tmp_path / "no-static")
    result = cli("web", "--port", "1", project=project)
    assert result.exit_code != 0
    assert "browser files are not installed" in result.stderr
    assert "cytoscape.min.js" in result.stderr and "make install" in result.stderr
