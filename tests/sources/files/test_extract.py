"""File drops: each file once, bad rows quarantined with reasons, good rows kept."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from basin.config import load_project
from basin.pipeline.platform import Platform

BASIN_YML = """
project: drops
sources:
  crm:
    kind: files
    path: drops
    entities:
      customers:
        glob: "customers_*.csv"
        columns: {customer_id: INTEGER, name: VARCHAR, amount: DOUBLE}
      events:
        glob: "events_*.jsonl"
      accounts:
        glob: "accounts_*.json"
      balances:
        glob: "balances_*.parquet"
"""


@pytest.fixture
def platform(tmp_path: Path) -> Platform:
    (tmp_path / "basin.yml").write_text(BASIN_YML)
    (tmp_path / "drops").mkdir()
    p = Platform(load_project(tmp_path))
    yield p
    p.close()


def rows_of(platform: Platform, entity: str) -> list[tuple]:
    batches = [m for m in platform.lake.complete_batches("crm", entity)]
    files = [f for m in batches for f in platform.lake.data_files(m)]
    if not files:
        return []
    return duckdb.sql(
        f"select * exclude (_basin_batch_id, _basin_extracted_at) from read_parquet({files!r}, union_by_name = true, hive_partitioning = false) order by all"
    ).fetchall()


def quarantine_of(platform: Platform, entity: str) -> list[tuple]:
    root = Path(platform.lake.path("quarantine", "crm", entity))
    files = sorted(str(p) for p in root.rglob("rejects.parquet"))
    if not files:
        return []
    return duckdb.sql(
        f"select file, line, error_type, raw from read_parquet({files!r}, hive_partitioning = false) order by file, line"
    ).fetchall()


def test_csv_with_three_kinds_of_broken_rows_lands_good_rows_and_quarantines_the_rest(
    platform: Platform,
) -> None:
    drop = platform.project.root / "drops" / "customers_001.csv"
    drop.write_bytes(
        b"customer_id,name,amount\n"
        b"1,ada,1.5\n"
        b"2,grace\n"  # missing column
        b"3,alan,not-a-number\n"  # type error
        b"4,edsger,2.5,extra\n"  # too many columns
        b"5,barbara,3.5\n"
    )
    [result] = platform.extract(["crm.customers"])
    assert (result.rows, result.quarantined_rows) == (2, 3)
    assert rows_of(platform, "customers") == [
        (1, "ada", 1.5, "customers_001.csv"),
        (5, "barbara", 3.5, "customers_001.csv"),
    ]
    rejects = quarantine_of(platform, "customers")
    assert [(r[0], r[1], r[2]) for r in rejects] == [
        ("customers_001.csv", 3, "MISSING COLUMNS"),
        ("customers_001.csv", 4, "CAST"),
        ("customers_001.csv", 5, "TOO MANY COLUMNS"),
    ]
    assert rejects[1][3] == "3,alan,not-a-number"  # the raw line is kept


def test_invalid_utf8_is_quarantined(platform: Platform) -> None:
    (platform.project.root / "drops" / "customers_001.csv").write_bytes(
        b"customer_id,name,amount\n1,ada,1.5\n2,gr\xffce,2.0\n"
    )
    [result] = platform.extract(["crm.customers"])
    assert (result.rows, result.quarantined_rows) == (1, 1)
    assert quarantine_of(platform, "customers")[0][2] == "INVALID ENCODING"


def test_each_file_is_taken_once_and_a_changed_file_again(platform: Platform) -> None:
    drops = platform.project.root / "drops"
    (drops / "customers_001.csv").write_text("customer_id,name,amount\n1,ada,1.0\n")
    assert platform.extract(["crm.customers"])[0].rows == 1
    again = platform.extract(["crm.customers"])[0]
    assert again.batch_id is None and again.note == "no new files"
    (drops / "customers_002.csv").write_text("customer_id,name,amount\n2,grace,2.0\n")
    (drops / "_customers_003.csv").write_text("customer_id,name,amount\n3,in-flight,3.0\n")
    second = platform.extract(["crm.customers"])[0]
    assert (second.rows, second.inputs) == (1, 1)  # only the new file; _-prefixed is in flight
    (drops / "customers_001.csv").write_text("customer_id,name,amount\n1,ada,9.0\n")
    third = platform.extract(["crm.customers"])[0]
    assert (third.rows, third.inputs) == (1, 1)  # same path, new content → taken again
    assert len(platform.lake.complete_batches("crm", "customers")) == 3


def test_json_lines_bad_lines_are_quarantined(platform: Platform) -> None:
    lines = [
        json.dumps({"id": 1, "kind": "open"}),
        '{"id": 2, "kind": ',  # truncated
        "[1, 2]",  # not an object
        "",
        json.dumps({"id": 3, "kind": "click"}),
    ]
    (platform.project.root / "drops" / "events_001.jsonl").write_text("\n".join(lines) + "\n")
    [result] = platform.extract(["crm.events"])
    assert (result.rows, result.quarantined_rows) == (2, 2)
    assert rows_of(platform, "events") == [
        (1, "open", "events_001.jsonl"),
        (3, "click", "events_001.jsonl"),
    ]
    assert [(r[1], r[2]) for r in quarantine_of(platform, "events")] == [
        (2, "INVALID JSON"),
        (3, "NOT AN OBJECT"),
    ]


def test_unreadable_file_is_quarantined_whole_and_others_still_land(platform: Platform) -> None:
    drops = platform.project.root / "drops"
    duckdb.sql(
        f"copy (select 1 as account_id, 10.5 as balance) to '{drops / 'balances_001.parquet'}' (format parquet)"
    )
    (drops / "balances_002.parquet").write_bytes(b"PAR1 this is not parquet")
    [result] = platform.extract(["crm.balances"])
    assert (result.rows, result.quarantined_rows, result.inputs) == (1, 1, 2)
    [(file, line, kind, raw)] = quarantine_of(platform, "balances")
    assert (file, line, kind) == ("balances_002.parquet", None, "UNREADABLE FILE")


def test_json_array_files(platform: Platform) -> None:
    (platform.project.root / "drops" / "accounts_001.json").write_text(
        json.dumps([{"account_id": 1, "owner": "ada"}, {"account_id": 2, "owner": "alan"}])
    )
    [result] = platform.extract(["crm.accounts"])
    assert result.rows == 2
    manifest = platform.lake.complete_batches("crm", "accounts")[0]
    assert [c["name"] for c in manifest.columns][:2] == ["account_id", "owner"]
    assert (
        manifest.inputs[0]["path"] == "accounts_001.json"
        and len(manifest.inputs[0]["sha256"]) == 64
    )


def test_crash_before_manifest_leaves_no_batch_and_next_run_completes(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    (platform.project.root / "drops" / "customers_001.csv").write_text(
        "customer_id,name,amount\n1,ada,1.0\n"
    )
    from basin.lake.storage import Lake

    def boom(self, batch_dir, manifest):  # the process dies between data files and manifest
        raise KeyboardInterrupt

    monkeypatch.setattr(Lake, "write_manifest", boom)
    with pytest.raises(KeyboardInterrupt):
        platform.extract(["crm.customers"])
    monkeypatch.undo()
    assert platform.lake.complete_batches("crm", "customers") == []
    assert platform.store.processed_files("crm", "customers") == set()
    [result] = platform.extract(["crm.customers"])
    assert result.rows == 1
    assert len(platform.lake.complete_batches("crm", "customers")) == 1


def test_killed_after_manifest_is_completed_on_recovery(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kill between the manifest and the store update must not extract the file twice."""
    (platform.project.root / "drops" / "customers_001.csv").write_text(
        "customer_id,name,amount\n1,ada,1.0\n"
    )
    from basin.metadata.store import MetadataStore

    def killed(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(MetadataStore, "complete_batch", killed)
    monkeypatch.setattr(
        "basin.sources.base.BatchWriter.__exit__", lambda *a: None
    )  # kill -9: no cleanup
    with pytest.raises(KeyboardInterrupt):
        platform.extract(["crm.customers"])
    monkeypatch.undo()
    assert [b.status for b in platform.store.batches("crm", "customers")] == ["writing"]
    [result] = platform.extract(["crm.customers"])  # recovery completes the batch first
    assert result.batch_id is None
    assert [b.status for b in platform.store.batches("crm", "customers")] == ["complete"]
    assert len(platform.lake.complete_batches("crm", "customers")) == 1


def test_a_file_that_drops_a_column_is_quarantined_and_its_file_retried(platform: Platform) -> None:
    drops = platform.project.root / "drops"
    (drops / "events_001.jsonl").write_text('{"id": 1, "kind": "open"}\n')
    platform.extract(["crm.events"])
    (drops / "events_002.jsonl").write_text('{"id": 2}\n')  # kind is gone
    from basin.common.errors import ExtractError

    with pytest.raises(ExtractError, match=r"dropped column kind \(was VARCHAR\)"):
        platform.extract(["crm.events"])
    assert len(platform.lake.complete_batches("crm", "events")) == 1
    assert {p for p, _ in platform.store.processed_files("crm", "events")} == {"events_001.jsonl"}
    (drops / "events_002.jsonl").write_text(
        '{"id": 2, "kind": "click", "extra": true}\n'
    )  # fixed upstream
    [result] = platform.extract(["crm.events"])
    assert result.rows == 1
    assert platform.store.incidents(open_only=True) == []
    assert platform.store.schema_history("crm", "events")[-1].change == "new column extra BOOLEAN"


def test_a_column_dropped_in_one_file_of_several_breaks_the_contract(
    platform: Platform,
) -> None:
    """Read together, the batch still has the column (the other file has it): the file
    without it must not land with it empty."""
    drops = platform.project.root / "drops"
    (drops / "events_001.jsonl").write_text('{"id": 1, "kind": "open"}\n')
    platform.extract(["crm.events"])
    (drops / "events_002.jsonl").write_text('{"id": 2, "kind": "click"}\n')
    (drops / "events_003.jsonl").write_text('{"id": 3}\n')  # kind is gone here only
    from basin.common.errors import ContractError

    with pytest.raises(ContractError, match=r"dropped column kind \(was VARCHAR\) in events_003"):
        platform.extract(["crm.events"])
    assert len(platform.lake.complete_batches("crm", "events")) == 1
    [incident] = platform.store.incidents(open_only=True)
    assert incident.kind == "schema_breaking" and "events_003.jsonl" in incident.message
    (drops / "events_003.jsonl").write_text('{"id": 3, "kind": "open"}\n')  # sent again
    [result] = platform.extract(["crm.events"])
    assert result.rows == 2
    assert platform.store.incidents(open_only=True) == []
    assert platform.store.schema_history("crm", "events")[-1].change == "initial schema"


def test_several_files_in_one_batch_keep_their_names_lines_and_rejects(
    platform: Platform,
) -> None:
    # Same header: read in one scan. Each row and each rejected line still names its file.
    drops = platform.project.root / "drops"
    (drops / "customers_001.csv").write_text("customer_id,name,amount\n1,ada,1.5\n2,bad,x\n")
    (drops / "customers_002.csv").write_text(
        "customer_id,name,amount\n3,alan,2.5\n4,grace,3.5\n5,oops,y\n"
    )
    (drops / "customers_003.csv").write_text("customer_id,name,amount\n6,edsger,4.5\n")
    [result] = platform.extract(["crm.customers"])
    assert (result.rows, result.quarantined_rows, result.inputs) == (4, 2, 3)
    assert [(r[0], r[3]) for r in rows_of(platform, "customers")] == [
        (1, "customers_001.csv"),
        (3, "customers_002.csv"),
        (4, "customers_002.csv"),
        (6, "customers_003.csv"),
    ]
    assert [(r[0], r[1], r[3]) for r in quarantine_of(platform, "customers")] == [
        ("customers_001.csv", 3, "2,bad,x"),
        ("customers_002.csv", 4, "5,oops,y"),
    ]
    assert any("customers_002.csv: 1 record(s)" in q for q in result.quarantined)


def test_files_whose_headers_differ_are_read_one_by_one(platform: Platform) -> None:
    drops = platform.project.root / "drops"
    (drops / "events_001.jsonl").write_text('{"id": 1}\n')
    (drops / "customers_001.csv").write_text("customer_id,name,amount\n1,ada,1.5\n")
    (drops / "customers_002.csv").write_text("name,customer_id,amount\ngrace,2,2.5\n")
    [result] = platform.extract(["crm.customers"])
    assert (result.rows, result.quarantined_rows) == (2, 0)
    assert [r[:3] for r in rows_of(platform, "customers")] == [
        (1, "ada", 1.5),
        (2, "grace", 2.5),
    ]
