"""A newcomer's usual mistakes end with a message that names the thing and the fix,
not with an engine error three steps later."""

from __future__ import annotations

import re
from pathlib import Path


def _yml(project: Path, old: str, new: str) -> None:
    path = project / "basin.yml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_glob_that_matches_nothing(cli, project: Path) -> None:
    _yml(project, 'glob: "orders_*.csv"', 'glob: "order_*.csv"')
    doctor = cli("doctor", project=project)
    assert "no file matches 'order_*.csv'" in doctor.stdout
    assert "sources.shop.entities.orders.glob" in doctor.stdout
    run = cli("run", project=project)
    assert run.exit_code == 1
    assert (
        f"shop.orders: no file matches 'order_*.csv' in {project / 'drops' / 'shop'}" in run.stdout
    )
    # It stops before dbt, naming the entity, instead of the engine's "does not exist".
    assert "no data loaded yet for shop.orders" in run.stderr
    assert "Catalog Error" not in run.output and "does not exist" not in run.output


def test_a_column_type_duckdb_does_not_have(cli, project: Path) -> None:
    _yml(project, 'amount: "DECIMAL(12,2)"', "amount: MONEY")
    doctor = cli("doctor", project=project)
    assert doctor.exit_code == 1
    assert "'MONEY' is not a DuckDB type" in doctor.stdout
    assert "sources.shop.entities.orders.columns.amount" in doctor.stdout
    run = cli("extract", project=project)
    assert run.exit_code == 1 and "'MONEY' is not a DuckDB type" in run.stderr
    # The files are not used up: fixed, the next extract takes them.
    _yml(project, "amount: MONEY", 'amount: "DECIMAL(12,2)"')
    again = cli("extract", project=project)
    assert again.exit_code == 0 and "5 rows from 1 file(s)" in again.stdout


def test_publish_says_its_result_once(cli, project: Path) -> None:
    assert cli("run", project=project).exit_code == 0
    result = cli("publish", project=project)
    assert result.exit_code == 0, result.output
    assert result.output.count("published 1 table(s)") == 1


def test_no_colour_codes_when_output_is_not_a_terminal(cli, project: Path) -> None:
    (project / "dbt" / "models" / "marts" / "daily_revenue.sql").write_text("select * from nowhere")
    result = cli("run", project=project)
    assert result.exit_code == 1
    assert "\x1b[" not in result.output  # dbt's own error lines included


def test_help_shows_no_value_type_after_a_flag(cli) -> None:
    from basin.cli.main import command

    root = command()
    ctx = root.context_class(root, info_name="basin")
    for name in [None, *root.list_commands(ctx)]:
        args = [name, "--help"] if name else ["--help"]
        shown = cli(*args).stdout
        assert "<bool>" not in shown and "<list[str]>" not in shown, name
        assert "\x1b[" not in shown, name  # no colour codes outside a terminal


LOST = (
    "order_id,customer_email,amount,status,ordered_at\n"
    "7,t@example.org,99.00,lost,2026-01-07 10:00:00\n"
)


def test_a_failed_test_says_how_to_see_its_rows(cli, project: Path) -> None:
    (project / "drops" / "shop" / "orders_002.csv").write_text(LOST)
    run = cli("run", project=project)
    assert run.exit_code == 1
    assert "`basin failures accepted_values" in run.stderr
    shown = cli("failures", "accepted_values", project=project)
    assert shown.exit_code == 0, shown.output
    assert "1 failing row(s)" in shown.stdout and "lost" in shown.stdout
    assert cli("failures", "no_such_test", project=project).exit_code == 1
    # status shows the whole error, folded rather than cut, when piped.
    flat = re.sub(r"[│┃\s]+", "", cli("status", project=project).stdout)  # folded cells joined
    assert "configuredtofailif!=0" in flat and "basinfailuresaccepted_values" in flat


def test_check_before_any_build_says_to_build_first(cli, project: Path) -> None:
    """Not one "does not exist" per test: nothing has been built to check yet."""
    check = cli("check", project=project)
    assert check.exit_code != 0
    assert "nothing built to check" in check.stderr and "basin run" in check.stderr
    assert "Catalog Error" not in check.output + check.stderr
    assert cli("run", project=project).exit_code == 0
    assert cli("check", project=project).exit_code == 0


def test_a_basin_test_without_its_prefix_is_named_with_the_fix(cli, project: Path) -> None:
    """dbt says "'test_primary_key' is undefined … install package dependencies with dbt
    deps" (the package hub is out of reach, and the package is there): Basin names the
    test to write, and does not point at failing rows that do not exist."""
    yml = next((project / "dbt" / "models").rglob("_*models.yml"))
    text = yml.read_text()
    assert "[unique, not_null]" in text, "the scaffold's key tests changed: update this test"
    yml.write_text(text.replace("[unique, not_null]", "[primary_key]", 1))
    run = cli("run", project=project)
    assert run.exit_code == 1
    assert "write `basin.primary_key` (a test of Basin's package)" in run.stderr
    assert "basin failures" not in run.stderr
    # The same for a macro of the package (docs/howto/incremental.md's `basin.in_delta()`).
    yml.write_text(text)
    model = next((project / "dbt" / "models" / "marts").glob("*.sql"))
    model.write_text("{% set new_rows = in_delta() %}\n" + model.read_text())
    run = cli("run", project=project)
    assert run.exit_code == 1
    assert "write `basin.in_delta` (a macro of Basin's package)" in run.stderr


def test_published_schemas_dbt_did_not_build_are_named_with_the_fix(cli, project: Path) -> None:
    macro = project / "dbt" / "macros" / "generate_schema_name.sql"
    macro.parent.mkdir()
    # A project's own macro with dbt's naming (target schema + custom: main_marts).
    macro.write_text(
        "{% macro generate_schema_name(custom_schema_name, node) -%}\n"
        "{{ default__generate_schema_name(custom_schema_name, node) }}\n{%- endmacro %}\n"
    )
    doctor = cli("doctor", project=project)
    assert doctor.exit_code == 1
    assert "publish.schemas names marts, but the dbt project builds nothing there" in doctor.stdout
    assert "(it builds into: main_marts, main_staging)" in doctor.stdout
    assert "basin.generate_schema_name" in doctor.stdout
    run = cli("run", project=project)
    assert run.exit_code == 1
    assert "publish.schemas names marts, but the dbt project builds nothing" in run.stderr
    assert "basin.generate_schema_name" in run.stderr
    assert not (project / ".basin/dev/published/warehouse.duckdb").exists()

    macro.unlink()
    # `main` exists (the profile's schema) but nothing is built in it: published nothing
    # without a word before.
    _yml(project, "schemas: [marts]", "schemas: [main]")
    doctor = cli("doctor", project=project)
    assert doctor.exit_code == 1
    assert "publish.schemas names main, but the dbt project builds nothing there" in doctor.stdout
    assert "(it builds into: marts, staging)" in doctor.stdout
    assert "set publish.schemas in basin.yml" in doctor.stdout
    run = cli("run", project=project)
    assert run.exit_code == 1 and "set publish.schemas in basin.yml" in run.stderr
    assert not (project / ".basin/dev/published/warehouse.duckdb").exists()

    _yml(project, "schemas: [main]", "schemas: [marts]")
    doctor = cli("doctor", project=project)
    assert doctor.exit_code == 0 and "publish.schemas: marts" in doctor.stdout
    assert cli("publish", project=project).exit_code == 0  # that build made marts: fine


def test_basins_own_schemas_cannot_be_published(cli, project: Path) -> None:
    _yml(project, "schemas: [marts]", "schemas: [marts, raw]")
    doctor = cli("doctor", project=project)
    assert doctor.exit_code == 1
    assert "publish.schemas: raw is Basin's own schema" in doctor.stdout
    assert "line 32" in doctor.stdout


def test_doctor_parses_the_dbt_project(cli, project: Path) -> None:
    (project / "dbt" / "models" / "marts" / "broken.sql").write_text(
        "select {{ ref('no_such_model') }}\n"
    )
    doctor = cli("doctor", project=project)
    assert doctor.exit_code == 1
    assert "dbt parse failed" in doctor.stdout and "no_such_model" in doctor.stdout
    # It wrote nothing where a build's artifacts are read.
    assert not (project / ".basin/dev/dbt/target").exists()


def test_a_project_without_basin_macros_publishes(cli, project: Path) -> None:
    """Basin's schema naming is wired in from outside the user's dbt folder, and
    nothing is written into it."""
    dbt = project / "dbt"
    assert not (dbt / "macros").exists()  # `basin init` writes no Basin-specific macro
    before = sorted(p.relative_to(dbt) for p in dbt.rglob("*"))
    assert cli("run", project=project).exit_code == 0
    assert sorted(p.relative_to(dbt) for p in dbt.rglob("*")) == before
    assert not (dbt / "dbt_packages").exists()


def test_quarantine_can_be_listed_and_shown(cli, project: Path) -> None:
    (project / "drops" / "shop" / "orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at\n"
        "8,x@example.org,not-a-number,paid,2026-01-08 10:00:00\n"
        "9,y@example.org,5.00,paid,2026-01-09 10:00:00\n"
    )
    assert (
        cli("quarantine", "list", project=project).stdout.strip().endswith("nothing is quarantined")
    )
    assert cli("extract", project=project).exit_code == 0
    listed = cli("quarantine", "list", "--select", "shop.orders", project=project)
    assert "shop.orders" in listed.stdout and "CAST (1)" in listed.stdout
    [batch] = [w for w in listed.stdout.split() if w.startswith("20") and "Z-" in w]
    shown = cli("quarantine", "show", batch, project=project)
    assert shown.exit_code == 0 and "CAST" in shown.stdout
    from basin.lake.quarantine import listing, rows
    from basin.lake.storage import Lake

    lake = Lake(str(project / ".basin/dev/lake"))
    [item] = listing(lake)
    columns, found = rows(lake, item)
    [row] = [dict(zip(columns, r, strict=True)) for r in found]
    assert (row["file"], row["line"], row["error_type"]) == ("orders_002.csv", 2, "CAST")
    assert "not-a-number" in row["reason"]
    missing = cli("quarantine", "show", "no-such-batch", project=project)
    assert missing.exit_code == 1 and "basin quarantine list" in missing.stderr
