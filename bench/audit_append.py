"""Audit log appends on SQLite: Basin's hash-chained append vs a plain insert.

    python -m bench.audit_append --appends 10000 --pairs 3

Basin: :func:`basin.access.audit.append` ``--appends`` times into a fresh metadata
store (SQLite, WAL): each append is one transaction that reads the environment's head,
hashes the entry, inserts it and moves the head. Baseline: the same row inserted by
SQLAlchemy in a transaction of its own into the same kind of store, no chain: the floor
of one committed row. The target (BENCHMARKS-style, from the issue) is ≤ 2 ms per
append; the ratio to the baseline says what the chain costs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import alternate, machine, samples_json, summarise, write_result


def _store(folder: Path):  # noqa: ANN202
    from basin.metadata.store import open_store

    return open_store(f"sqlite:///{folder / 'metadata.db'}", env="dev")


def arm_basin(appends: int) -> None:
    from basin.access.audit import append, verify

    folder = Path(tempfile.mkdtemp(prefix="basin-bench-audit-"))
    try:
        store = _store(folder)
        started = time.monotonic()
        for i in range(appends):
            append(store, "run", ["--select", f"crm.e{i}"], "success", who="user:bench@h")
        seconds = time.monotonic() - started
        checked, problems = verify(store)
        assert checked == appends and not problems
        store.close()
        print(json.dumps({"seconds": seconds, "rows": appends}))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def arm_plain(appends: int) -> None:
    from basin.metadata.models import AuditEntry
    from basin.metadata.store import utcnow

    folder = Path(tempfile.mkdtemp(prefix="basin-bench-audit-"))
    try:
        store = _store(folder)
        started = time.monotonic()
        for i in range(appends):
            with store.session() as s:
                s.add(
                    AuditEntry(
                        env="dev",
                        seq=i + 1,
                        at=utcnow(),
                        actor="user:bench@h",
                        command="run",
                        arguments=json.dumps(["--select", f"crm.e{i}"]),
                        outcome="success",
                        prev_hash="0" * 64,
                        hash="0" * 64,
                    )
                )
        seconds = time.monotonic() - started
        store.close()
        print(json.dumps({"seconds": seconds, "rows": appends}))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--appends", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--arm", choices=["basin", "plain"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.arm == "basin":
        return arm_basin(args.appends)
    if args.arm == "plain":
        return arm_plain(args.appends)
    me = [sys.executable, "-m", "bench.audit_append", "--appends", str(args.appends), "--arm"]
    samples = alternate(args.pairs, ("plain", "basin"), me)
    summary = summarise(samples)
    per = {arm: summary[arm]["seconds"]["median"] / args.appends * 1000 for arm in summary}
    payload = {
        "benchmark": "audit-append",
        "appends": args.appends,
        "machine": machine(),
        "target": {"ms_per_append_max": 2.0},
        "ms_per_append": per,
        "ratio": per["basin"] / per["plain"],
        "summary": summary,
        "samples": samples_json(samples),
    }
    path = write_result(f"audit-append-{args.appends}", payload)
    print(
        f"{per['basin']:.2f} ms per append (plain insert {per['plain']:.2f} ms, "
        f"{payload['ratio']:.2f}x) → {path}"
    )


if __name__ == "__main__":
    main()
