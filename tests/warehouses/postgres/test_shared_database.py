"""Two projects in one PostgreSQL database: each names its own schemas
(``warehouse.schemas``, dbt's ``+schema``, ``publish.schemas``) and never writes into
the other's — a project that would is stopped before it writes, naming the owner and
the setting to change."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.warehouses.postgres.test_warehouse import checksum, pg

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]


def _project(root: Path, name: str, db_url: str, prefix: str | None = None) -> Path:
    """A `basin init` project with a ``prod`` environment on ``db_url``; ``prefix``:
    every schema it writes is named ``<prefix>_…``."""
    from basin.scaffold import create_project

    create_project(root, name=name)
    schemas = f", schemas: {{raw: {prefix}_raw, ledger: {prefix}_basin}}" if prefix else ""
    yml = root / "basin.yml"
    text = yml.read_text().replace(
        "sources:",
        f'  prod:\n    warehouse: {{engine: postgres, dsn: "${{env:WAREHOUSE_DSN}}"{schemas}}}'
        "\n\nsources:",
        1,
    )
    if prefix:
        text = text.replace("schemas: [marts]", f"schemas: [{prefix}_marts]")
        dbt = root / "dbt" / "dbt_project.yml"
        dbt.write_text(
            dbt.read_text()
            .replace("+schema: staging", f"+schema: {prefix}_staging")
            .replace("+schema: marts", f"+schema: {prefix}_marts")
        )
    yml.write_text(text)
    (root / ".env").write_text(f"WAREHOUSE_DSN={db_url}\n")
    return root


def _comments(db_url: str) -> dict[str, str]:
    return dict(
        pg(
            db_url,
            "select nspname, obj_description(oid, 'pg_namespace') from pg_namespace "
            "where obj_description(oid, 'pg_namespace') like 'Basin project %'",
        )
    )


def test_two_projects_share_a_database_and_a_third_cannot_take_their_schemas(
    cli, tmp_path: Path, pg_database: str
) -> None:
    first = _project(tmp_path / "first", "first", pg_database)
    assert (done := cli("--env", "prod", "run", project=first)).exit_code == 0, done.output
    mine = "select * from marts.daily_revenue"
    before = checksum(pg(pg_database, mine))

    # The second names every schema it writes; its drop holds one more order.
    second = _project(tmp_path / "second", "second", pg_database, prefix="second")
    (second / "drops" / "shop" / "orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at\n"
        "9001,new@example.org,12.50,paid,2026-02-01 10:00:00\n"
    )
    assert (done := cli("--env", "prod", "run", project=second)).exit_code == 0, done.output
    assert (done := cli("--env", "prod", "run", project=first)).exit_code == 0, done.output
    assert checksum(pg(pg_database, mine)) == before
    assert pg(pg_database, "select count(*) from second_marts.daily_revenue") == [(4,)]
    assert pg(pg_database, "select count(*) from raw.shop__orders") == [(5,)]
    assert pg(pg_database, "select count(*) from second_raw.shop__orders") == [(6,)]
    assert pg(pg_database, "select count(*) from _basin.load_ledger") == [(1,)]
    assert pg(pg_database, "select count(*) from second_basin.load_ledger") == [(1,)]
    owners = _comments(pg_database)
    assert {s for s, c in owners.items() if c == "Basin project first, environment prod"} == {
        "raw",
        "_basin",
        "staging",
        "marts",
        "marts_audit",
    }
    # (one publication: no earlier one swapped out into its audit schema yet)
    assert {s for s, c in owners.items() if c.startswith("Basin project second,")} == {
        "second_raw",
        "second_basin",
        "second_staging",
        "second_marts",
    }

    # A third with the default names: doctor says so, and its run stops before it
    # writes anything — the first project's rows, ledger and marts are as they were.
    third = _project(tmp_path / "third", "third", pg_database)
    doctor = cli("--env", "prod", "doctor", project=third)
    assert doctor.exit_code != 0
    assert "belong to Basin project first, environment prod" in doctor.output
    assert "warehouse.schemas" in doctor.output
    run = cli("--env", "prod", "run", project=third)
    assert run.exit_code != 0
    assert "schema(s) _basin, raw in" in run.output, run.output
    assert "belong to Basin project first, environment prod" in run.output
    assert "environments.prod.warehouse.schemas.ledger" in run.output
    assert "environments.prod.warehouse.schemas.raw" in run.output
    assert pg(pg_database, "select count(*) from raw.shop__orders") == [(5,)]
    assert pg(pg_database, "select count(*) from _basin.load_ledger") == [(1,)]
    assert checksum(pg(pg_database, mine)) == before

    # The same project's other environment is another owner too.
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("comment on schema second_marts is 'Basin project second, environment qa'")
    run = cli("--env", "prod", "run", project=second)
    assert run.exit_code != 0
    assert "schema(s) second_marts in" in run.output and "environment qa" in run.output
    assert "publish.schemas, the +schema of the models" in run.output


def test_sources_that_still_read_raw_are_not_published(
    cli, tmp_path: Path, pg_database: str
) -> None:
    """Renaming the raw schema while a dbt source still says ``schema: raw`` would build
    from whatever ``raw`` holds — another project's rows: the build is refused."""
    other = _project(tmp_path / "other", "other", pg_database)
    assert (done := cli("--env", "prod", "run", project=other)).exit_code == 0, done.output
    moved = _project(tmp_path / "moved", "moved", pg_database, prefix="moved")
    sources = moved / "dbt/models/staging/shop/_shop__sources.yml"
    sources.write_text(
        sources.read_text().replace("\"{{ var('basin_raw_schema', 'raw') }}\"", "raw")
    )
    run = cli("--env", "prod", "run", project=moved)
    assert run.exit_code != 0
    assert "dbt source(s) shop.orders read schema raw" in run.output
    assert "moved_raw (warehouse.schemas.raw)" in run.output
    assert "var('basin_raw_schema'" in run.output
    schemas = {r[0] for r in pg(pg_database, "select nspname from pg_namespace")}
    assert "moved_marts" not in schemas  # nothing published


@pytest.mark.parametrize(
    ("schemas", "publish", "message"),
    [
        ("{raw: same, ledger: same}", "[marts]", "raw and ledger are both 'same'"),
        ("{raw: shop_raw}", "[shop_raw]", "shop_raw is Basin's own schema in environment 'prod'"),
        ("{raw: Shop-Raw}", "[marts]", "schemas.raw"),
    ],
)
def test_schema_names_that_cannot_work_are_refused(
    cli, tmp_path: Path, schemas: str, publish: str, message: str
) -> None:
    root = _project(tmp_path / "p", "p", "postgresql://postgres@127.0.0.1/x")
    yml = root / "basin.yml"
    yml.write_text(
        yml.read_text()
        .replace('WAREHOUSE_DSN}"}', f'WAREHOUSE_DSN}}", schemas: {schemas}}}')
        .replace("schemas: [marts]", f"schemas: {publish}")
    )
    result = cli("--env", "prod", "doctor", project=root)
    assert result.exit_code != 0
    assert message in result.output, result.output


def test_a_schema_the_warehouse_user_does_not_own_is_used_with_a_warning(
    cli, tmp_path: Path, pg_url: str, pg_database: str
) -> None:
    """An administrator made ``raw`` and granted it: Basin, logged in as a plain role,
    cannot comment on it — the run goes on and says who can mark it."""
    import uuid

    role = f"basin_t_{uuid.uuid4().hex[:8]}"
    database = pg_database.rsplit("/", 1)[1]
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute(f'create role "{role}" login')
        conn.execute(f'grant create on database "{database}" to "{role}"')
        conn.execute("create schema raw")
        conn.execute(f'grant usage, create on schema raw to "{role}"')
    try:
        root = _project(tmp_path / "p", "p", pg_database.replace("postgres@", f"{role}@"))
        run = cli("--env", "prod", "run", project=root)
        assert run.exit_code == 0, run.output
        assert "schema raw in" in run.output and "is not marked" in run.output
        assert "COMMENT ON SCHEMA raw IS 'Basin project p, environment prod'" in run.output
        owners = _comments(pg_database)
        assert "raw" not in owners and owners["marts"] == "Basin project p, environment prod"
        assert pg(pg_database, "select count(*) from marts.daily_revenue") == [(3,)]
    finally:
        with psycopg.connect(pg_database, autocommit=True) as conn:
            conn.execute(f'drop owned by "{role}" cascade')
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'drop owned by "{role}" cascade')
            conn.execute(f'drop role "{role}"')


def test_two_projects_loading_into_the_same_schemas_at_once_one_wins(
    tmp_path: Path, pg_database: str
) -> None:
    """Two projects with the default names, started at the same moment on an empty
    database: one loads, the other is refused — never both into one ``raw``."""
    import subprocess
    import sys

    basin = str(Path(sys.executable).parent / "basin")
    roots = [_project(tmp_path / n, n, pg_database) for n in ("left", "right")]
    for root in roots:
        done = subprocess.run(
            [basin, "--project", str(root), "--env", "prod", "extract"],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    loads = [
        subprocess.Popen(
            [basin, "--project", str(root), "--env", "prod", "load"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for root in roots
    ]
    outputs = [p.communicate(timeout=600)[0] for p in loads]
    codes = sorted(p.returncode for p in loads)
    assert codes[0] == 0 and codes[1] != 0, outputs
    assert sum("belong to Basin project" in out for out in outputs) == 1, outputs
    assert pg(pg_database, "select count(*) from raw.shop__orders") == [(5,)]
    assert pg(pg_database, "select count(*) from _basin.load_ledger") == [(1,)]
