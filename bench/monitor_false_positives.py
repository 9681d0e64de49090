"""False positives of the monitors over normal days of the reference platform.

    python -m bench.monitor_false_positives --scale 0.01 --days 30

Day 1, then ``--days`` generated normal days (``generator.py --add-day``: about 1%
new and changed rows a day), each a whole ``basin run`` with the default monitors, a
day apart: before each day, every time the metadata store recorded moves 24 hours into
the past, so freshness is judged as on a daily platform. No schedule (runs here are
not at 05:00). Nothing in these days is wrong: every breach and every incident is a
false positive. Writes ``results/<date>-monitor-false-positives-<scale>.json`` with
each day's verdicts.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import machine, write_result
from bench.platform import EXAMPLE, own_port, run_generator, shift_times


def _platform(root: Path):  # noqa: ANN202
    from basin.config import load_project
    from basin.pipeline.platform import Platform

    return Platform(load_project(root))


def measure(scale: float, days: int) -> dict:
    work = Path(tempfile.mkdtemp(prefix="basin-fp-"))
    root = work / "reference"
    shutil.copytree(
        EXAMPLE, root, ignore=shutil.ignore_patterns(".basin", "drops", "data", "target", "logs")
    )
    own_port(root)
    yml = root / "basin.yml"
    yml.write_text(yml.read_text().replace('  schedule: "0 5 * * *"     # daily at 05:00\n', ""))

    def generate(*args: str) -> None:
        run_generator(root, scale, *args)

    out: list[dict] = []
    try:
        generate()
        for day in range(days + 1):
            if day:
                platform = _platform(root)
                shift_times(platform.store, 24)
                platform.close()
                generate("--add-day")
            started = time.monotonic()
            platform = _platform(root)
            try:
                run_id = platform.run().run_id
                verdicts = [
                    r for r in platform.store.monitor_results(limit=1000) if r.run_id == run_id
                ]
                opened = platform.store.incidents(limit=1000)
            finally:
                platform.close()
            counts: dict[str, int] = {}
            for r in verdicts:
                counts[r.status] = counts.get(r.status, 0) + 1
            out.append(
                {
                    "day": day + 1,
                    "seconds": round(time.monotonic() - started, 1),
                    "verdicts": counts,
                    "breaches": [
                        f"{r.monitor} {r.target}: {r.message}"
                        for r in verdicts
                        if r.status == "breach"
                    ],
                    "incidents_so_far": len(opened),
                }
            )
            print(f"day {day + 1}: {counts} incidents {len(opened)}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    judged = out[1:]  # day 1 is the first load: nothing to compare yet
    breaches = sum(len(d["breaches"]) for d in judged)
    verdicts = sum(d["verdicts"].get("ok", 0) + d["verdicts"].get("breach", 0) for d in judged)
    return {
        "benchmark": "monitor-false-positives",
        "scale": scale,
        "normal_days": days,
        "judged_verdicts": verdicts,
        "breaches": breaches,
        "false_positive_rate": breaches / verdicts if verdicts else None,
        "incidents": out[-1]["incidents_so_far"],
        "days": out,
        "machine": machine(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    result = measure(args.scale, args.days)
    path = write_result(f"monitor-false-positives-{args.scale:g}", result)
    print(
        f"{result['breaches']} breaches in {result['judged_verdicts']} verdicts over "
        f"{args.days} normal days ({result['incidents']} incidents) → {path}"
    )


if __name__ == "__main__":
    main()
