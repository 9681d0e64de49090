"""Generate the reference platform's sources from a fixed seed.

An institution with three producer systems and one SaaS tool:

- finance and operations: one operational database (SQLite file by default,
  PostgreSQL with ``--postgres DSN``): customers, accounts, transactions; products,
  orders, order_items, inventory_snapshots;
- CRM: file drops (``drops/crm/interactions_dayNNN.csv``, ``opportunities_dayNNN.jsonl``);
- email marketing SaaS: a SQLite file (``data/email_saas.db``) that ``saas_api.py``
  serves as a REST API: campaigns and email events.

Scale 1 ≈ 1M transactions (20k customers), 0.01 ≈ 10k. Rows are written in chunks,
so memory stays flat at any scale. ``--add-day`` writes the next day: new and changed
customers, accounts, transactions (pending ones get booked or reversed), orders,
CRM drops and email events, about 1% of each table.

    python generator.py --scale 0.01            # day 1 (idempotent: same seed, same data)
    python generator.py --scale 0.01 --add-day  # day 2, 3, …
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
EPOCH = datetime(2025, 1, 1)
HISTORY_DAYS = 365
TODAY = EPOCH + timedelta(days=HISTORY_DAYS)
"""Day 1's "now": every row it writes is older; day N writes at TODAY + N - 1 days."""
CHUNK = 20_000

SEGMENTS = ["retail", "private", "institutional"]
RISK = ["low", "medium", "high"]
COUNTRIES = ["DE", "FR", "GB", "US", "NL", "SE", "ES", "IT", "CH", "AT"]
ACCOUNT_TYPES = ["checking", "savings", "investment"]
CURRENCIES = ["EUR", "USD", "GBP", "CHF"]
CATEGORIES = ["advisory", "custody", "reporting", "research", "trading"]
CHANNELS = ["email", "phone", "meeting", "chat"]
STAGES = ["prospect", "qualified", "proposal", "won", "lost"]
EVENTS = ["sent", "delivered", "opened", "clicked", "bounced", "unsubscribed"]

DDL = {
    "customers": "customer_id integer primary key, first_name text, last_name text, email text, "
    "phone text, country_code text, segment text, risk_rating text, created_at text, updated_at text",
    "accounts": "account_id integer primary key, customer_id integer, account_type text, currency text, "
    "status text, opened_at text, closed_at text, updated_at text",
    "transactions": "transaction_id integer primary key, account_id integer, amount numeric(12,2), "
    "currency text, direction text, status text, booked_at text, updated_at text",
    "products": "product_id integer primary key, sku text, product_name text, category text, "
    "unit_price numeric(10,2), is_active integer, updated_at text",
    "orders": "order_id integer primary key, customer_id integer, order_status text, ordered_at text, updated_at text",
    "order_items": "order_item_id integer primary key, order_id integer, product_id integer, quantity integer, "
    "unit_price numeric(10,2), updated_at text",
    "inventory_snapshots": "snapshot_date text, product_id integer, quantity_on_hand integer, "
    "primary key (snapshot_date, product_id)",
}
SAAS_DDL = {
    "campaigns": "campaign_id integer primary key, campaign_name text, subject text, sent_at text, updated_at text",
    "email_events": "event_id integer primary key, campaign_id integer, customer_email text, event_type text, "
    "occurred_at text",
}


def ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


class Sizes:
    def __init__(self, scale: float) -> None:
        self.customers = max(50, int(20_000 * scale))
        self.accounts = self.customers * 2
        self.transactions = max(500, int(1_000_000 * scale))
        self.products = max(20, int(2_000 * scale))
        self.orders = max(100, int(100_000 * scale))
        self.interactions = max(100, int(60_000 * scale))
        self.opportunities = max(20, int(10_000 * scale))
        self.campaigns = max(5, int(50 * scale**0.5))
        self.email_events = max(200, int(200_000 * scale))


class Database:
    """SQLite or PostgreSQL behind one small interface."""

    def __init__(self, target: str) -> None:
        self.pg = target.startswith("postgresql")
        if self.pg:
            import psycopg

            self.conn: Any = psycopg.connect(target)
        else:
            Path(target).parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(target)

    def create(self, tables: dict[str, str]) -> None:
        for name, cols in tables.items():
            cols = cols.replace("integer primary key", "bigint primary key") if self.pg else cols
            self.conn.execute(f"create table if not exists {name} ({cols})")
        self.conn.commit()

    def count(self, table: str) -> int:
        return int(self.conn.execute(f"select count(*) from {table}").fetchone()[0])

    def upsert(
        self, table: str, rows: Iterator[tuple[Any, ...]], columns: list[str], key: list[str]
    ) -> None:
        marks = ", ".join(["%s" if self.pg else "?"] * len(columns))
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
        sql = f"insert into {table} ({', '.join(columns)}) values ({marks}) on conflict ({', '.join(key)}) do update set {updates}"
        chunk: list[tuple[Any, ...]] = []
        cur = self.conn.cursor()
        for row in rows:
            chunk.append(row)
            if len(chunk) >= CHUNK:
                cur.executemany(sql, chunk)
                chunk.clear()
        if chunk:
            cur.executemany(sql, chunk)
        self.conn.commit()

    def fetch(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(sql).fetchall())


def columns_of(ddl: str) -> list[str]:
    """Column names of a DDL column list (ignores table constraints and type arguments)."""
    parts = [p.split() for p in ddl.split(",")]
    return [p[0] for p in parts if len(p) >= 2 and p[0] != "primary"]


COLS = {table: columns_of(ddl) for table, ddl in {**DDL, **SAAS_DDL}.items()}


class Generator:
    def __init__(self, root: Path, scale: float, seed: int, database: str | None) -> None:
        self.root = root
        self.sizes = Sizes(scale)
        self.seed = seed
        self.state_file = root / "data" / "generator_state.json"
        self.db = Database(database or str(root / "data" / "operational.db"))
        self.saas = Database(str(root / "data" / "email_saas.db"))
        from faker import Faker

        self.faker = Faker(["en_GB", "de_DE", "fr_FR"])
        self.faker.seed_instance(seed)

    def rng(self, *parts: object) -> random.Random:
        return random.Random("-".join(str(p) for p in (self.seed, *parts)))

    # --- day 1 -------------------------------------------------------------------

    def customer(self, cid: int, rng: random.Random, day: int) -> tuple[Any, ...]:
        created = EPOCH + timedelta(
            days=rng.randrange(0, HISTORY_DAYS) if day == 1 else HISTORY_DAYS + day - 1,
            seconds=rng.randrange(86_400),
        )
        first, last = self.faker.first_name(), self.faker.last_name()
        email = f"{first}.{last}.{cid}@example.org".lower().replace(" ", "")
        return (
            cid,
            first,
            last,
            email,
            f"+44 20 {rng.randrange(1000, 9999)} {rng.randrange(1000, 9999)}",
            rng.choice(COUNTRIES),
            rng.choices(SEGMENTS, [6, 3, 1])[0],
            rng.choices(RISK, [6, 3, 1])[0],
            ts(created),
            ts(created),
        )

    def day_one(self) -> None:
        s = self.sizes
        self.db.create(DDL)
        self.saas.create(SAAS_DDL)
        if self.db.count("customers"):
            return  # already generated: same seed, same data
        rng = self.rng("customers")
        self.db.upsert(
            "customers",
            (self.customer(i, rng, 1) for i in range(1, s.customers + 1)),
            COLS["customers"],
            ["customer_id"],
        )
        rng = self.rng("accounts")
        self.db.upsert(
            "accounts",
            (
                self.account(i, rng.randrange(1, s.customers + 1), rng, 1)
                for i in range(1, s.accounts + 1)
            ),
            COLS["accounts"],
            ["account_id"],
        )
        rng = self.rng("transactions")
        self.db.upsert(
            "transactions",
            (self.transaction(i, rng, 1) for i in range(1, s.transactions + 1)),
            COLS["transactions"],
            ["transaction_id"],
        )
        rng = self.rng("products")
        self.db.upsert(
            "products",
            (
                (
                    i,
                    f"SKU-{i:05d}",
                    f"{rng.choice(CATEGORIES).title()} package {i}",
                    rng.choice(CATEGORIES),
                    round(rng.uniform(50, 5000), 2),
                    1,
                    ts(EPOCH),
                )
                for i in range(1, s.products + 1)
            ),
            COLS["products"],
            ["product_id"],
        )
        self.orders(1, s.orders, 1)
        self.inventory(1)
        self.crm(1, s.interactions, s.opportunities)
        self.email(1)
        self.save_state(1)

    def account(self, aid: int, cid: int, rng: random.Random, day: int) -> tuple[Any, ...]:
        opened = EPOCH + timedelta(
            days=rng.randrange(0, HISTORY_DAYS) if day == 1 else HISTORY_DAYS + day - 1
        )
        status = (
            rng.choices(["active", "dormant", "closed"], [8, 1, 1])[0] if day == 1 else "active"
        )
        # Closed before day 1 ends: a change dated after "today" would hold the
        # incremental watermark in the future and hide every later day's changes.
        closed = (
            ts(min(opened + timedelta(days=rng.randrange(1, 200)), TODAY - timedelta(hours=1)))
            if status == "closed"
            else None
        )
        return (
            aid,
            cid,
            rng.choice(ACCOUNT_TYPES),
            rng.choice(CURRENCIES),
            status,
            ts(opened),
            closed,
            closed or ts(opened),
        )

    def transaction(self, tid: int, rng: random.Random, day: int) -> tuple[Any, ...]:
        booked = (
            EPOCH + timedelta(days=rng.randrange(0, HISTORY_DAYS), seconds=rng.randrange(86_400))
            if day == 1
            else EPOCH + timedelta(days=HISTORY_DAYS + day - 1, seconds=rng.randrange(86_400))
        )
        status = (
            rng.choices(["booked", "pending", "reversed"], [90, 8, 2])[0] if day == 1 else "pending"
        )
        direction = rng.choice(["credit", "debit"])
        amount = round(rng.lognormvariate(5, 1.2), 2)
        return (
            tid,
            rng.randrange(1, self.sizes.accounts + 1),
            amount,
            rng.choice(CURRENCIES),
            direction,
            status,
            ts(booked),
            ts(booked),
        )

    def orders(self, day: int, n: int, start: int) -> None:
        rng = self.rng("orders", day)
        orders, items = [], []
        item_id = (
            self.db.fetch("select coalesce(max(order_item_id), 0) from order_items")[0][0]
            if day > 1
            else 0
        )
        for oid in range(start, start + n):
            at = (
                EPOCH
                + timedelta(days=rng.randrange(0, HISTORY_DAYS), seconds=rng.randrange(86_400))
                if day == 1
                else EPOCH + timedelta(days=HISTORY_DAYS + day - 1, seconds=rng.randrange(86_400))
            )
            status = (
                rng.choices(["placed", "shipped", "delivered", "cancelled"], [1, 1, 7, 1])[0]
                if day == 1
                else "placed"
            )
            orders.append((oid, rng.randrange(1, self.sizes.customers + 1), status, ts(at), ts(at)))
            for _ in range(rng.choice([1, 1, 2, 3])):
                item_id += 1
                items.append(
                    (
                        item_id,
                        oid,
                        rng.randrange(1, self.sizes.products + 1),
                        rng.randrange(1, 5),
                        round(rng.uniform(50, 5000), 2),
                        ts(at),
                    )
                )
        self.db.upsert("orders", iter(orders), COLS["orders"], ["order_id"])
        self.db.upsert("order_items", iter(items), COLS["order_items"], ["order_item_id"])

    def inventory(self, day: int) -> None:
        rng = self.rng("inventory", day)
        date = (EPOCH + timedelta(days=HISTORY_DAYS + day - 1)).strftime("%Y-%m-%d")
        self.db.upsert(
            "inventory_snapshots",
            ((date, p, rng.randrange(0, 500)) for p in range(1, self.sizes.products + 1)),
            COLS["inventory_snapshots"],
            ["snapshot_date", "product_id"],
        )

    def crm(self, day: int, n_interactions: int, n_opportunities: int) -> None:
        rng = self.rng("crm", day)
        folder = self.root / "drops" / "crm"
        folder.mkdir(parents=True, exist_ok=True)
        base_i = (day - 1) * 10_000_000
        with open(
            folder / f"interactions_day{day:03d}.csv", "w", newline="", encoding="utf-8"
        ) as fh:
            out = csv.writer(fh)
            out.writerow(
                [
                    "interaction_id",
                    "customer_id",
                    "channel",
                    "direction",
                    "occurred_at",
                    "duration_minutes",
                    "notes",
                ]
            )
            for i in range(1, n_interactions + 1):
                at = EPOCH + timedelta(
                    days=rng.randrange(0, HISTORY_DAYS) if day == 1 else HISTORY_DAYS + day - 1,
                    seconds=rng.randrange(86_400),
                )
                out.writerow(
                    [
                        base_i + i,
                        rng.randrange(1, self.sizes.customers + 1),
                        rng.choice(CHANNELS),
                        rng.choice(["inbound", "outbound"]),
                        ts(at),
                        rng.randrange(1, 90),
                        rng.choice(
                            [
                                "",
                                "follow up",
                                "pricing question",
                                "complaint, resolved",
                                "portfolio review",
                            ]
                        ),
                    ]
                )
        with open(folder / f"opportunities_day{day:03d}.jsonl", "w", encoding="utf-8") as fh:
            for i in range(1, n_opportunities + 1):
                oid = (
                    i if day == 1 else rng.randrange(1, self.sizes.opportunities + 1)
                )  # later days: stage changes
                created = EPOCH + timedelta(days=rng.randrange(0, HISTORY_DAYS))
                updated = created if day == 1 else EPOCH + timedelta(days=HISTORY_DAYS + day - 1)
                record = {
                    "opportunity_id": oid,
                    "customer_id": rng.randrange(1, self.sizes.customers + 1),
                    "stage": rng.choice(STAGES),
                    "amount": round(rng.uniform(1_000, 500_000), 2),
                    "currency": rng.choice(CURRENCIES),
                    "owner": self.faker.name(),
                    "created_at": ts(created),
                    "updated_at": ts(updated),
                }
                fh.write(json.dumps(record) + "\n")

    def email(self, day: int) -> None:
        rng = self.rng("email", day)
        s = self.sizes
        start_c = 1 if day == 1 else s.campaigns + day - 1
        count_c = s.campaigns if day == 1 else 1
        campaigns = []
        for c in range(start_c, start_c + count_c):
            # Day 1's campaigns end 4 days before "today", so every later event is newer
            # than any earlier one: occurred_at works as the API's incremental cursor.
            sent = (
                EPOCH + timedelta(days=rng.randrange(0, HISTORY_DAYS - 4))
                if day == 1
                else EPOCH + timedelta(days=HISTORY_DAYS + day - 1)
            )
            campaigns.append(
                (
                    c,
                    f"Campaign {c}: {rng.choice(CATEGORIES)} update",
                    self.faker.sentence(nb_words=6),
                    ts(sent),
                    ts(sent),
                )
            )
        self.saas.upsert("campaigns", iter(campaigns), COLS["campaigns"], ["campaign_id"])
        emails = [r[0] for r in self.db.fetch("select email from customers order by customer_id")]
        start_e = self.saas.fetch("select coalesce(max(event_id), 0) from email_events")[0][0] + 1
        n = s.email_events if day == 1 else max(20, s.email_events // 100)

        def events() -> Iterator[tuple[Any, ...]]:
            for e in range(start_e, start_e + n):
                cid, _, _, _, sent = campaigns[e % len(campaigns)]
                window = 4320 if day == 1 else 1439  # later days: events of that day only
                at = datetime.strptime(sent, "%Y-%m-%d %H:%M:%S") + timedelta(
                    minutes=rng.randrange(0, window)
                )
                yield (
                    e,
                    cid,
                    rng.choice(emails),
                    rng.choices(EVENTS, [30, 28, 20, 12, 6, 4])[0],
                    ts(at),
                )

        self.saas.upsert("email_events", events(), COLS["email_events"], ["event_id"])

    # --- later days --------------------------------------------------------------

    def add_day(self) -> int:
        day = self.load_state() + 1
        s = self.sizes
        rng = self.rng("day", day)
        now = EPOCH + timedelta(days=HISTORY_DAYS + day - 1)
        n_cust = self.db.count("customers")
        # 1% new customers, 1% changed (segment or risk re-rated).
        new = [
            self.customer(n_cust + i, rng, day) for i in range(1, max(1, s.customers // 100) + 1)
        ]
        changed = []
        for cid in rng.sample(range(1, n_cust + 1), max(1, s.customers // 100)):
            row = list(self.db.fetch(f"select * from customers where customer_id = {cid}")[0])
            row[6], row[7], row[9] = (
                rng.choice(SEGMENTS),
                rng.choice(RISK),
                ts(now + timedelta(hours=9)),
            )
            changed.append(tuple(row))
        self.db.upsert("customers", iter(new + changed), COLS["customers"], ["customer_id"])
        n_acc = self.db.count("accounts")
        accounts = [
            self.account(n_acc + i, new[i % len(new)][0], rng, day) for i in range(1, len(new) + 1)
        ]
        for aid in rng.sample(range(1, n_acc + 1), max(1, n_acc // 200)):
            row = list(self.db.fetch(f"select * from accounts where account_id = {aid}")[0])
            row[4], row[7] = rng.choice(["active", "dormant"]), ts(now + timedelta(hours=10))
            accounts.append(tuple(row))
        self.db.upsert("accounts", iter(accounts), COLS["accounts"], ["account_id"])
        # 1% new transactions; pending ones from earlier days get booked or reversed.
        n_tx = self.db.count("transactions")
        txs = [
            self.transaction(n_tx + i, rng, day)
            for i in range(1, max(1, s.transactions // 100) + 1)
        ]
        for row in self.db.fetch(
            "select * from transactions where status = 'pending' order by transaction_id limit "
            f"{max(1, s.transactions // 200)}"
        ):
            row = list(row)
            row[5], row[7] = (
                rng.choices(["booked", "reversed"], [9, 1])[0],
                ts(now + timedelta(hours=11)),
            )
            txs.append(tuple(row))
        self.db.upsert("transactions", iter(txs), COLS["transactions"], ["transaction_id"])
        n_orders = self.db.count("orders")
        self.orders(day, max(1, s.orders // 100), n_orders + 1)
        shipped = []
        for row in self.db.fetch(
            "select * from orders where order_status in ('placed', 'shipped') order by order_id "
            f"limit {max(1, s.orders // 200)}"
        ):
            row = list(row)
            row[2], row[4] = (
                "shipped" if row[2] == "placed" else "delivered",
                ts(now + timedelta(hours=12)),
            )
            shipped.append(tuple(row))
        self.db.upsert("orders", iter(shipped), COLS["orders"], ["order_id"])
        self.inventory(day)
        self.crm(day, max(1, s.interactions // 100), max(1, s.opportunities // 100))
        self.email(day)
        self.save_state(day)
        return day

    def load_state(self) -> int:
        if not self.state_file.exists():
            raise SystemExit("no day 1 yet: run the generator without --add-day first")
        return int(json.loads(self.state_file.read_text())["day"])

    def save_state(self, day: int) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps({"day": day, "seed": self.seed}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--root", type=Path, default=HERE, help="folder of basin.yml (data/ and drops/ go there)"
    )
    parser.add_argument("--scale", type=float, default=0.01, help="1 ≈ 1M transactions")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--postgres", metavar="DSN", help="write finance/operations to PostgreSQL instead of SQLite"
    )
    parser.add_argument(
        "--add-day", action="store_true", help="add the next day of new and changed rows"
    )
    args = parser.parse_args()
    gen = Generator(args.root, args.scale, args.seed, args.postgres)
    if args.add_day:
        day = gen.add_day()
        print(f"added day {day}")
    else:
        gen.day_one()
        print(
            f"day 1 ready at scale {args.scale}: {gen.sizes.transactions:,} transactions, "
            f"{gen.sizes.customers:,} customers"
        )


if __name__ == "__main__":
    main()
