"""Incidents over a real project: a late source, a failing gate and a dropped column
each open exactly one incident, which resolves when fixed; ack and resolve by hand."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.observe.conftest import open_incidents

pytestmark = pytest.mark.e2e

HEADER = "order_id,customer_email,amount,status,ordered_at\n"


def _set(project: Path, text: str) -> None:
    yml = project / "basin.yml"
    yml.write_text(yml.read_text() + text)


def _incidents(cli, project: Path, *args: str) -> str:
    """``basin incidents list`` with the table's cells joined (they fold when narrow)."""
    result = cli("incidents", "list", *args, project=project)
    assert result.exit_code == 0, result.output
    return "".join(c for c in result.stdout if c not in "│┃ \n")


def test_a_late_source_opens_one_incident_that_resolves_when_rows_arrive(
    cli, project: Path
) -> None:
    assert cli("run", project=project).exit_code == 0
    _set(project, "monitors:\n  freshness: {max_age: 2s}\n")
    time.sleep(2.5)
    for _ in range(2):  # evaluated twice: still one incident, seen twice
        late = cli("monitor", project=project)
        assert late.exit_code == 1
        assert "no new rows for" in late.stdout
    [incident] = [
        i for i in open_incidents(project) if i.kind == "freshness_breach" and i.entity == "orders"
    ]
    assert incident.occurrences == 2 and incident.event_at is not None
    assert incident.event_at <= incident.opened_at  # began before it was detected

    (project / "drops/shop/orders_002.csv").write_text(
        HEADER + "6,ken@example.org,10.00,paid,2026-01-06 10:00:00\n"
    )
    yml = project / "basin.yml"  # a limit the run's own minutes fit in
    yml.write_text(yml.read_text().replace("{max_age: 2s}", "{max_age: 1h}"))
    run = cli("run", project=project)
    assert run.exit_code == 0, run.output
    assert f"incident {incident.id} resolved" in run.stdout
    assert not [
        i for i in open_incidents(project) if i.kind == "freshness_breach" and i.entity == "orders"
    ]
    assert str(incident.id) in _incidents(cli, project, "--all")
    shown = cli("incidents", "show", str(incident.id), project=project).stdout
    assert "by basin" in shown and "time to detect" in shown


def test_a_failing_gate_opens_an_incident_and_the_next_good_run_resolves_it(
    cli, project: Path
) -> None:
    assert cli("run", project=project).exit_code == 0
    bad = project / "drops/shop/orders_002.csv"
    bad.write_text(HEADER + "7,tim@example.org,99.00,lost,2026-01-07 10:00:00\n")
    for _ in range(2):
        assert cli("run", project=project).exit_code == 1
    [gate] = [i for i in open_incidents(project) if i.kind == "gate_failed"]
    assert gate.occurrences == 2 and "quality gate" in gate.message
    assert not [i for i in open_incidents(project) if i.kind == "run_failed"]

    # Acknowledged: still open, and says who.
    ack = cli("incidents", "ack", str(gate.id), "--by", "ada", project=project)
    assert ack.exit_code == 0 and "acknowledged by ada" in ack.stdout
    assert str(gate.id) in _incidents(cli, project)
    shown = cli("incidents", "show", str(gate.id), project=project)
    assert shown.exit_code == 0 and "gate_failed" in shown.stdout and "by ada" in shown.stdout

    marts = project / "dbt/models/staging/shop/_shop__models.yml"
    marts.write_text(
        marts.read_text().replace(
            "values: [paid, pending, refunded]", "values: [paid, pending, refunded, lost]"
        )
    )
    run = cli("run", project=project)
    assert run.exit_code == 0, run.output
    assert not [i for i in open_incidents(project) if i.kind == "gate_failed"]


def test_a_new_column_and_odd_commands(cli, project: Path) -> None:
    import re

    yml = project / "basin.yml"  # columns as the files have them (none declared)
    yml.write_text(re.sub(r"        columns:\n(          .*\n)+", "", yml.read_text()))
    assert cli("run", project=project).exit_code == 0
    # A new column: additive drift, a warn incident; the next batch without change resolves it.
    (project / "drops/shop/orders_002.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at,channel\n"
        "8,x@example.org,5.00,paid,2026-01-08 10:00:00,web\n"
    )
    assert cli("run", project=project).exit_code == 0
    [drift] = [i for i in open_incidents(project) if i.kind == "schema_drift"]
    assert drift.severity == "warn" and "channel" in drift.message

    # Odd orders and unknown ids: clear errors, nothing changed.
    missing = cli("incidents", "ack", "99999", project=project)
    assert missing.exit_code == 1 and "no incident 99999" in missing.stderr
    done = cli("incidents", "resolve", str(drift.id), "--by", "bob", project=project)
    assert done.exit_code == 0
    twice = cli("incidents", "resolve", str(drift.id), project=project)
    assert twice.exit_code == 1 and "resolved already" in twice.stderr and "bob" in twice.stderr

    # A later drift opens a new incident; a batch without change resolves it on its own.
    (project / "drops/shop/orders_003.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at,channel,coupon\n"
        "9,y@example.org,6.00,paid,2026-01-09 10:00:00,web,X1\n"
    )
    assert cli("run", project=project).exit_code == 0
    [again] = [i for i in open_incidents(project) if i.kind == "schema_drift"]
    assert again.id != drift.id and "coupon" in again.message
    (project / "drops/shop/orders_004.csv").write_text(
        "order_id,customer_email,amount,status,ordered_at,channel,coupon\n"
        "10,z@example.org,7.00,paid,2026-01-10 10:00:00,app,\n"
    )
    run = cli("run", project=project)
    assert run.exit_code == 0 and f"incident {again.id} resolved" in run.stdout
    assert cli("incidents", "show", "99999", project=project).exit_code == 1
