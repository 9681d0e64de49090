"""An unchanged dbt project — written the way dbt's own docs teach: seeds and ref(),
staging views, mart tables, schema tests, no Basin file — runs under Basin and
publishes marts equal to a plain `dbt build` of the same project."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

CASE = Path(__file__).parent / "cases" / "plain_dbt"

pytestmark = pytest.mark.e2e


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_plain_dbt_project_publishes_what_dbt_builds(cli, tmp_path: Path) -> None:
    # Plain dbt, with a hand-written profile.
    plain = tmp_path / "plain"
    shutil.copytree(CASE, plain)
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "profiles.yml").write_text(
        "jaffle:\n  target: dev\n  outputs:\n    dev:\n"
        f"      type: duckdb\n      path: {tmp_path / 'plain.duckdb'}\n      threads: 1\n"
    )
    dbt = Path(sys.executable).parent / "dbt"
    done = subprocess.run(
        [
            str(dbt),
            "build",
            "--project-dir",
            str(plain),
            "--profiles-dir",
            str(tmp_path / "profiles"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]

    # The same project under Basin: only basin.yml beside it.
    project = tmp_path / "platform"
    shutil.copytree(CASE, project / "jaffle")
    before = _files(project / "jaffle")
    (project / "basin.yml").write_text(
        "project: jaffle\ndbt: {project_dir: jaffle}\npublish: {schemas: [main]}\n"
    )
    result = cli("run", project=project)
    assert result.exit_code == 0, result.output
    assert _files(project / "jaffle") == before  # nothing written into the dbt project

    sql = "select * from main.customers order by customer_id"
    with duckdb.connect(str(tmp_path / "plain.duckdb"), read_only=True) as con:
        want = con.execute(sql).fetchall()
    published = project / ".basin" / "dev" / "published" / "warehouse.duckdb"
    with duckdb.connect(str(published), read_only=True) as con:
        got = con.execute(sql).fetchall()
    assert got == want and len(got) == 4

    # A failing schema test blocks publication, as with any Basin project.
    orders = project / "jaffle" / "seeds" / "raw_orders.csv"
    orders.write_text(orders.read_text() + "6,4,2026-01-07,lost\n")
    failed = cli("run", project=project)
    assert failed.exit_code == 1 and "accepted_values" in failed.stderr
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute(sql).fetchall() == want  # the last good publication stays
