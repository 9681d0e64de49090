"""Load benchmarks: a lake batch → DuckDB and → PostgreSQL, Basin vs the plain tool.

    python -m bench.load --rows 10000000 --pairs 3 [--only duckdb|postgres]

The batch is the extraction benchmark's table (``bench.extract_postgres``), extracted
once by Basin into ``bench/.data/lake-<rows>`` (git-ignored) and reused.

- DuckDB: Basin's ``Platform.load`` into a new warehouse file vs
  ``CREATE TABLE t AS SELECT * FROM read_parquet(…)`` + ``CHECKPOINT`` into a new file.
- PostgreSQL: Basin's ``Platform.load`` into a new database vs a server-side
  ``COPY t FROM '<file>.csv' (FORMAT csv)`` of the same rows into a pre-created table
  in a new database (the CSV is written once, outside the clock).

Ratio = Basin / baseline (≤ 1.1 for DuckDB, ≤ 1.0 for PostgreSQL).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.extract_postgres import DSN, SCHEMA, ensure_table, table_name
from bench.harness import alternate, machine, samples_json, summarise, write_result

DATA = Path(__file__).parent / ".data"


def lake_dir(rows: int) -> Path:
    return DATA / f"lake-{rows}"


def project_yml(rows: int, warehouse: str) -> str:
    return f"""
project: bench
environments:
  dev:
    lake: {{url: "{lake_dir(rows)}"}}
    warehouse: {warehouse}
sources:
  fin:
    kind: postgres
    dsn: "{DSN}"
    schema: {SCHEMA}
    tables:
      transactions: {{table: {table_name(rows)}}}
"""


def ensure_lake(rows: int) -> list[str]:
    """Extract the table into the bench lake once; returns the batch's Parquet files."""
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    files = sorted(str(p) for p in lake_dir(rows).rglob("part-*.parquet"))
    if files:
        return files
    ensure_table(rows)
    folder = Path(tempfile.mkdtemp(prefix="basin-bench-"))
    (folder / "basin.yml").write_text(project_yml(rows, "{engine: duckdb}"))
    platform = Platform(load_project(folder))
    platform.extract()
    platform.close()
    shutil.rmtree(folder, ignore_errors=True)
    return sorted(str(p) for p in lake_dir(rows).rglob("part-*.parquet"))


def ensure_csv(rows: int, files: list[str]) -> Path:
    import duckdb

    csv = DATA / f"transactions-{rows}.csv"
    if not csv.exists():
        cols = "* exclude (_basin_batch_id, _basin_extracted_at)"
        duckdb.sql(
            f"COPY (SELECT {cols} FROM read_parquet({files!r}, hive_partitioning = false)) TO '{csv}' (FORMAT csv, HEADER false)"
        )
        csv.chmod(0o644)
    return csv


def _new_database() -> tuple[str, str]:
    import psycopg

    name = f"basin_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return name, DSN.rsplit("/", 1)[0] + "/" + name


def _drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def arm_basin(rows: int, engine: str) -> None:
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    folder = Path(tempfile.mkdtemp(prefix="basin-bench-"))
    db_name = None
    try:
        if engine == "duckdb":
            warehouse = "{engine: duckdb}"
        else:
            db_name, url = _new_database()
            warehouse = f'{{engine: postgres, dsn: "{url}"}}'
        (folder / "basin.yml").write_text(project_yml(rows, warehouse))
        platform = Platform(load_project(folder))
        import basin.warehouses.duckdb.load  # noqa: F401  (imports outside the clock, as in the baseline)

        platform.store  # noqa: B018
        started = time.monotonic()
        [result] = platform.load()
        seconds = time.monotonic() - started
        platform.close()
        print(json.dumps({"seconds": seconds, "rows": result.rows}))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if db_name:
            _drop_database(db_name)


def arm_duckdb_ctas(rows: int) -> None:
    import duckdb

    files = ensure_lake(rows)
    folder = Path(tempfile.mkdtemp(prefix="basin-bench-"))
    try:
        con = duckdb.connect(str(folder / "w.duckdb"))
        started = time.monotonic()
        con.execute(
            f"CREATE TABLE t AS SELECT * FROM read_parquet({files!r}, hive_partitioning = false)"
        )
        con.execute("CHECKPOINT")
        seconds = time.monotonic() - started
        n = con.execute("SELECT count(*) FROM t").fetchone()
        con.close()
        print(json.dumps({"seconds": seconds, "rows": n[0] if n else 0}))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def arm_pg_copy_csv(rows: int) -> None:
    import psycopg

    csv = DATA / f"transactions-{rows}.csv"
    db_name, url = _new_database()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                """
                create table t (transaction_id bigint, account_id int, amount numeric(12, 2), currency text,
                                status text, created_at timestamptz, updated_at timestamptz, memo text)
                """
            )
            started = time.monotonic()
            cur = conn.execute(f"copy t from '{csv}' (format csv)")
            seconds = time.monotonic() - started
            print(json.dumps({"seconds": seconds, "rows": cur.rowcount}))
    finally:
        _drop_database(db_name)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--only", choices=["duckdb", "postgres"])
    parser.add_argument("--arm", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm == "basin-duckdb":
        return arm_basin(args.rows, "duckdb")
    if args.arm == "basin-postgres":
        return arm_basin(args.rows, "postgres")
    if args.arm == "duckdb-ctas":
        return arm_duckdb_ctas(args.rows)
    if args.arm == "pg-copy-csv":
        return arm_pg_copy_csv(args.rows)
    if args.arm == "prepare":
        ensure_csv(args.rows, ensure_lake(args.rows))
        return None

    me = [sys.executable, "-m", "bench.load", "--rows", str(args.rows), "--arm"]
    # Preparing in a child keeps this parent small: a child's peak RSS as wait4 reports
    # it includes the parent's pages at fork time.
    subprocess.run([*me, "prepare"], check=True)
    engines = [args.only] if args.only else ["duckdb", "postgres"]
    for engine in engines:
        baseline = "duckdb-ctas" if engine == "duckdb" else "pg-copy-csv"
        samples = alternate(args.pairs, (baseline, f"basin-{engine}"), me)
        summary = summarise(samples)
        ratio = (
            summary[f"basin-{engine}"]["seconds"]["median"] / summary[baseline]["seconds"]["median"]
        )
        payload = {
            "benchmark": f"load-{engine}",
            "rows": args.rows,
            "machine": machine(),
            "target": {"time_ratio_max": 1.1 if engine == "duckdb" else 1.0},
            "time_ratio": ratio,
            "summary": summary,
            "samples": samples_json(samples),
        }
        path = write_result(f"load-{engine}-{args.rows}", payload)
        print(
            f"{engine}: time ratio (basin/baseline, medians) {ratio:.2f}; basin peak RSS "
            f"{summary[f'basin-{engine}']['peak_rss_mb_max']:.0f} MB → {path}"
        )


if __name__ == "__main__":
    main()
