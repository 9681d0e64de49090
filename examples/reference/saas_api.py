"""The email-marketing SaaS of the reference platform: a small REST API over
``data/email_saas.db`` with what real SaaS APIs have — bearer auth, cursor
pagination and a rate limit that answers 429 with ``Retry-After``.

    python saas_api.py --port 8765 [--db data/email_saas.db] [--rate 50]

Basin starts it for the example (``services:`` in basin.yml) on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def create_app(db_path: Path, token: str, rate_per_second: int) -> Any:
    from fastapi import FastAPI, Header, HTTPException, Query
    from fastapi.responses import JSONResponse

    app = FastAPI(title="Email SaaS (reference platform)")
    window: list[float] = []
    lock = threading.Lock()

    def authorize(authorization: str | None) -> None:
        if authorization != f"Bearer {token}":
            raise HTTPException(status_code=401, detail="missing or wrong bearer token")

    def limited() -> JSONResponse | None:
        now = time.monotonic()
        with lock:
            while window and now - window[0] > 1.0:
                window.pop(0)
            if len(window) >= rate_per_second:
                return JSONResponse(
                    {"error": "rate limit exceeded"}, status_code=429, headers={"Retry-After": "1"}
                )
            window.append(now)
        return None

    def page(
        table: str, key: str, since_column: str, since: str | None, cursor: int, limit: int
    ) -> dict[str, Any]:
        with sqlite3.connect(db_path) as conn:
            conn.row_factory = sqlite3.Row
            where, params = f"{key} > ?", [cursor]
            if since:
                where += f" and {since_column} >= ?"
                params.append(since.replace("T", " ")[:19])
            rows = conn.execute(
                f"select * from {table} where {where} order by {key} limit ?", [*params, limit + 1]
            ).fetchall()
        data = [dict(r) for r in rows[:limit]]
        next_cursor = str(data[-1][key]) if len(rows) > limit else None
        return {"data": data, "next_cursor": next_cursor}

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/campaigns")
    def campaigns(
        authorization: str | None = Header(default=None),
        updated_since: str | None = None,
        cursor: int = 0,
        limit: int = Query(default=100, le=1000),
    ) -> Any:
        authorize(authorization)
        return limited() or page(
            "campaigns", "campaign_id", "updated_at", updated_since, cursor, limit
        )

    @app.get("/v1/email_events")
    def email_events(
        authorization: str | None = Header(default=None),
        occurred_since: str | None = None,
        cursor: int = 0,
        limit: int = Query(default=500, le=5000),
    ) -> Any:
        authorize(authorization)
        return limited() or page(
            "email_events", "event_id", "occurred_at", occurred_since, cursor, limit
        )

    return app


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--db", type=Path, default=HERE / "data" / "email_saas.db")
    parser.add_argument("--rate", type=int, default=50, help="requests per second before 429")
    args = parser.parse_args()
    import uvicorn

    token = os.environ.get("EMAIL_SAAS_TOKEN", "reference-token")
    uvicorn.run(
        create_app(args.db, token, args.rate), host="127.0.0.1", port=args.port, log_level="warning"
    )


if __name__ == "__main__":
    main()
