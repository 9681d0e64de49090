"""A real HTTP server on 127.0.0.1 for REST source tests.

It serves ``records`` under four pagination styles and can be told to fail:
``fail[(path, page)] = [429, 500, ...]`` answers the next requests of that page with
those statuses (``"always"`` for every request), and ``stall`` seconds delays answers.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TOKEN = "s3cret-token"
PAGE = 2


class FakeApi:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.fail: dict[tuple[str, str], Any] = {}
        self.requests: list[tuple[str, dict[str, str], int]] = []
        self.quirks: set[str] = set()
        """``stuck_cursor``: /cursor always answers next_cursor "2"; ``same_page``: /pages
        ignores its page parameter; ``shifted_offset``: /offset repeats each page's
        last record as the next page's first (a row moving while pages are read)."""
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                api.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeApi:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def _send(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlparse(h.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        path = url.path
        page_key = q.get("cursor") or q.get("page") or q.get("offset") or "first"
        with self.lock:
            plan = self.fail.get((path, page_key))
            status = None
            if plan == "always":
                status = 500
            elif plan:
                status = plan.pop(0)
            self.requests.append((path, q, status or 200))
        if h.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self._send(h, 401, {"error": "unauthorized"})
        if status == 429:
            return self._send(h, 429, {"error": "slow down"}, {"Retry-After": "1"})
        if status:
            return self._send(h, status, {"error": "boom"})

        rows = sorted(self.records, key=lambda r: r["id"])
        if "updated_since" in q:
            rows = [r for r in rows if r["updated_at"] >= q["updated_since"]]
        if path == "/cursor":
            start = int(q.get("cursor", 0))
            chunk = rows[start : start + PAGE]
            nxt = str(start + PAGE) if start + PAGE < len(rows) else None
            if "stuck_cursor" in self.quirks:
                nxt = "2"
            return self._send(h, 200, {"data": chunk, "next_cursor": nxt})
        if path == "/pages":
            page = 1 if "same_page" in self.quirks else int(q.get("page", 1))
            return self._send(h, 200, {"items": rows[(page - 1) * PAGE : page * PAGE]})
        if path == "/offset":
            offset, limit = int(q.get("offset", 0)), int(q.get("limit", PAGE))
            if "shifted_offset" in self.quirks and offset:
                offset -= 1
            return self._send(h, 200, {"items": rows[offset : offset + limit], "total": len(rows)})
        if path == "/links":
            page = 1 if "same_page" in self.quirks else int(q.get("page", 1))
            headers = {}
            if page * PAGE < len(rows):
                headers["Link"] = f'<{self.url}/links?page={page + 1}>; rel="next"'
            return self._send(h, 200, rows[(page - 1) * PAGE : page * PAGE], headers)
        return self._send(h, 404, {"error": "not found"})
