"""Lineage on real runs: OpenLineage events for every step, column lineage from sources
to marts, the catalog, and the HTTP transport against a real local receiver."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest

from basin.lineage.events import run_uuid
from tests.conftest import own_port

SPEC = json.loads((Path(__file__).parent / "cases" / "openlineage.schema.json").read_text())
"""The OpenLineage spec as JSON Schema (see cases/make_openlineage_schema.py)."""
REPO = Path(__file__).resolve().parent.parent.parent
ENTITIES = [
    "finance.customers",
    "finance.accounts",
    "finance.transactions",
    "operations.products",
    "operations.orders",
    "operations.order_items",
    "operations.inventory_snapshots",
    "crm.interactions",
    "crm.opportunities",
    "email.campaigns",
    "email.email_events",
]


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _facets(event: dict) -> list[dict]:
    """Every facet of an event: run, job and each dataset's (input/output) facets."""
    groups = [event["run"].get("facets", {}), event["job"].get("facets", {})]
    for dataset in event.get("inputs", []) + event.get("outputs", []):
        groups += [dataset.get(k, {}) for k in ("facets", "inputFacets", "outputFacets")]
    return [facet for group in groups for facet in group.values()]


_VALIDATORS: dict[str, jsonschema.protocols.Validator] = {}


def _validator(ref: str) -> jsonschema.protocols.Validator:
    """One validator per definition (``jsonschema.validate`` would check the whole
    schema against the metaschema on every call: minutes for a run's events)."""
    if ref not in _VALIDATORS:
        schema = {**SPEC, "$ref": ref}
        cls = jsonschema.validators.validator_for(schema)
        _VALIDATORS[ref] = cls(schema, format_checker=jsonschema.FormatChecker())
    return _VALIDATORS[ref]


def assert_valid(event: dict) -> None:
    """Valid as a RunEvent, and each facet valid against the schema its ``_schemaURL``
    names; facets outside the spec (integrations' own) only as base facets."""
    _validator(SPEC["$ref"]).validate(event)
    for facet in _facets(event):
        ref = SPEC["facets"].get(facet["_schemaURL"], {"$ref": "#/$defs/base.BaseFacet"})
        _validator(ref["$ref"]).validate(facet)
    uuid.UUID(event["run"]["runId"])
    datetime.fromisoformat(event["eventTime"])
    parent = event["run"].get("facets", {}).get("parent")
    if parent:
        uuid.UUID(parent["run"]["runId"])


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference platform after one `basin run` at a tiny scale."""
    root = tmp_path_factory.mktemp("lineage") / "reference"
    shutil.copytree(
        REPO / "examples" / "reference",
        root,
        ignore=shutil.ignore_patterns(".basin", "data", "drops", "target", "logs", "dbt_packages"),
    )
    own_port(root)
    subprocess.run(
        [sys.executable, str(root / "generator.py"), "--root", str(root), "--scale", "0.002"],
        check=True,
        capture_output=True,
    )
    basin = Path(sys.executable).parent / "basin"
    done = subprocess.run(
        [str(basin), "--project", str(root), "run"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def test_every_step_emits_valid_start_and_complete_events_tied_to_the_run(
    reference_run: Path,
) -> None:
    events = read_events(reference_run / ".basin" / "dev" / "openlineage" / "events.jsonl")
    for event in events:
        assert_valid(event)
    states: dict[str, set[str]] = {}
    for e in events:
        states.setdefault(e["job"]["name"], set()).add(e["eventType"])
    steps = (
        ["run", "transform", "gate", "publish"]
        + [f"extract.{x}" for x in ENTITIES]
        + [f"load.{x}" for x in ENTITIES]
    )
    for job in steps:
        assert states.get(job) == {"START", "COMPLETE"}, (job, states.get(job))
    model_jobs = [j for j in states if j.endswith(".build.run")]
    assert len(model_jobs) >= 30  # one per dbt model and snapshot
    assert all(states[j] == {"START", "COMPLETE"} for j in model_jobs)

    [run_start] = [e for e in events if e["job"]["name"] == "run" and e["eventType"] == "START"]
    run_id = run_start["run"]["runId"]
    by_job = {e["job"]["name"]: e for e in events if e["eventType"] == "COMPLETE"}
    for job in steps[1:]:
        assert by_job[job]["run"]["facets"]["parent"]["run"]["runId"] == run_id, job
    transform_id = by_job["transform"]["run"]["runId"]
    for job in model_jobs:
        assert by_job[job]["run"]["facets"]["parent"]["run"]["runId"] == transform_id

    # Datasets carry schemas and row counts; a load's input is the extract's output.
    extract = by_job["extract.finance.customers"]
    [lake] = extract["outputs"]
    assert lake["outputFacets"]["outputStatistics"]["rowCount"] == 50
    assert {"name": "email", "type": "VARCHAR"}.items() <= {
        k: v
        for f in lake["facets"]["schema"]["fields"]
        if f["name"] == "email"
        for k, v in f.items()
    }.items()
    load = by_job["load.finance.customers"]
    assert (load["inputs"][0]["namespace"], load["inputs"][0]["name"]) == (
        lake["namespace"],
        lake["name"],
    )
    # …and dbt's staging model reads the very table the load wrote.
    [raw] = load["outputs"]
    staging = by_job[next(j for j in model_jobs if "stg_finance__customers" in j)]
    assert (raw["namespace"], raw["name"]) in {
        (i["namespace"], i["name"]) for i in staging["inputs"]
    }

    gate = by_job["gate"]
    assertions = [
        a for i in gate["inputs"] for a in i["facets"]["dataQualityAssertions"]["assertions"]
    ]
    assert len(assertions) >= 50 and all(a["success"] for a in assertions)


def test_a_mart_column_traces_back_to_its_source_column(reference_run: Path, cli) -> None:
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    platform = Platform(load_project(reference_run))
    try:
        tree = platform.lineage_tree("marts.customer_360", "email")
    finally:
        platform.close()
    paths: list[list[tuple[str, str | None]]] = []

    def walk(node, path) -> None:  # noqa: ANN001
        path = [*path, (node.dataset, node.column)]
        if not node.children:
            paths.append(path)
        for child in node.children:
            walk(child, path)

    walk(tree, [])
    # Through the Data Vault: the mart reads customers' current satellite rows.
    assert [
        ("marts.customer_360", "email"),
        ("intermediate.int_customers_current", "email"),
        ("vault.sat_customer", "email"),
        ("staging.stg_finance__customers", "email"),
        ("raw.finance__customers", "email"),
        ("lake.finance.customers", "email"),
        ("source.finance.customers", "email"),
    ] in paths

    result = cli("lineage", "customer_360", "--column", "email", project=reference_run)
    assert result.exit_code == 0, result.stderr
    assert "source.finance.customers.email" in result.stdout

    down = cli(
        "lineage", "source.finance.customers", "-c", "email", "--downstream", project=reference_run
    )
    assert "published.marts.customer_360.email" in down.stdout

    # The column-lineage facet of the mart's event says the same.
    events = read_events(reference_run / ".basin" / "dev" / "openlineage" / "events.jsonl")
    [mart] = [
        o
        for e in events
        if e["eventType"] == "COMPLETE" and e["job"]["name"].endswith(".build.run")
        for o in e.get("outputs", [])
        if o["name"].endswith(".marts.customer_360")
    ]
    inputs = mart["facets"]["columnLineage"]["fields"]["email"]["inputFields"]
    assert [(i["name"].split(".", 1)[1], i["field"]) for i in inputs] == [
        ("intermediate.int_customers_current", "email")
    ]


def test_catalog_lists_and_shows_datasets_with_columns_owners_and_pii(
    reference_run: Path, cli
) -> None:
    listed = cli("catalog", "search", "customer_360", project=reference_run)
    assert listed.exit_code == 0, listed.stderr
    assert "marts.customer_360" in listed.stdout and "published.marts.customer_360" in listed.stdout

    shown = cli("catalog", "show", "marts.customer_360", project=reference_run)
    assert shown.exit_code == 0, shown.stderr
    for text in ("email", "upstream", "published.marts.customer_360", "int_"):
        assert text in shown.stdout

    missing = cli("catalog", "show", "no_such_table", project=reference_run)
    assert missing.exit_code != 0 and "no dataset named no_such_table" in missing.stderr


def test_catalog_row_counts_are_the_tables_rows(reference_run: Path) -> None:
    import sqlite3

    import duckdb

    state = reference_run / ".basin" / "dev"
    with sqlite3.connect(state / "metadata.db") as meta:
        catalog = dict(meta.execute("select key, rows from basin_datasets").fetchall())
    with duckdb.connect(str(state / "warehouse.duckdb"), read_only=True) as con:
        for key in ("marts.customer_360", "vault.hub_customer", "raw.finance__customers"):
            (actual,) = con.execute(f"select count(*) from {key}").fetchone()
            assert actual > 0 and catalog[key] == actual, key
        (raw_rows,) = con.execute("select count(*) from raw.finance__transactions").fetchone()
    # One run, one batch per entity: the lake holds what raw holds.
    assert catalog["lake.finance.transactions"] == raw_rows
    assert catalog["published.marts.customer_360"] == catalog["marts.customer_360"]


def test_a_failing_gate_emits_fail_with_the_error(project: Path, cli) -> None:
    (project / "drops" / "shop" / "orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at\n7,t@example.org,99.00,lost,2026-01-07 10:00:00\n"
    )
    assert cli("run", project=project).exit_code != 0
    events = read_events(project / ".basin" / "dev" / "openlineage" / "events.jsonl")
    for event in events:
        assert_valid(event)
    fails = {e["job"]["name"]: e for e in events if e["eventType"] == "FAIL"}
    assert {"transform", "run"} <= set(fails)
    error = fails["transform"]["run"]["facets"]["errorMessage"]
    assert "accepted_values" in error["message"] and error["programmingLanguage"] == "python"
    assert "publish" not in {e["job"]["name"] for e in events}


class Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's interface
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append(
            {
                "path": self.path,
                "auth": self.headers.get("Authorization"),
                "event": json.loads(body),
            }
        )
        self.send_response(201)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_http_transport_delivers_the_same_events_to_a_real_receiver(
    project: Path, tmp_path: Path, cli
) -> None:
    twin = tmp_path / "twin"
    shutil.copytree(project, twin)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yml = project / "basin.yml"
        yml.write_text(
            yml.read_text()
            + f"\nlineage:\n  transport: http\n  url: http://127.0.0.1:{server.server_port}\n"
            "  api_key: secret-token\n"
        )
        assert cli("run", project=project).exit_code == 0
    finally:
        server.shutdown()
        server.server_close()
    assert cli("run", project=twin).exit_code == 0
    in_file = read_events(twin / ".basin" / "dev" / "openlineage" / "events.jsonl")
    over_http = [r["event"] for r in Receiver.received]
    assert {r["path"] for r in Receiver.received} == {"/api/v1/lineage"}
    assert {r["auth"] for r in Receiver.received} == {"Bearer secret-token"}
    for event in over_http:
        assert_valid(event)

    def shape(events: list[dict]) -> list[tuple[str, str]]:
        return sorted((e["job"]["name"], e["eventType"]) for e in events)

    assert shape(over_http) == shape(in_file)
    assert not (project / ".basin" / "dev" / "openlineage" / "events.jsonl").exists()


def test_run_ids_are_stable_per_step_and_distinct_between_steps() -> None:
    assert run_uuid("r1", "transform") == run_uuid("r1", "transform")
    assert (
        len({run_uuid("r1", "transform"), run_uuid("r1", "publish"), run_uuid("r2", "transform")})
        == 3
    )


def test_docs_are_one_offline_html_file(reference_run: Path, cli) -> None:
    import re

    result = cli("docs", project=reference_run)
    assert result.exit_code == 0, result.stderr
    page = reference_run / ".basin" / "dev" / "docs" / "index.html"
    assert str(page) in result.stdout.replace("\n", "")
    html = page.read_text()
    assert "customer_360" in html and "stg_finance__customers" in html
    # Self-contained: no script, style or font is fetched from the network.
    assert not re.findall(r'(?:src|href)="https?://(?!\[::1\]|localhost|127\.)', html)
