"""Generate the reference platform's CRM file drops from a fixed seed.

Deterministic: the same seed, scale and day give byte-identical files, so running it
again drops nothing new. ``--day N`` writes the files of day N (new and changed rows).

    python generate.py --out drops --scale 0.01 [--day 2]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from datetime import datetime, timedelta
from pathlib import Path

FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim"]
LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Perlman",
]
COUNTRIES = ["DE", "FR", "GB", "US", "NL", "SE", "ES", "IT"]
SEGMENTS = ["retail", "corporate", "institutional"]
CHANNELS = ["email", "phone", "meeting", "chat"]
EPOCH = datetime(2026, 1, 1)


def customers(rng: random.Random, n: int, day: int) -> list[dict[str, object]]:
    rows = []
    for cid in range(1, n + 1):
        signed = EPOCH + timedelta(days=rng.randrange(0, 300), seconds=rng.randrange(86400))
        first, last = rng.choice(FIRST), rng.choice(LAST)
        rows.append(
            {
                "customer_id": cid,
                "full_name": f"{first} {last}",
                "email": f"{first}.{last}.{cid}@example.org".lower(),
                "country_code": rng.choice(COUNTRIES),
                "segment": rng.choice(SEGMENTS),
                "signed_up_at": signed.isoformat(sep=" "),
                "updated_at": (signed + timedelta(days=day - 1)).isoformat(sep=" "),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "drops")
    parser.add_argument("--scale", type=float, default=0.01, help="1 ≈ 100k customers")
    parser.add_argument("--day", type=int, default=1, help="which day's drop to write")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    rng = random.Random(f"{args.seed}-{args.day}")
    n_customers = max(10, int(100_000 * args.scale))
    crm = args.out / "crm"
    crm.mkdir(parents=True, exist_ok=True)

    all_customers = customers(random.Random(args.seed), n_customers, 1)
    if args.day == 1:
        day_rows = all_customers
    else:
        # A day's drop: 1% changed customers and 1% new ones.
        changed = rng.sample(all_customers, max(1, n_customers // 100))
        for row in changed:
            row["segment"] = rng.choice(SEGMENTS)
            row["updated_at"] = (EPOCH + timedelta(days=300 + args.day)).isoformat(sep=" ")
        new = customers(rng, max(1, n_customers // 100), args.day)
        for i, row in enumerate(new, start=1):
            row["customer_id"] = n_customers * args.day + i
        day_rows = changed + new
    with open(crm / f"customers_day{args.day:03d}.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(day_rows[0]))
        writer.writeheader()
        writer.writerows(day_rows)

    ids = [int(r["customer_id"]) for r in day_rows]
    with open(crm / f"interactions_day{args.day:03d}.jsonl", "w", encoding="utf-8") as fh:
        for i in range(n_customers * 3 if args.day == 1 else len(ids) * 2):
            at = EPOCH + timedelta(
                days=rng.randrange(0, 300 + args.day), seconds=rng.randrange(86400)
            )
            record = {
                "interaction_id": args.day * 10_000_000 + i + 1,
                "customer_id": rng.choice(ids),
                "channel": rng.choice(CHANNELS),
                "occurred_at": at.isoformat(),
                "duration_minutes": rng.randrange(1, 90),
            }
            fh.write(json.dumps(record) + "\n")
    print(f"wrote day {args.day} drops for {n_customers} customers to {crm}")


if __name__ == "__main__":
    main()
