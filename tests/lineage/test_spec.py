"""The OpenLineage schema the lineage tests validate against: current, and strict."""

from __future__ import annotations

import copy
import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from basin.lineage.configuration import LineageConfig
from basin.lineage.events import DatasetRef, Lineage, run_uuid
from tests.lineage.test_lineage import SPEC, assert_valid

CASES = Path(__file__).parent / "cases"


def test_the_schema_file_matches_the_installed_openlineage_client() -> None:
    spec = importlib.util.spec_from_file_location("make", CASES / "make_openlineage_schema.py")
    assert spec and spec.loader
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    assert make.build() == SPEC, "run tests/lineage/cases/make_openlineage_schema.py"
    jsonschema.validators.validator_for(SPEC).check_schema(SPEC)


@pytest.fixture
def written(tmp_path: Path) -> list[dict]:
    """Events Basin wrote, read back from the file: a step's START and COMPLETE, and a
    FAIL with an error."""
    lineage = Lineage(LineageConfig(), "basin-test", tmp_path)
    with lineage.step("extract.crm.customers", "run-1", "run") as step:
        step.outputs.append(DatasetRef("file", "/lake/crm/customers", [("id", "BIGINT")], rows=3))
    lineage.emit(
        "FAIL",
        "load",
        run_uuid("run-1", "load"),
        error=ValueError("boom"),
        event_time=datetime.now(UTC),
    )
    lineage.close()
    assert not lineage.errors
    return [json.loads(line) for line in lineage.events_file.read_text().splitlines()]


@pytest.fixture
def event(written: list[dict]) -> dict:
    """The step's COMPLETE event, with the facets Basin writes."""
    return written[1]


def test_basins_facets_are_spec_facets_and_valid(event: dict, written: list[dict]) -> None:
    fail = written[2]
    for e in (event, fail):
        assert_valid(e)
    named = {
        "parent": event["run"]["facets"]["parent"],
        "jobType": event["job"]["facets"]["jobType"],
        "schema": event["outputs"][0]["facets"]["schema"],
        "outputStatistics": event["outputs"][0]["outputFacets"]["outputStatistics"],
        "errorMessage": fail["run"]["facets"]["errorMessage"],
    }
    for name, facet in named.items():
        assert facet["_schemaURL"] in SPEC["facets"], name


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("run", "runId"), "not-a-uuid"),
        (("eventTime",), "yesterday"),
        (("job", "name"), None),
        (("run", "facets", "parent", "run"), None),
        (("outputs", 0, "facets", "schema", "fields", 0, "name"), 7),
        (("outputs", 0, "outputFacets", "outputStatistics", "rowCount"), "three"),
        (("eventType",), "DONE"),
    ],
)
def test_a_broken_event_is_rejected(event: dict, path: tuple, value: object) -> None:
    broken = copy.deepcopy(event)
    *parents, last = path
    target = broken
    for key in parents:
        target = target[key]
    if value is None:
        del target[last]
    else:
        target[last] = value
    with pytest.raises(jsonschema.ValidationError):
        assert_valid(broken)


def test_basins_json_lines_equal_the_clients_serialisation() -> None:
    """Basin writes events with its own serialiser (5× faster); the text must be the
    client's, facet for facet."""
    from openlineage.client.event_v2 import RunEvent
    from openlineage.client.facet_v2 import column_lineage_dataset as cl
    from openlineage.client.facet_v2 import data_quality_assertions_dataset as dqa
    from openlineage.client.serde import Serde

    from basin.lineage.events import to_json

    events: list[RunEvent] = []
    lineage = Lineage(LineageConfig(transport="console"), "basin-test", Path("."))
    lineage.client().transport.emit = events.append
    lineage.emit(
        "COMPLETE",
        "dbt.model",
        run_uuid("r", "m"),
        parent=("run", run_uuid("r", "run")),
        inputs=[
            DatasetRef(
                "duckdb://w",
                "w.staging.a",
                [("id", "BIGINT"), ("email", "VARCHAR")],
                facets={
                    "dataQualityAssertions": dqa.DataQualityAssertionsDatasetFacet(
                        assertions=[dqa.Assertion(assertion="unique", success=True, column="id")]
                    )
                },
            )
        ],
        outputs=[
            DatasetRef(
                "duckdb://w",
                "w.marts.b",
                [("email", "VARCHAR")],
                rows=0,
                facets={
                    "columnLineage": cl.ColumnLineageDatasetFacet(
                        fields={
                            "email": cl.Fields(
                                inputFields=[
                                    cl.InputField(
                                        namespace="duckdb://w", name="w.staging.a", field="email"
                                    )
                                ]
                            )
                        }
                    )
                },
            )
        ],
    )
    lineage.emit("FAIL", "load", run_uuid("r", "load"), error=RuntimeError("no"))
    lineage.flush()
    assert len(events) == 2 and not lineage.errors
    for event in events:
        assert to_json(event) == Serde.to_json(event)


def test_events_keep_their_order_and_what_was_known_when_emitted(tmp_path: Path) -> None:
    """Events are sent by a background thread: in emission order, each with the
    datasets as they were at emission, and a transport failure is recorded, not raised."""
    lineage = Lineage(LineageConfig(), "basin-test", tmp_path)
    with lineage.step("extract.a.b", "run-1", "run") as step:
        step.inputs.append(DatasetRef("pg", "db.a.b"))
        step.outputs.append(DatasetRef("file", "/lake/a/b", [("id", "INT")], rows=1))
        step.outputs[0].rows = 2
    for i in range(50):
        lineage.emit("COMPLETE", f"job{i:02d}", run_uuid("run-1", str(i)))
    lineage.flush()
    events = [json.loads(line) for line in lineage.events_file.read_text().splitlines()]
    assert [e["eventType"] for e in events[:2]] == ["START", "COMPLETE"]
    assert events[0]["inputs"] == [] and events[0]["outputs"] == []
    assert events[1]["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 2
    assert [e["job"]["name"] for e in events[2:]] == [f"job{i:02d}" for i in range(50)]

    broken = Lineage(LineageConfig(path=str(tmp_path)), "t", tmp_path)  # a folder
    broken.emit("START", "job", run_uuid("r", "job"))
    broken.flush()
    assert len(broken.errors) == 1
