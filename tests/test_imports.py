"""`import basin` and `basin --help` must not import heavy libraries (start-up time)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = [
    "dbt",
    "duckdb",
    "pyarrow",
    "sqlalchemy",
    "alembic",
    "pandas",
    "fsspec",
    "psycopg",
    "pydantic",
]


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "from basin.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
