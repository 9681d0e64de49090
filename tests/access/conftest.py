"""Helpers of the access tests."""

from __future__ import annotations

from pathlib import Path


def add_pii_mart(project: Path, name: str, sql: str, pii: dict[str, str]) -> None:
    """A mart ``name`` of the `basin init` project, its columns tagged ``pii`` in dbt."""
    marts = project / "dbt" / "models" / "marts"
    (marts / f"{name}.sql").write_text(sql + "\n")
    columns = "".join(
        f"      - name: {column}\n        meta: {{pii: {tag}}}\n" for column, tag in pii.items()
    )
    (marts / f"_{name}.yml").write_text(
        f"version: 2\nmodels:\n  - name: {name}\n    columns:\n{columns}"
    )
