"""What the lake's quarantine holds: rows that did not parse or cast (with file, line
and reason), files that could not be read at all (their original bytes), and whole
batches that broke their entity's contract."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from basin.lake.storage import QUARANTINE, Lake

REJECTS = "rejects.parquet"
CONTRACT = "_contract.json"
ORIGINAL_PREFIX = "original__"


@dataclass
class Quarantined:
    """One batch's quarantine folder."""

    source: str
    entity: str
    batch_id: str
    path: str
    rows: int = 0
    """Rows (records) quarantined one by one."""
    files: list[str] = field(default_factory=list)
    """Files kept whole (they could not be read as a whole)."""
    contract: str | None = None
    """Why the whole batch was quarantined (a broken contract), if it was."""
    reasons: dict[str, int] = field(default_factory=dict)
    """Error type → rows, most frequent first."""
    released_to: str | None = None
    """The batch its records were read again into (``basin quarantine release``)."""


def listing(lake: Lake, source: str | None = None, entity: str | None = None) -> list[Quarantined]:
    """Every quarantine folder (of a source, or one entity), oldest batch first."""
    base = lake.path(QUARANTINE)
    if not lake.fs.exists(base):
        return []
    found = []
    for src in _children(lake, base):
        if source and src != source:
            continue
        for ent in _children(lake, f"{base}/{src}"):
            if entity and ent != entity:
                continue
            for folder in _children(lake, f"{base}/{src}/{ent}"):
                if folder.startswith("batch="):
                    found.append(_describe(lake, src, ent, folder.removeprefix("batch=")))
    return sorted(found, key=lambda q: q.batch_id)


def rows(lake: Lake, item: Quarantined, limit: int = 50) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The quarantined rows of a batch (file, line, column, error type, reason, raw)."""
    path = f"{item.path}/{REJECTS}"
    if not lake.fs.exists(path):
        return [], []
    with lake.connect() as con:
        cur = con.execute(
            f"SELECT file, line, column_name, error_type, reason, raw "
            f"FROM read_parquet(?) ORDER BY file, line LIMIT {int(limit)}",
            [lake.uri(path)],
        )
        return [d[0] for d in cur.description or []], cur.fetchall()


def records(lake: Lake, item: Quarantined) -> list[tuple[str, int | None, str, str | None]]:
    """Every quarantined record of a batch as ``(file, line, error type, raw text)``,
    one per record (a record with several bad values is listed once), in file order."""
    path = f"{item.path}/{REJECTS}"
    if not lake.fs.exists(path):
        return []
    with lake.connect() as con:
        found = con.execute(
            "SELECT file, line, min(error_type), any_value(raw) FROM read_parquet(?) "
            "GROUP BY file, line ORDER BY file, line",
            [lake.uri(path)],
        ).fetchall()
    return [(str(f), None if n is None else int(n), str(k), r) for f, n, k, r in found]


def original_path(item: Quarantined, file: str) -> str:
    """Where the original bytes of a file kept whole are (see ``Quarantined.files``)."""
    return f"{item.path}/{ORIGINAL_PREFIX}{file.replace('/', '__')}"


def _children(lake: Lake, path: str) -> list[str]:
    return sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in lake.fs.ls(path, detail=False))


def _describe(lake: Lake, source: str, entity: str, batch_id: str) -> Quarantined:
    path = lake.quarantine_dir(source, entity, batch_id)
    item = Quarantined(source, entity, batch_id, path)
    names = _children(lake, path)
    item.files = [n.removeprefix(ORIGINAL_PREFIX) for n in names if n.startswith(ORIGINAL_PREFIX)]
    if CONTRACT in names:
        with lake.fs.open(f"{path}/{CONTRACT}", "r", encoding="utf-8") as fh:
            item.contract = str(json.load(fh).get("reason", "broke its contract"))
    if REJECTS in names:
        with lake.connect() as con:
            counted = con.execute(
                "SELECT error_type, count(DISTINCT (file, coalesce(line, -1))) AS n "
                "FROM read_parquet(?) GROUP BY 1 ORDER BY n DESC, 1",
                [lake.uri(f"{path}/{REJECTS}")],
            ).fetchall()
        item.reasons = {str(kind): int(n) for kind, n in counted}
        item.rows = sum(item.reasons.values())
    return item
