"""Event triggers for Airflow assets: a file landing in a drop folder starts a run.

The triggerer runs :class:`DropFolderTrigger` for as long as a DAG is scheduled on its
asset. Unlike Airflow's own file triggers it never deletes what it sees: the files
source takes each file once (path + checksum) and keeps it in its folder.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

Listing = dict[str, tuple[int, float]]


def list_drop_folder(directory: str, globs: list[str]) -> Listing:
    """``{path relative to the folder: (size, mtime)}`` of the files the source would read.

    Hidden and underscore files are skipped, as the files source skips them (uploads
    in flight, markers).
    """
    import fsspec

    fs, base = fsspec.core.url_to_fs(directory)
    base = base.rstrip("/")
    found: Listing = {}
    for pattern in globs:
        for path, info in fs.glob(f"{base}/{pattern}", detail=True).items():
            if Path(path).name.startswith((".", "_")) or info.get("type") != "file":
                continue
            mtime = info.get("mtime") or info.get("LastModified") or 0
            stamp = mtime.timestamp() if hasattr(mtime, "timestamp") else float(mtime)
            found[path[len(base) + 1 :]] = (int(info.get("size") or 0), stamp)
    return found


def already_extracted(project: str, env: str, source: str) -> set[str]:
    """Paths (relative to the drop folder) the files source has already taken."""
    from basin.config import load_project
    from basin.metadata.store import open_store

    p = load_project(Path(project), env)
    store = open_store(p.metadata_url, env=p.env_name, schema=p.env.metadata.db_schema)
    try:
        taken: set[str] = set()
        for entity in p.config.sources[source].entities:  # type: ignore[union-attr]
            taken |= {path for path, _sha in store.processed_files(source, entity)}
        return taken
    finally:
        store.close()


class DropFolderTrigger(BaseEventTrigger):
    """Fires once for every batch of new or changed files in a ``files`` source's folder.

    At start, files the source has already extracted count as seen; any other file
    present fires at once (it landed while nothing watched). After that, each poll
    compares the listing with the previous one.
    """

    def __init__(
        self,
        *,
        directory: str,
        globs: list[str],
        project: str,
        env: str,
        source: str,
        poll_interval: float = 30.0,
    ) -> None:
        super().__init__()
        self.directory = directory
        self.globs = list(globs)
        self.project = project
        self.env = env
        self.source = source
        self.poll_interval = poll_interval

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "directory": self.directory,
                "globs": self.globs,
                "project": self.project,
                "env": self.env,
                "source": self.source,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        listing = await asyncio.to_thread(list_drop_folder, self.directory, self.globs)
        taken = await asyncio.to_thread(already_extracted, self.project, self.env, self.source)
        seen = {path: sig for path, sig in listing.items() if path in taken}
        while True:
            new = sorted(path for path, sig in listing.items() if seen.get(path) != sig)
            seen = listing
            if new:
                self.log.info("new files in %s: %s", self.directory, ", ".join(new))
                yield TriggerEvent(
                    {"source": self.source, "directory": self.directory, "files": new}
                )
            await asyncio.sleep(self.poll_interval)
            listing = await asyncio.to_thread(list_drop_folder, self.directory, self.globs)
