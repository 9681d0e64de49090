"""Schema contracts: compare a batch's columns with the entity's accepted schema.

The first complete batch of an entity records its schema. Later batches may add
columns or widen types (the change is recorded as a new version); a dropped
column or a narrowed or changed type breaks the contract: the batch is quarantined
and an incident opened, naming each column with both types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

INTEGERS = ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"]
UNSIGNED = ["UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"]
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")

# Columns Basin adds to every bronze row; not part of the source's contract.
BASIN_COLUMNS = {"_basin_source_file", "_basin_batch_id", "_basin_extracted_at"}


@dataclass
class SchemaDiff:
    added: list[tuple[str, str]] = field(default_factory=list)
    widened: list[tuple[str, str, str]] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)
    changed: list[tuple[str, str, str]] = field(default_factory=list)
    missing_from: dict[str, str] = field(default_factory=dict)
    """Dropped columns that other files of the batch still have: the files without."""

    @property
    def breaking(self) -> bool:
        return bool(self.dropped or self.changed)

    @property
    def evolved(self) -> bool:
        return bool(self.added or self.widened)

    def describe(self) -> str:
        parts = [
            f"dropped column {n} (was {t})"
            + (f" in {self.missing_from[n]}" if n in self.missing_from else "")
            for n, t in self.dropped
        ]
        parts += [f"column {n} changed from {old} to {new}" for n, old, new in self.changed]
        parts += [f"new column {n} {t}" for n, t in self.added]
        parts += [f"column {n} widened from {old} to {new}" for n, old, new in self.widened]
        return "; ".join(parts)


def is_widening(old: str, new: str) -> bool:
    """Whether every value of type ``old`` is exactly representable in ``new``."""
    old, new = old.upper(), new.upper()
    if old == new or old == '"NULL"' or old == "NULL":
        return True
    if old in INTEGERS and new in INTEGERS:
        return INTEGERS.index(new) >= INTEGERS.index(old)
    if old in UNSIGNED and new in UNSIGNED:
        return UNSIGNED.index(new) >= UNSIGNED.index(old)
    if old == "FLOAT" and new == "DOUBLE":
        return True
    if old in ("TINYINT", "SMALLINT", "INTEGER") and new == "DOUBLE":
        return True
    if old == "DATE" and new in ("TIMESTAMP", "TIMESTAMP_NS"):
        return True
    mo, mn = _DECIMAL.fullmatch(old), _DECIMAL.fullmatch(new)
    if mo and mn:
        p1, s1 = int(mo[1]), int(mo[2])
        p2, s2 = int(mn[1]), int(mn[2])
        return s2 >= s1 and (p2 - s2) >= (p1 - s1)
    if old in INTEGERS and mn:
        digits = {"TINYINT": 3, "SMALLINT": 5, "INTEGER": 10, "BIGINT": 19, "HUGEINT": 39}[old]
        return int(mn[1]) - int(mn[2]) >= digits
    return False


def compare(accepted: list[dict[str, str]], batch: list[dict[str, str]]) -> SchemaDiff:
    """How ``batch`` differs from ``accepted`` (Basin's own columns ignored).

    A batch column may carry ``missing_from``: the batch's files without it (the batch
    holds it because its other files do). For an accepted column that is a drop: those
    files' rows would land with it empty.
    """
    old = {c["name"]: c["type"] for c in accepted if c["name"] not in BASIN_COLUMNS}
    new = {c["name"]: c["type"] for c in batch if c["name"] not in BASIN_COLUMNS}
    partial = {c["name"]: c["missing_from"] for c in batch if c.get("missing_from")}
    diff = SchemaDiff()
    for name, old_type in old.items():
        if name not in new or name in partial:
            diff.dropped.append((name, old_type))
            if name in partial:
                diff.missing_from[name] = partial[name]
        elif new[name] != old_type:
            if is_widening(old_type, new[name]):
                diff.widened.append((name, old_type, new[name]))
            else:
                diff.changed.append((name, old_type, new[name]))
    for name, new_type in new.items():
        if name not in old:
            diff.added.append((name, new_type))
    return diff


def merged(accepted: list[dict[str, str]], batch: list[dict[str, str]]) -> list[dict[str, str]]:
    """The accepted schema after an additive change: old order first, then new columns."""
    new = {c["name"]: c["type"] for c in batch}
    out = [{"name": c["name"], "type": new.get(c["name"], c["type"])} for c in accepted]
    known = {c["name"] for c in accepted}
    out += [{"name": c["name"], "type": c["type"]} for c in batch if c["name"] not in known]
    return out
