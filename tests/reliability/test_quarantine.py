"""Defect 9: quarantine never loses data. A file that cannot be read as a whole keeps
its original bytes in the lake and is read again record by record, so its good rows
still land; the output names each quarantined file and why; with
``quarantine.fail_run`` the exit status says rows were quarantined."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.e2e

YML = """
project: drops
sources:
  shop:
    kind: files
    path: drops
    entities:
      orders:
        glob: "orders_*.csv"
      events:
        glob: "events_*.jsonl"
        columns: {id: INTEGER, amount: "DECIMAL(10,2)"}
      exports:
        glob: "exports_*.json"
"""


@pytest.fixture
def drops(tmp_path: Path) -> Path:
    (tmp_path / "basin.yml").write_text(YML)
    folder = tmp_path / "drops"
    folder.mkdir()
    huge = "x" * (3 * 1024 * 1024)  # longer than DuckDB's default 2 MB line limit
    (folder / "orders_001.csv").write_text(f"id,name\n1,a\n2,{huge}\n3,c\n")
    (folder / "events_001.jsonl").write_text(
        '{"id": 1, "amount": "1.50"}\n{"id": 2, "amount": "oops"}\n{"id": 3, "amount": "2"}\n'
    )
    (folder / "exports_001.json").write_text(
        '[{"id": 1, "n": "a"}, {"id": 2, "n": "b"}, {"id": 3, "n": '  # truncated
    )
    return tmp_path


def _lake(project: Path, entity: str, columns: str = "id") -> list[tuple]:
    parts = sorted((project / ".basin/dev/lake/bronze/shop" / entity).glob("batch=*/*.parquet"))
    files = [str(p) for p in parts]
    return duckdb.sql(f"select {columns} from read_parquet({files!r}) order by 1").fetchall()


def test_good_rows_of_a_file_that_fails_as_a_whole_still_land(cli, drops: Path) -> None:
    result = cli("extract", project=drops)
    assert result.exit_code == 0, result.output
    assert [r[0] for r in _lake(drops, "orders")] == [1, 2, 3]  # the long line is a row
    assert _lake(drops, "events", "id, amount::varchar") == [(1, "1.50"), (3, "2.00")]
    assert _lake(drops, "exports") == [(1,), (2,)]
    # The output names each file and the reason.
    assert "quarantined events_001.jsonl: 1 record(s)" in result.stdout
    assert "amount" in result.stdout
    assert "quarantined exports_001.json: 1 record(s), original kept" in result.stdout
    # The original bytes of a file that failed as a whole are in the lake.
    kept = list((drops / ".basin/dev/lake").rglob("original__exports_001.json"))
    assert len(kept) == 1
    assert kept[0].read_bytes() == (drops / "drops/exports_001.json").read_bytes()
    rejects = list((drops / ".basin/dev/lake").rglob("rejects.parquet"))
    reasons = [
        r
        for f in rejects
        for r in duckdb.sql(f"select file, line, reason, raw from '{f}'").fetchall()
    ]
    assert any(r[0] == "events_001.jsonl" and r[1] == 2 and "oops" in r[3] for r in reasons)
    assert any(r[0] == "exports_001.json" and "character" in r[2] for r in reasons)


def test_a_line_longer_than_the_limit_is_quarantined_and_the_rest_lands(cli, drops: Path) -> None:
    (drops / "basin.yml").write_text(
        YML.replace(
            'glob: "orders_*.csv"', 'glob: "orders_*.csv"\n        csv: {max_line_size: 1048576}'
        )
    )
    result = cli("extract", "--select", "shop.orders", project=drops)
    assert result.exit_code == 0, result.output
    assert [r[0] for r in _lake(drops, "orders")] == [1, 3]
    assert "LINE TOO LONG" in result.stdout and "original kept" in result.stdout


def test_fail_run_makes_the_exit_status_say_rows_were_quarantined(cli, drops: Path) -> None:
    (drops / "basin.yml").write_text(YML + "quarantine:\n  fail_run: true\n")
    result = cli("extract", project=drops)
    assert result.exit_code == 3
    assert "rows were quarantined" in result.stderr and "events_001.jsonl" in result.stderr
    # The good rows are in the lake all the same.
    assert _lake(drops, "exports") == [(1,), (2,)]
    manifests = list((drops / ".basin/dev/lake").rglob("_manifest.json"))
    assert sum(json.loads(m.read_text())["quarantined_rows"] for m in manifests) == 2


# --- release: read quarantined records again once the settings are fixed ---------------

ORDERS = "order_id,customer_email,amount,status,ordered_at\n"


def _batch_ids(text: str) -> list[str]:
    return [w for w in text.split() if w.startswith("20") and "Z-" in w]


def _set_csv(project: Path, options: str) -> None:
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text().replace(
            "        primary_key: [order_id]\n",
            f"        primary_key: [order_id]\n        csv: {{{options}}}\n",
        )
    )


def _raw_orders(project: Path) -> list[tuple]:
    with duckdb.connect(str(project / ".basin/dev/warehouse.duckdb"), read_only=True) as con:
        return con.execute(
            "select order_id, customer_email, ordered_at::varchar from raw.shop__orders order by 1"
        ).fetchall()


def test_release_reads_only_the_quarantined_records_again(cli, project: Path) -> None:
    assert cli("run", project=project).exit_code == 0
    # Day-first timestamps next to an ISO one: the good row lands, two are quarantined.
    (project / "drops/shop/orders_002.csv").write_text(
        ORDERS
        + "6,ken@example.org,10.00,paid,2026-01-06 10:00:00\n"
        + "7,tim@example.org,12.00,paid,06/01/2026 11:00\n"
        + "8,ann@example.org,14.00,paid,07/01/2026 12:00\n"
    )
    run = cli("run", project=project)
    assert run.exit_code == 0, run.output
    assert "basin quarantine release" in run.stdout
    [batch] = _batch_ids(cli("quarantine", "list", project=project).stdout)
    assert [r[0] for r in _raw_orders(project)] == [1, 2, 3, 4, 5, 6]

    # Nothing fixed yet: refused, and no batch made of the same failures.
    early = cli("quarantine", "release", batch, project=project)
    assert early.exit_code == 1 and "fails again with the settings as they are" in early.stderr
    assert "csv.timestampformat" in early.stderr
    assert _batch_ids(cli("quarantine", "list", project=project).stdout) == [batch]

    _set_csv(project, 'timestampformat: "%d/%m/%Y %H:%M"')
    released = cli("quarantine", "release", batch, project=project)
    assert released.exit_code == 0, released.output
    assert f"2 row(s) of batch {batch} released into batch" in released.stdout
    again = cli("quarantine", "release", batch, project=project)
    assert again.exit_code == 1 and "was released already" in again.stderr
    listed = cli("quarantine", "list", project=project).stdout
    into = _batch_ids(released.stdout)[-1].rstrip(";")
    flat = "".join(c for c in listed if c not in "│┃ \n")  # cells fold when narrow
    assert f"releasedinto{into}" in flat

    assert cli("run", project=project).exit_code == 0
    rows = _raw_orders(project)
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5, 6, 7, 8]  # none twice, none lost
    assert rows[6] == (7, "tim@example.org", "2026-01-06 11:00:00")
    # The released rows keep the file they came from.
    with duckdb.connect(str(project / ".basin/dev/warehouse.duckdb"), read_only=True) as con:
        assert con.execute(
            "select distinct _basin_source_file from raw.shop__orders where order_id >= 6"
        ).fetchall() == [("orders_002.csv",)]


def test_release_takes_undecodable_records_from_the_file_itself(cli, project: Path) -> None:
    # A Latin-1 file read as UTF-8: the quarantine shows its bad bytes as '??', so the
    # release reads those records from the dropped file (still the one taken).
    (project / "drops/shop/orders_002.csv").write_bytes(
        (
            ORDERS
            + "6,ken@example.org,10.00,paid,2026-01-06 10:00:00\n"
            + "7,ren\xe9@example.org,12.00,paid,2026-01-06 11:00:00\n"
            + "8,jos\xe9@example.org,not-a-number,paid,2026-01-07 12:00:00\n"
        ).encode("latin-1")
    )
    assert cli("extract", project=project).exit_code == 0
    [batch] = _batch_ids(cli("quarantine", "list", project=project).stdout)
    _set_csv(project, "encoding: latin-1")
    released = cli("quarantine", "release", batch, project=project)
    assert released.exit_code == 0, released.output
    assert "1 quarantined again" in released.stdout  # order 8's amount still fails
    assert cli("load", project=project).exit_code == 0
    assert (7, "rené@example.org", "2026-01-06 11:00:00") in _raw_orders(project)
    # What failed again keeps its line in the file dropped.
    listed = cli("quarantine", "list", project=project).stdout
    newest = _batch_ids(listed)[-1]
    assert cli("quarantine", "show", newest, project=project).exit_code == 0
    from basin.lake.quarantine import listing, records
    from basin.lake.storage import Lake

    lake = Lake(str(project / ".basin/dev/lake"))
    item = next(q for q in listing(lake) if q.batch_id == newest)
    assert [(f, line) for f, line, _, _ in records(lake, item)] == [("orders_002.csv", 4)]

    # The file changed in the drop folder since it was taken, and the quarantine kept
    # only '??' for its bad bytes: refused rather than landing mangled text.
    (project / "drops/shop/orders_003.csv").write_bytes(
        (ORDERS + "9,zo\xeb@example.org,1.00,paid,2026-01-08 10:00:00\n").encode("latin-1")
    )
    yml = project / "basin.yml"
    yml.write_text(yml.read_text().replace("        csv: {encoding: latin-1}\n", ""))
    assert cli("extract", project=project).exit_code == 0
    third = _batch_ids(cli("quarantine", "list", project=project).stdout)[-1]
    (project / "drops/shop/orders_003.csv").write_text(ORDERS)
    _set_csv(project, "encoding: latin-1")
    refused = cli("quarantine", "release", third, project=project)
    assert refused.exit_code == 1
    assert "orders_003.csv" in refused.stderr and "drop the file as it was taken" in refused.stderr


def test_two_releases_at_once_release_once(cli, project: Path) -> None:
    from tests.reliability.conftest import basin

    missing = cli("quarantine", "release", "20260101T000000000000Z-abcdef", project=project)
    assert missing.exit_code == 1 and "basin quarantine list" in missing.stderr
    (project / "drops/shop/orders_002.csv").write_text(
        ORDERS + "7,tim@example.org,12.00,paid,06/01/2026 11:00\n"
    )
    assert cli("extract", project=project).exit_code == 0
    [batch] = _batch_ids(cli("quarantine", "list", project=project).stdout)
    _set_csv(project, 'timestampformat: "%d/%m/%Y %H:%M"')
    procs = [basin(project, "quarantine", "release", batch) for _ in range(2)]
    outcomes = [(p.wait(timeout=600), p.stderr.read() if p.stderr else "") for p in procs]
    # One releases; the other is refused (released already: 1; busy: 75, EX_TEMPFAIL).
    assert sorted(code for code, _ in outcomes)[0] == 0, outcomes
    assert sorted(code for code, _ in outcomes)[1] in (1, 75), outcomes
    [refusal] = [err for code, err in outcomes if code]
    assert "released already" in refusal or "another command" in refusal, refusal
    assert cli("load", project=project).exit_code == 0
    assert [r[0] for r in _raw_orders(project)].count(7) == 1


def test_good_rows_of_a_latin1_file_read_record_by_record_keep_their_text(
    cli, project: Path
) -> None:
    # A file that fails as a whole (an unterminated quote) is read line by line and
    # written back for DuckDB: in csv.encoding, with the lines of the file dropped.
    _set_csv(project, "encoding: latin-1")
    (project / "drops/shop/orders_002.csv").write_bytes(
        (
            ORDERS
            + "6,ren\xe9@example.org,10.00,paid,2026-01-06 10:00:00\n"
            + "\n"
            + '7,"broken@example.org,12.00,paid,2026-01-06 11:00:00\n'
            + "8,ann@example.org,nope,paid,2026-01-07 12:00:00\n"
        ).encode("latin-1")
    )
    assert cli("extract", project=project).exit_code == 0
    assert cli("load", project=project).exit_code == 0
    assert (6, "rené@example.org", "2026-01-06 10:00:00") in _raw_orders(project)
    from basin.lake.quarantine import listing, records
    from basin.lake.storage import Lake

    lake = Lake(str(project / ".basin/dev/lake"))
    [item] = listing(lake)
    assert [(line, kind) for _, line, kind, _ in records(lake, item)] == [
        (4, "UNPARSABLE LINE"),
        (5, "CAST"),
    ]


def test_a_file_without_the_declared_columns_is_quarantined_whole_then_released(
    cli, project: Path
) -> None:
    # A semicolon file under declared columns: read anyway, its rows would land with
    # every declared column empty. Quarantined whole, naming the delimiter.
    (project / "drops/shop/orders_002.csv").write_text(
        ORDERS.replace(",", ";") + "6;ken@example.org;10.00;paid;2026-01-06 10:00:00\n"
    )
    result = cli("extract", project=project)
    assert result.exit_code == 0, result.output
    assert "whole file" in result.stdout and "set csv.delimiter: ';'" in result.stdout
    assert {r[1] for r in _lake_orders(project)} == {"orders_001.csv"}  # nothing of the second
    [batch] = _batch_ids(cli("quarantine", "list", project=project).stdout)
    _set_csv(project, 'delimiter: ";"')
    released = cli("quarantine", "release", batch, project=project)
    assert released.exit_code == 0, released.output
    assert cli("load", project=project).exit_code == 0
    assert (6, "ken@example.org", "2026-01-06 10:00:00") in _raw_orders(project)


def _lake_orders(project: Path) -> list[tuple]:
    parts = sorted(str(p) for p in (project / ".basin/dev/lake/bronze").rglob("*.parquet"))
    return duckdb.sql(
        f"select order_id, _basin_source_file from read_parquet({parts!r}, union_by_name = true) "
        "order by 1"
    ).fetchall()
