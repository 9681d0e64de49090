"""Quality-gate benchmark: Basin's single-scan table contract vs one hand-written query.

    python -m bench.gate --rows 10000000 --pairs 3 [--only duckdb|postgres]

Both arms check the same 8 rules on the extraction benchmark's ``transactions``
table (PostgreSQL: ``basin_bench.transactions_<rows>``; DuckDB: the same rows in a
DuckDB file under ``bench/.data``). Baseline: one hand-written aggregate query.
Basin: ``basin check`` of a ``basin.table_contract`` test on that table; the timed
part is the test's execution as dbt reports it (the SQL Basin's macro generates), and
``command_seconds`` records the whole ``Platform.check`` call, dbt's start-up and
parse included. Ratio = Basin / baseline (target ≤ 1.3).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.extract_postgres import DSN, SCHEMA, ensure_table, table_name
from bench.harness import alternate, machine, samples_json, summarise, write_result

DATA = Path(__file__).parent / ".data"

RULES = [
    {"rule": "not_null", "column": "transaction_id"},
    {"rule": "unique", "column": "transaction_id"},
    {"rule": "range", "column": "amount", "min": -2000, "max": 8000},
    {"rule": "accepted_values", "column": "currency", "values": ["EUR", "USD", "GBP", "CHF"]},
    {"rule": "accepted_values", "column": "status", "values": ["pending", "booked", "reversed"]},
    {"rule": "regex", "column": "memo", "pattern": "[0-9a-f]{32}"},
    {"rule": "mean", "column": "amount", "min": 2000, "max": 4000},
    {"rule": "row_count", "min": 1},
]


def hand_written(table: str, engine: str) -> str:
    regex = (
        "regexp_full_match(memo, '[0-9a-f]{32}')"
        if engine == "duckdb"
        else "memo ~ '^(?:[0-9a-f]{32})$'"
    )
    return f"""
    select
        count(*) as n,
        sum(case when transaction_id is null then 1 else 0 end) as ids_null,
        count(transaction_id) - count(distinct transaction_id) as ids_duplicated,
        sum(case when amount < -2000 or amount > 8000 then 1 else 0 end) as amount_out_of_range,
        sum(case when currency not in ('EUR', 'USD', 'GBP', 'CHF') then 1 else 0 end) as bad_currency,
        sum(case when status not in ('pending', 'booked', 'reversed') then 1 else 0 end) as bad_status,
        sum(case when memo is not null and not {regex} then 1 else 0 end) as bad_memo,
        avg(cast(amount as double precision)) as mean_amount
    from {table}
    """


def duckdb_file(rows: int) -> Path:
    return DATA / f"gate-{rows}.duckdb"


def prepare(rows: int) -> None:
    import duckdb

    ensure_table(rows)
    target = duckdb_file(rows)
    if target.exists():
        return
    DATA.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(target))
    con.execute("LOAD postgres_scanner")
    con.execute(
        "ATTACH 'dbname=test host=127.0.0.1 user=postgres' AS pg (TYPE postgres, READ_ONLY)"
    )
    con.execute(f"CREATE SCHEMA {SCHEMA}")
    con.execute(
        f"CREATE TABLE {SCHEMA}.transactions AS SELECT * FROM pg.{SCHEMA}.{table_name(rows)}"
    )
    con.close()


def arm_hand(rows: int, engine: str) -> None:
    if engine == "duckdb":
        import duckdb

        con = duckdb.connect(str(duckdb_file(rows)), read_only=True)
        started = time.monotonic()
        result = con.execute(hand_written(f"{SCHEMA}.transactions", "duckdb")).fetchone()
    else:
        import psycopg

        with psycopg.connect(DSN) as conn:
            started = time.monotonic()
            result = conn.execute(
                hand_written(f"{SCHEMA}.{table_name(rows)}", "postgres")
            ).fetchone()  # type: ignore[arg-type]
    seconds = time.monotonic() - started
    print(json.dumps({"seconds": seconds, "rows": rows, "result": [str(v) for v in result or []]}))


def arm_basin(rows: int, engine: str) -> None:
    import yaml

    from basin.config import load_project
    from basin.pipeline.platform import Platform

    folder = Path(tempfile.mkdtemp(prefix="basin-bench-"))
    try:
        (folder / "dbt" / "models").mkdir(parents=True)
        (folder / "dbt" / "dbt_project.yml").write_text(
            "name: gate\nversion: '1.0.0'\nprofile: gate\n"
        )
        identifier = "transactions" if engine == "duckdb" else table_name(rows)
        sources = {
            "version": 2,
            "sources": [
                {
                    "name": "bench",
                    "schema": SCHEMA,
                    "tables": [
                        {
                            "name": "transactions",
                            "identifier": identifier,
                            "data_tests": [
                                {"basin.table_contract": {"arguments": {"rules": RULES}}}
                            ],
                        }
                    ],
                }
            ],
        }
        (folder / "dbt" / "models" / "sources.yml").write_text(yaml.safe_dump(sources))
        warehouse = (
            f"{{engine: duckdb, path: '{duckdb_file(rows)}'}}"
            if engine == "duckdb"
            else f'{{engine: postgres, dsn: "{DSN}"}}'
        )
        (folder / "basin.yml").write_text(
            f"project: gate\nenvironments:\n  dev:\n    warehouse: {warehouse}\npublish: {{schemas: []}}\n"
        )
        platform = Platform(load_project(folder))
        platform.store  # noqa: B018
        started = time.monotonic()
        run = platform.check()
        command = time.monotonic() - started
        [node] = [n for n in run.nodes if n.unique_id.startswith("test.")]
        assert node.status == "pass", node
        platform.close()
        print(
            json.dumps({"seconds": node.execution_time, "rows": rows, "command_seconds": command})
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--only", choices=["duckdb", "postgres"])
    parser.add_argument("--arm", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm == "prepare":
        return prepare(args.rows)
    if args.arm:
        kind, engine = args.arm.split("-", 1)
        return arm_hand(args.rows, engine) if kind == "hand" else arm_basin(args.rows, engine)

    me = [sys.executable, "-m", "bench.gate", "--rows", str(args.rows), "--arm"]
    subprocess.run([*me, "prepare"], check=True)
    for engine in [args.only] if args.only else ["duckdb", "postgres"]:
        samples = alternate(args.pairs, (f"hand-{engine}", f"basin-{engine}"), me)
        summary = summarise(samples)
        ratio = (
            summary[f"basin-{engine}"]["seconds"]["median"]
            / summary[f"hand-{engine}"]["seconds"]["median"]
        )
        command = sorted(s.extra["command_seconds"] for s in samples if s.arm.startswith("basin"))
        payload = {
            "benchmark": f"gate-{engine}",
            "rows": args.rows,
            "rules": RULES,
            "machine": machine(),
            "target": {"time_ratio_max": 1.3},
            "time_ratio": ratio,
            "basin_command_seconds_median": command[len(command) // 2],
            "summary": summary,
            "samples": samples_json(samples),
        }
        path = write_result(f"gate-{engine}-{args.rows}", payload)
        print(f"{engine}: time ratio (basin/hand-written, medians) {ratio:.2f} → {path}")


if __name__ == "__main__":
    main()
