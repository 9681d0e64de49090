"""Helpers of the observability tests: read a project's metadata store, let time pass,
and real receivers of alerts on 127.0.0.1 (HTTP, and SMTP with aiosmtpd)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest


def from_store(project: Path, read: Callable[[Any], Any]) -> Any:
    """``read(store)`` on the project's metadata store (dev environment)."""
    from basin.config import load_project
    from basin.metadata.store import open_store

    p = load_project(project)
    store = open_store(p.metadata_url, env=p.env_name)
    try:
        return read(store)
    finally:
        store.close()


def time_passes(project: Path, hours: float) -> None:
    """As if everything the project's store recorded happened ``hours`` earlier: the
    same, to the monitors, as waiting that long."""
    from bench.platform import shift_times

    from_store(project, lambda store: shift_times(store, hours))


def open_incidents(project: Path) -> list:
    return from_store(project, lambda s: s.incidents(open_only=True))


def deliveries(project: Path) -> list:
    return from_store(project, lambda s: s.deliveries())


def free_port() -> int:
    """A port nothing listens on yet (127.0.0.1)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    """An HTTP server recording every POST; ``/pd`` answers as PagerDuty's Events API
    v2 does (202, or 400 for an event without routing key or dedup key)."""

    def __init__(self, port: int = 0) -> None:
        self.posts: list[tuple[str, dict]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.posts.append((self.path, body))
                if self.path.startswith("/pd"):
                    ok = body.get("routing_key") and body.get("event_action") in (
                        "trigger",
                        "acknowledge",
                        "resolve",
                    )
                    ok = ok and (body["event_action"] == "trigger" or body.get("dedup_key"))
                    status, reply = (
                        (202, {"status": "success", "dedup_key": body.get("dedup_key")})
                        if ok
                        else (400, {"status": "invalid event"})
                    )
                else:
                    status, reply = 200, {"ok": True}
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def at(self, path: str) -> list[dict]:
        return [b for p, b in self.posts if p.startswith(path)]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def mailbox() -> Iterator[tuple[int, list[Message]]]:
    """A real SMTP server on 127.0.0.1: (its port, the messages it received)."""
    from aiosmtpd.controller import Controller

    received: list[Message] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802 - aiosmtpd's name
            received.append(message_from_bytes(envelope.original_content))
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, received
    controller.stop()
