"""Drop folders, for every orchestrator's file triggers: what a ``files`` source's
folder holds, and which of those files the source has already taken. Listing never
deletes or moves anything: the files source takes each file once (path + checksum)
and keeps it in its folder."""

from __future__ import annotations

from pathlib import Path

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
