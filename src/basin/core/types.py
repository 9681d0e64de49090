"""Type aliases and base models shared across Basin."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=63),
]
"""A lowercase SQL-safe name: sources and entities become warehouse table names."""


class StrictModel(BaseModel):
    """Config base: unknown keys are errors (typos never pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
