"""Alerts reach real receivers on 127.0.0.1: a Slack-style webhook, a generic webhook,
an endpoint keeping PagerDuty's Events v2 contract, and an SMTP server. One incident is
one alert per channel; acknowledge and resolve follow it; a channel that is down delays
nothing and loses nothing; quiet hours hold warnings; no secret is written anywhere."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

import pytest

from tests.observe.conftest import Receiver, deliveries, free_port, open_incidents

pytestmark = pytest.mark.e2e

HEADER = "order_id,customer_email,amount,status,ordered_at\n"
LOST = HEADER + "7,tim@example.org,99.00,lost,2026-01-07 10:00:00\n"
DRIFTED_AND_LOST = (
    HEADER.replace("\n", ",channel\n") + "7,tim@example.org,99.00,lost,2026-01-07 10:00:00,web\n"
)
TOKEN = "T0KEN-s3cr3t-ab12cd"


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
    # One problem, one incident: the broken contract is why the run failed.
    assert [h["incident"]["kind"] for h in sent] == ["schema_breaking"]
    assert {h["incident"]["severity"] for h in sent} == {"error"}
    assert sorted(d.status for d in deliveries(project)) == ["held", "sent"]


@pytest.mark.parametrize("kind", ["pagerduty", "webhook"])
def test_an_alert_that_failed_for_an_incident_resolved_meanwhile(
    cli, project: Path, kind: str
) -> None:
    """PagerDuty wakes someone: a page for an incident already resolved is dropped. A
    webhook (or Slack, e-mail) keeps a record: it gets the trigger late, then the end."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    channel = (
        f"{{kind: pagerduty, routing_key: k, events_url: '{url}', kinds: [gate_failed]}}"
        if kind == "pagerduty"
        else f"{{kind: webhook, url: '{url}', kinds: [gate_failed]}}"
    )
    _alerts(project, f"    hook: {channel}\n")
    assert cli("run", project=project).exit_code == 0
    bad = project / "drops/shop/orders_002.csv"
    bad.write_text(LOST)
    assert cli("run", project=project).exit_code == 1  # the alert fails: nobody listens
    [gate] = [i for i in open_incidents(project) if i.kind == "gate_failed"]
    assert cli("incidents", "resolve", str(gate.id), project=project).exit_code == 0
    up = Receiver(port)
    try:
        assert cli("monitor", project=project).exit_code in (0, 1)
        heard = [h.get("event_action") or h.get("action") for h in up.at("/hook")]
        statuses = sorted(d.status for d in deliveries(project))
        if kind == "pagerduty":
            assert heard == []  # resolved meanwhile: no page, and no resolve either
            assert [x for x in statuses if x != "retried"] == ["dropped"]
        else:
            assert heard == ["trigger", "resolve"]
            # Each failed attempt recorded (the run's, the resolve command's), then sent.
            assert [x for x in statuses if x != "retried"] == ["sent", "sent"]
        assert cli("monitor", project=project).exit_code in (0, 1)
        assert len(up.at("/hook")) == len(heard)  # nothing twice
    finally:
        up.stop()
