"""The reference platform's transform on PostgreSQL: ``basin transform`` against plain
``dbt build`` with a hand-written profile, on the same loaded raw tables.

    python -m bench.transform_postgres --scale 10 [--pairs 3] [--threads 4]

The sources are extracted and loaded once (the reference's ``postgres`` environment)
into a database of their own (``basin_bench_pg_<scale>``; dropped and made again by each benchmark). Before every
arm, whatever an earlier build made is dropped (every schema but ``raw`` and
``_basin``), so each arm builds from raw alone — incremental models and snapshots
included. Both arms are whole commands timed from outside (CLI start included):
``basin --env postgres transform`` (its generated profile, ANALYZE hooks, lineage, check
results) and ``dbt build`` with a profile written by hand (same threads). The result
goes to ``bench/results/<date>-transform-postgres-<scale>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from bench.harness import alternate, machine, samples_json, summarise, write_result

PG = os.environ.get("BASIN_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
BIN = Path(sys.executable).parent
KEEP = ("raw", "_basin", "public", "information_schema")
ENV = dict(os.environ)


def database(scale: float) -> str:
    return f"basin_bench_pg_{str(scale).replace('.', '_')}"


def dsn(scale: float) -> str:
    return PG.rsplit("/", 1)[0] + "/" + database(scale)


def prepare(scale: float, threads: int) -> Path:
    """The project's copy, its raw tables loaded once into the benchmark's database."""
    import psycopg

    from bench.platform import fresh_copy, generate

    generate(scale)
    root = fresh_copy(scale, "pg")
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database(scale)}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database(scale)}"')
    yml = root / "basin.yml"
    yml.write_text(yml.read_text().replace("\ndbt:\n", f"\ndbt:\n  threads: {threads}\n", 1))
    for step in ("extract", "load"):
        started = time.monotonic()
        subprocess.run(
            [str(BIN / "basin"), "--project", str(root), "--env", "postgres", step],
            check=True,
            env=ENV | {"BASIN_WAREHOUSE_DSN": dsn(scale)},
        )
        print(f"{step}: {time.monotonic() - started:.1f} s", file=sys.stderr)
    return root


def reset(scale: float) -> None:
    """Drop what a build made: every schema but raw, the ledger and the system's."""
    import psycopg

    with psycopg.connect(dsn(scale), autocommit=True) as conn:
        schemas = [
            r[0]
            for r in conn.execute(
                "select nspname from pg_namespace where left(nspname, 3) <> 'pg_' "
                "and nspname <> all(%s)",
                (list(KEEP),),
            )
        ]
        for schema in schemas:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        conn.execute("CHECKPOINT")


def root_of(scale: float) -> Path:
    from bench.platform import DATA

    return DATA / f"work-{scale:g}-pg"


def arm_basin(scale: float) -> dict[str, float]:
    reset(scale)
    started = time.monotonic()
    subprocess.run(
        [str(BIN / "basin"), "--project", str(root_of(scale)), "--env", "postgres", "transform"],
        check=True,
        capture_output=True,
        env=ENV | {"BASIN_WAREHOUSE_DSN": dsn(scale)},
    )
    return {"seconds": time.monotonic() - started}


def arm_dbt(scale: float) -> dict[str, float]:
    from basin.transform.package import install_package
    from bench.platform import plain_dbt_build

    reset(scale)
    root = root_of(scale)
    install_package(root / "dbt")  # what `dbt deps` would do: a file copy
    threads = yaml.safe_load((root / "basin.yml").read_text()).get("dbt", {}).get("threads", 1)
    target = {
        "type": "postgres",
        "host": "127.0.0.1",
        "port": 5432,
        "user": "postgres",
        "password": "",
        "dbname": database(scale),
        "schema": "public",
        "threads": threads,
        "keepalives_idle": 0,
    }
    return {"seconds": plain_dbt_build(root, target)}


ARMS = {"basin": arm_basin, "dbt": arm_dbt}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.transform_postgres", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--arm", choices=sorted(ARMS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm:
        print(json.dumps(ARMS[args.arm](args.scale)))
        return
    started = time.monotonic()
    prepare(args.scale, args.threads)
    prepared = time.monotonic() - started
    me = [sys.executable, "-m", "bench.transform_postgres", "--scale", str(args.scale), "--arm"]
    samples = alternate(args.pairs, ("dbt", "basin"), me, label="transform-postgres ")
    summary = summarise(samples)
    ratio = summary["basin"]["seconds"]["median"] / summary["dbt"]["seconds"]["median"]
    path = write_result(
        f"transform-postgres-{args.scale:g}",
        {
            "benchmark": "transform-postgres",
            "scale": args.scale,
            "threads": args.threads,
            "pairs": args.pairs,
            "prepare_seconds": prepared,
            "ratio": ratio,
            "target": 1.15,
            "summary": summary,
            "samples": samples_json(samples),
            "machine": machine(),
        },
    )
    print(f"basin / plain dbt build on PostgreSQL, scale {args.scale:g}: {ratio:.3f} ({path})")


if __name__ == "__main__":
    main()
