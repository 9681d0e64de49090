"""Basin: an open-source analytics data platform.

Importing this package must stay cheap: no dbt, DuckDB, pyarrow or SQLAlchemy at
module level (ruff rule TID253 and ``tests/test_imports.py`` keep it so).
"""

__version__ = "0.1.0"
