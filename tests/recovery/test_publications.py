"""Earlier publications kept on DuckDB and restored: the restored snapshot is the old
one to the checksum, the one it replaced is kept so the restore can be undone, only
``publish.keep`` are kept, and misuse is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from basin.warehouses.duckdb.publish import checksums
from tests.reliability.conftest import drop

pytestmark = pytest.mark.e2e


def _published(project: Path) -> dict:
    return checksums(project / ".basin" / "dev" / "published" / "warehouse.duckdb")


def _current_run(cli, project: Path) -> str:
    listed = cli("publish", "--list", project=project)
    assert listed.exit_code == 0, listed.output
    [line] = [x for x in listed.output.splitlines() if "current" in x]
    return line.split("│")[1].strip()


def test_a_kept_publication_is_restored_exactly_undone_and_only_keep_are_kept(
    cli, project: Path
) -> None:
    assert cli("run", project=project).exit_code == 0
    first, first_run = _published(project), _current_run(cli, project)
    drop(project, "orders_002.csv", "9,new@example.org,40.00,paid,2026-01-09 10:00:00\n")
    assert cli("run", project=project).exit_code == 0
    second, second_run = _published(project), _current_run(cli, project)
    assert first != second and first_run != second_run

    listed = cli("publish", "--list", project=project).output
    assert [x.split("│")[4].strip() for x in listed.splitlines() if "│ r" in x] == [
        "current",
        "restorable",
    ]
    assert "basin publish --restore RUN" in listed

    restored = cli("publish", "--restore", first_run, project=project)
    assert restored.exit_code == 0, restored.output
    assert f"restored publication {first_run}" in restored.output
    assert _published(project) == first
    assert _current_run(cli, project) == first_run
    # The one it replaced was kept: the restore is undone the same way.
    assert cli("publish", "--restore", second_run, project=project).exit_code == 0
    assert _published(project) == second

    again = cli("publish", "--restore", second_run, project=project)
    assert again.exit_code == 1 and "already the published one" in again.output
    unknown = cli("publish", "--restore", "r20000101T000000Z-000000", project=project)
    assert unknown.exit_code == 1
    assert "is not kept" in unknown.output and first_run in unknown.output
    both = cli("publish", "--list", "--restore", first_run, project=project)
    assert both.exit_code == 2 and "use one of them" in both.output

    # Only publish.keep are kept: with 1, a new publication keeps the one it replaces.
    yml = project / "basin.yml"
    yml.write_text(yml.read_text().replace("publish:\n", "publish:\n  keep: 1\n", 1))
    drop(project, "orders_003.csv", "10,k@example.org,1.00,paid,2026-01-09 10:00:00\n")
    assert cli("run", project=project).exit_code == 0
    history = project / ".basin" / "dev" / "published" / "history"
    assert sorted(p.name for p in history.iterdir()) == [second_run]
    assert "is not kept" in cli("publish", "--restore", first_run, project=project).output
    # A kept snapshot damaged on disk is refused, and the publication stays as it was.
    now = _published(project)
    kept = history / second_run / "warehouse.duckdb"
    kept.write_bytes(b"\0" * 4096)
    damaged = cli("publish", "--restore", second_run, project=project)
    assert damaged.exit_code == 1 and "cannot be read" in damaged.output
    assert _published(project) == now
