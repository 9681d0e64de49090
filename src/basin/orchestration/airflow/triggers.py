"""Event triggers for Airflow assets: a file landing in a drop folder starts a run.

The triggerer runs :class:`DropFolderTrigger` for as long as a DAG is scheduled on its
asset. Unlike Airflow's own file triggers it never deletes what it sees: the files
source takes each file once (path + checksum) and keeps it in its folder.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from basin.orchestration.drops import already_extracted, list_drop_folder


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
