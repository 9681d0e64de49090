"""DuckDB has no roles: with access.masking, each publish also writes
published/masked.duckdb, the same tables with every PII column masked."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.access.conftest import add_pii_mart


def _customers_mart(project: Path) -> None:
    add_pii_mart(
        project,
        "customers",
        "select customer_email, count(*) as orders from {{ ref('stg_shop__orders') }} group by 1",
        {"customer_email": "email"},
    )


def _read(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_masked_snapshot_holds_masked_pii_and_everything_else_as_published(
    cli, project: Path
) -> None:
    _customers_mart(project)
    yml = project / "basin.yml"
    yml.write_text(yml.read_text() + "\naccess:\n  masking:\n    default: {rule: partial}\n")
    assert cli("run", project=project).exit_code == 0
    folder = project / ".basin" / "dev" / "published"
    clear = _read(folder / "warehouse.duckdb", "select * from marts.customers order by 2, 1")
    masked = _read(folder / "masked.duckdb", "select * from marts.customers order by 2, 1")
    assert clear and all("@" in email for email, _ in clear)
    assert [n for _, n in masked] == [n for _, n in clear]
    for (email, _), (hidden, _) in zip(clear, masked, strict=True):
        assert "@" not in hidden and len(hidden) == len(email)
        assert hidden[:2] == email[:2] and hidden[-2:] == email[-2:]
    same = "select * from marts.daily_revenue order by 1"
    assert _read(folder / "masked.duckdb", same) == _read(folder / "warehouse.duckdb", same)
    assert not list(folder.glob(".*tmp*"))


def test_without_masking_there_is_no_masked_file(cli, project: Path) -> None:
    _customers_mart(project)
    assert cli("run", project=project).exit_code == 0
    assert not (project / ".basin" / "dev" / "published" / "masked.duckdb").exists()


def test_a_corrupt_manifest_fails_publish_before_anything_is_replaced(cli, project: Path) -> None:
    _customers_mart(project)
    yml = project / "basin.yml"
    yml.write_text(yml.read_text() + "\naccess:\n  masking:\n    default: {rule: hash}\n")
    assert cli("run", project=project).exit_code == 0
    folder = project / ".basin" / "dev" / "published"
    before = {f.name: f.read_bytes() for f in folder.glob("*.duckdb")}
    (project / ".basin" / "dev" / "dbt" / "target" / "manifest.json").write_text('{"nodes": {')
    failed = cli("publish", project=project)
    assert failed.exit_code != 0
    assert "manifest" in failed.stderr and "cannot be read" in failed.stderr
    assert "internal error" not in failed.stderr
    assert {f.name: f.read_bytes() for f in folder.glob("*.duckdb")} == before
