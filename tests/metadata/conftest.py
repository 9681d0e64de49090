from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import STORES


@pytest.fixture(params=STORES)
def store_args(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    """(SQLAlchemy URL, schema) of an empty metadata store: a SQLite file, or a fresh
    schema on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta' / 'metadata.db'}", None
    pg_url = request.getfixturevalue("pg_url")
    schema = request.getfixturevalue("pg_schema")
    return pg_url.replace("postgresql://", "postgresql+psycopg://"), schema
