"""PostgreSQL connection settings become a libpq string that says exactly what was set,
whatever characters the values hold (psycopg's make_conninfo does the quoting)."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict
from pydantic import SecretStr

from basin.common.connections import PostgresConnection


@pytest.mark.parametrize(
    "password",
    ["plain", "with space", "qu'ote", "back\\slash", "' or 1=1 --", "é✓", "a=b c=d"],
)
def test_every_password_round_trips(password: str) -> None:
    conn = PostgresConnection(
        host="db.internal", port=6543, user="svc basin", password=SecretStr(password), database="wh"
    )
    parsed = conninfo_to_dict(conn.conninfo())
    assert parsed == {
        "host": "db.internal",
        "port": "6543",
        "user": "svc basin",
        "password": password,
        "dbname": "wh",
    }


def test_a_dsn_is_used_as_given() -> None:
    dsn = "postgresql://u:p%20w@h:1/d?sslmode=require"
    assert PostgresConnection(dsn=SecretStr(dsn)).conninfo() == dsn
