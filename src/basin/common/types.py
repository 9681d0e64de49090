"""Type aliases and base models shared across Basin."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=63),
]
"""A lowercase SQL-safe name: sources and entities become warehouse table names."""


class StrictModel(BaseModel):
    """Config base: unknown keys are errors (typos never pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


_DURATION = re.compile(
    r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?|w|weeks?)\s*$",
    re.IGNORECASE,
)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``"10 minutes"``, ``"2h"``, ``"1 day"`` → timedelta."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a duration such as '10 minutes', '2 hours' or '1 day'")
    unit = match[2].lower()
    key = "m" if unit.startswith("mi") or unit == "m" else unit[0]
    return timedelta(**{_UNITS[key]: float(match[1])})


def _check_duration(text: str) -> str:
    parse_duration(text)
    return text


Duration = Annotated[str, AfterValidator(_check_duration)]
"""A duration written for people: ``"30s"``, ``"10 minutes"``, ``"2h"``, ``"1 day"``."""
