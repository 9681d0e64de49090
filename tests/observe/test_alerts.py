"""Alerts reach real receivers on 127.0.0.1: a Slack-style webhook, a generic webhook,
an endpoint keeping PagerDuty's Events v2 contract, and an SMTP server. One incident is
one alert per channel; acknowledge and resolve follow it; a channel that is down delays
nothing and loses nothing; quiet hours hold warnings; no secret is written anywhere."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.observe.conftest import deliveries, free_port, open_incidents

pytestmark = pytest.mark.e2e

HEADER = "order_id,customer_email,amount,status,ordered_at\n"
LOST = HEADER + "7,tim@example.org,99.00,lost,2026-01-07 10:00:00\n"
DRIFTED_AND_LOST = (
    HEADER.replace("\n", ",channel\n") + "7,tim@example.org,99.00,lost,2026-01-07 10:00:00,web\n"
)
TOKEN = "T0KEN-s3cr3t-ab12cd"


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
    from aiosmtpd.controller import Controller

    received: list[Message] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            received.append(message_from_bytes(envelope.original_content))
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, received
    controller.stop()


def _undeclare_columns(project: Path) -> None:
    """Columns as the files have them: a new one is drift (a warning)."""
    import re

    yml = project / "basin.yml"
    yml.write_text(re.sub(r"        columns:\n(          .*\n)+", "", yml.read_text()))


def _alerts(project: Path, channels: str) -> None:
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text() + "alerts:\n  attempts: 2\n  timeout_seconds: 5\n  channels:\n" + channels
    )


def test_a_failing_gate_alerts_each_channel_once_then_acknowledge_and_resolve(
    cli, project: Path, receiver: Receiver, mailbox: tuple[int, list[Message]]
) -> None:
    smtp_port, mails = mailbox
    base = f"http://127.0.0.1:{receiver.port}"
    _alerts(
        project,
        f"    team: {{kind: slack, url: '{base}/slack/{TOKEN}'}}\n"
        f"    hook: {{kind: webhook, url: '{base}/hook', headers: {{Authorization: 'Bearer {TOKEN}'}}}}\n"
        f"    oncall: {{kind: pagerduty, routing_key: '{TOKEN}', events_url: '{base}/pd', min_severity: error}}\n"
        f"    mail: {{kind: email, to: [data@example.org], smtp_host: 127.0.0.1, smtp_port: {smtp_port}}}\n",
    )
    _undeclare_columns(project)
    assert cli("run", project=project).exit_code == 0
    # A file with a new column (drift: a warning) and a status the tests refuse (the gate).
    (project / "drops/shop/orders_002.csv").write_text(DRIFTED_AND_LOST)
    for _ in range(2):  # the same problems twice: one incident each, one alert per channel
        assert cli("run", project=project).exit_code == 1
    [gate] = [i for i in open_incidents(project) if i.kind == "gate_failed"]
    # One problem, one incident: the failing test is the gate's incident, not also a
    # breach of the check pass rate.
    assert sorted(i.kind for i in open_incidents(project)) == ["gate_failed", "schema_drift"]

    slack = receiver.at("/slack")
    headers = sorted(m["blocks"][0]["text"]["text"].split("]")[1].split(":")[0] for m in slack)
    assert headers == [" gate_failed opened", " schema_drift opened"]
    [gate_msg] = [m for m in slack if "gate_failed" in m["blocks"][0]["text"]["text"]]
    assert "accepted_values" in json.dumps(gate_msg["blocks"])  # the failing check, with rows
    assert "lost" in json.dumps(gate_msg["blocks"])
    hooks = {h["incident"]["kind"]: h for h in receiver.at("/hook")}
    assert len(receiver.at("/hook")) == 2 and hooks["gate_failed"]["incident"]["id"] == gate.id
    assert hooks["gate_failed"]["action"] == "trigger"
    [pd] = receiver.at("/pd")  # min_severity: error — the warning did not page anyone
    assert pd["event_action"] == "trigger" and pd["dedup_key"] == gate.fingerprint
    assert pd["payload"]["severity"] == "error" and pd["routing_key"] == TOKEN
    assert sorted(m["Subject"].split("] ")[1].split(":")[0] for m in mails) == [
        "gate_failed opened",
        "schema_drift opened",
    ]
    mail = next(m for m in mails if "gate_failed" in m["Subject"])
    assert mail["To"] == "data@example.org"
    assert {p.get_content_type() for p in mail.walk()} >= {"text/plain", "text/html"}

    assert cli("incidents", "ack", str(gate.id), "--by", "ada", project=project).exit_code == 0
    assert [e["event_action"] for e in receiver.at("/pd")] == ["trigger", "acknowledge"]

    marts = project / "dbt/models/staging/shop/_shop__models.yml"
    marts.write_text(
        marts.read_text().replace(
            "values: [paid, pending, refunded]", "values: [paid, pending, refunded, lost]"
        )
    )
    assert cli("run", project=project).exit_code == 0
    assert [e["event_action"] for e in receiver.at("/pd")] == ["trigger", "acknowledge", "resolve"]
    assert receiver.at("/pd")[-1]["dedup_key"] == gate.fingerprint
    gate_hooks = [
        h["action"] for h in receiver.at("/hook") if h["incident"]["kind"] == "gate_failed"
    ]
    assert gate_hooks == ["trigger", "acknowledge", "resolve"]
    assert [
        m["Subject"].split(": ")[0].split("gate_failed ")[-1]
        for m in mails
        if "gate_failed" in m["Subject"]
    ] == [
        "opened",
        "acknowledged",
        "resolved",
    ]
    # Every delivery recorded as sent, the warnings (volume, drift) never reached
    # PagerDuty (min_severity: error).
    assert {d.status for d in deliveries(project)} == {"sent"}
    assert all(
        e.get("payload", {}).get("class", "gate_failed") == "gate_failed"
        for e in receiver.at("/pd")
    )
    # The secrets are nowhere Basin writes.
    for path in (project / ".basin").rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_a_channel_that_is_down_delays_nothing_and_loses_nothing(cli, project: Path) -> None:
    port = free_port()  # nothing listens there yet
    _alerts(project, f"    hook: {{kind: webhook, url: 'http://127.0.0.1:{port}/hook/{TOKEN}'}}\n")
    assert cli("run", project=project).exit_code == 0
    (project / "drops/shop/orders_002.csv").write_text(LOST)
    failed = cli("run", project=project)
    assert failed.exit_code == 1  # the gate's failure, not the alert's
    assert "not delivered to hook after 2 attempts" in failed.stdout
    failures = deliveries(project)
    assert len(failures) == 1  # the closed gate
    assert {(d.status, d.attempts) for d in failures} == {("failed", 2)}
    assert all(TOKEN not in (d.error or "") for d in failures) and TOKEN not in failed.output

    up = Receiver(port)
    try:
        assert cli("monitor", project=project).exit_code in (0, 1)
        sent = up.at("/hook")
        assert [h["incident"]["kind"] for h in sent] == ["gate_failed"]
        assert {h["action"] for h in sent} == {"trigger"}
        assert sorted(d.status for d in deliveries(project)) == ["retried", "sent"]
        assert cli("monitor", project=project).exit_code in (0, 1)
        assert len(up.at("/hook")) == 1  # sent once, not again
    finally:
        up.stop()


def test_quiet_hours_hold_warnings_but_not_errors(cli, project: Path, receiver: Receiver) -> None:
    now = datetime.now(UTC)
    window = f"{(now - timedelta(hours=1)):%H:%M}-{(now + timedelta(hours=1)):%H:%M}"
    _alerts(
        project,
        f"    hook: {{kind: webhook, url: 'http://127.0.0.1:{receiver.port}/hook', quiet_hours: '{window}'}}\n",
    )
    _undeclare_columns(project)
    assert cli("run", project=project).exit_code == 0
    (project / "drops/shop/orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at,channel\n"
        "8,x@example.org,5.00,paid,2026-01-08 10:00:00,web\n"
    )
    assert cli("run", project=project).exit_code == 0
    assert [i.kind for i in open_incidents(project)] == ["schema_drift"]
    assert receiver.at("/hook") == []  # held
    assert [d.status for d in deliveries(project)] == ["held"]
    # An error (this file drops the new column: the contract breaks, the run fails) is
    # sent at once; the warning stays held.
    (project / "drops/shop/orders_003.csv").write_text(LOST)
    assert cli("run", project=project).exit_code == 1
    sent = receiver.at("/hook")
    assert sorted(h["incident"]["kind"] for h in sent) == ["run_failed", "schema_breaking"]
    assert {h["incident"]["severity"] for h in sent} == {"error"}
    assert sorted(d.status for d in deliveries(project)) == ["held", "sent", "sent"]


def test_a_page_that_failed_is_dropped_once_the_incident_is_resolved(cli, project: Path) -> None:
    port = free_port()
    _alerts(
        project,
        f"    hook: {{kind: webhook, url: 'http://127.0.0.1:{port}/hook', kinds: [gate_failed]}}\n",
    )
    assert cli("run", project=project).exit_code == 0
    bad = project / "drops/shop/orders_002.csv"
    bad.write_text(LOST)
    assert cli("run", project=project).exit_code == 1  # the page fails: nobody listens
    [gate] = [i for i in open_incidents(project) if i.kind == "gate_failed"]
    assert cli("incidents", "resolve", str(gate.id), project=project).exit_code == 0
    up = Receiver(port)
    try:
        assert cli("monitor", project=project).exit_code in (0, 1)
        assert up.at("/hook") == []  # resolved meanwhile: no page, and no resolve either
        assert sorted(d.status for d in deliveries(project)) == ["dropped"]
    finally:
        up.stop()
