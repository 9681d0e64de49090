"""The offline quality report escapes everything it shows from the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from basin.metadata.models import CheckResult
from basin.quality.report import render


def _result(run_id: str, status: str, **fields: object) -> CheckResult:
    return CheckResult(
        run_id=run_id,
        unique_id="test.x",
        name=fields.pop("name", "not_null_orders_id"),
        model=fields.pop("model", "orders"),
        column_name="id",
        severity="error",
        status=status,
        failures=fields.pop("failures", 0),
        message=fields.pop("message", None),
        sample=fields.pop("sample", None),
        checked_at=fields.pop("checked_at", datetime(2026, 12, 4, tzinfo=UTC)),
    )


def test_values_from_the_store_are_escaped_and_samples_shown() -> None:
    hostile = "<script>alert('x')</script>"
    sample = json.dumps({"columns": ["id", "note"], "rows": [[1, hostile], [2, None]]})
    page = render(
        "shop<b>",
        "dev",
        [
            _result("r1", "pass", checked_at=datetime(2026, 12, 3, tzinfo=UTC)),
            _result("r2", "fail", failures=2, message=hostile, sample=sample, model=hostile),
            _result("r2", "pass", name="unique_orders_id"),
            _result("r2", "error", name="broken", sample=json.dumps({"error": hostile})),
        ],
    )
    assert "<script" not in page and "shop<b>" not in page
    assert "&lt;script&gt;" in page and "shop&lt;b&gt;" in page
    assert "2 failing row(s)" in page and "sample unavailable" in page
    assert "latest run r2" in page
    assert page.index(">fail<") < page.index(">pass</td>")  # failures first
    assert page.count("class='h-") == 3  # orders over two runs, the hostile model once
