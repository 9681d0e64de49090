"""What the tests of the three orchestrators share."""

from __future__ import annotations

import json
from pathlib import Path


def assert_basin_lineage(project: Path) -> None:
    """Basin's own OpenLineage events of a run (whatever orchestrator ran the steps): a
    START and COMPLETE per step, column lineage on the reference's customer_360."""
    events = [
        json.loads(line)
        for line in (project / ".basin/dev/openlineage/events.jsonl").read_text().splitlines()
    ]
    kinds = {(e["job"]["name"].split(".")[0], e["eventType"]) for e in events}
    for step in ("extract", "load", "transform", "publish"):
        assert {(step, "START"), (step, "COMPLETE")} <= kinds, kinds
    columns = [
        o["name"]
        for e in events
        for o in e.get("outputs", [])
        if "columnLineage" in o.get("facets", {})
    ]
    assert "warehouse.marts.customer_360" in columns


def with_rest_source(project: Path, url: str, token: str, retries: str) -> None:
    """Add a REST source ``mail`` (one endpoint, one attempt per task) reading ``url``
    with ``token``, and ``retries`` (indented YAML) under ``orchestration:``."""
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text().replace(
            "\ndbt:",
            f"\n  mail:\n    kind: rest\n    base_url: {url}\n    auth: {{type: bearer, token: {token}}}\n"
            "    retries: {max_attempts: 1}\n"
            "    endpoints:\n      pages: {path: /pages, record_path: items, "
            "pagination: {type: page_number, page_param: page, base_page: 1}}\n\ndbt:",
            1,
        )
        + f"\norchestration:\n{retries}"
    )
