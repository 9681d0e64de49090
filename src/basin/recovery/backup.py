"""Backups of an environment, and restoring one.

``basin backup --to DEST`` (a folder or an ``s3://`` URL) writes, holding the
environment's lock (no run writes meanwhile, so the parts agree with each other):

- ``metadata.db`` — the environment's rows of the metadata store (runs, batches,
  watermarks, publications, checks, incidents, audit log), as SQLite;
- ``warehouse/`` — what consumers read: DuckDB's published snapshot (and its masked
  copy); on PostgreSQL a ``pg_dump`` of the published schemas with ``raw`` and the
  load ledger;
- ``lake/`` — every batch manifest of the lake (the Parquet files are immutable and
  stay in the lake: a bucket with versioning keeps them);
- ``backup.json`` last: what the backup holds, with each file's sha256. A folder
  without it is an unfinished backup and is never restored.

Every file is read back from the destination and its checksum compared before
``backup.json`` is written. ``basin restore --from SRC`` fetches the backup once and
checks every checksum before it changes anything, then puts the store's rows, the warehouse and the lake's missing
manifests back, under the same lock.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basin.common.errors import TerminalError
from basin.common.logging import get_logger
from basin.lake.storage import fs_uri, sha256_of
from basin.pipeline.runs import StepOutcome, recorded_after, single

if TYPE_CHECKING:
    import fsspec

    from basin.metadata.store import MetadataStore
    from basin.pipeline.platform import Platform

log = get_logger(__name__)

BACKUP_FILE = "backup.json"
STORE_FILE = "metadata.db"
WAREHOUSE = "warehouse"
LAKE = "lake"
FORMAT = 1


class BackupError(TerminalError):
    """A backup cannot be written, or cannot be restored as it is."""


@dataclass(frozen=True)
class BackupReport:
    location: str
    backup_id: str
    files: int
    bytes: int
    store_rows: int
    manifests: int
    publication_run: str | None


@dataclass(frozen=True)
class RestoreReport:
    location: str
    backup_id: str
    store_rows: int
    publication_run: str | None
    tables: int
    manifests_restored: list[str]
    manifests_differing: list[str]
    manifests_without_data: list[str]


def _fs(platform: Platform, url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    from basin.lake.storage import filesystem

    return filesystem(url, platform.project.env.lake.s3)


# --- backup --------------------------------------------------------------------------


def backup(live: Platform, dest: str) -> BackupReport:
    """Back up ``live``'s environment into ``dest``/<env>/<backup id>/."""
    res = live.resources
    return single(res, "backup", lambda run_id: _backup(live, run_id, dest))


def _backup(live: Platform, run_id: str, dest: str) -> StepOutcome[BackupReport]:
    from basin import __version__
    from basin.metadata.backup import export_env
    from basin.metadata.store import HEAD_REVISION

    project, res = live.project, live.resources
    fs, root = _fs(live, dest)
    folder = f"{root}/{project.env_name}/{run_id}"
    try:  # before any work: a destination that cannot be written is named at once
        if _is_local(fs):
            fs.makedirs(folder, exist_ok=True)
        elif not fs.exists(root.split("/", 1)[0]):  # never create a bucket
            raise FileNotFoundError(2, "no such bucket (or it cannot be listed)")
    except OSError as exc:
        raise BackupError(
            f"cannot write into {dest}: {exc.strerror or exc}",
            hint="give --to a folder this user can create and write, or an s3:// URL",
        ) from None
    publication = res.store.last_publication()
    with tempfile.TemporaryDirectory(prefix="basin-backup-") as tmp:
        local = Path(tmp)
        (local / WAREHOUSE).mkdir()
        warehouse_files = res.warehouse.backup_published(local / WAREHOUSE)
        store_rows = export_env(res.store, local / STORE_FILE, leave_out_run=run_id)
        files = [STORE_FILE, *(f"{WAREHOUSE}/{n}" for n in warehouse_files)]
        lake = res.lake
        manifests = lake.manifest_paths()
        for rel in manifests:
            target = local / LAKE / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            lake.fs.get_file(f"{lake.root}/{rel}", str(target))
            files.append(f"{LAKE}/{rel}")
        checksums: dict[str, dict[str, Any]] = {
            name: {
                "sha256": sha256_of(_local_fs(), str(local / name)),
                "bytes": (local / name).stat().st_size,
            }
            for name in files
        }
        try:
            for name in files:
                if _is_local(fs):
                    fs.makedirs(f"{folder}/{name}".rsplit("/", 1)[0], exist_ok=True)
                fs.put_file(str(local / name), f"{folder}/{name}")
        except OSError as exc:
            raise BackupError(
                f"writing the backup into {fs_uri(fs, folder)} failed: {exc.strerror or exc}",
                hint="free space or fix the destination, then run `basin backup` again (the "
                "unfinished folder has no backup.json: it is never restored)",
            ) from None
    # Read back what the destination holds before declaring the backup whole.
    for name, want in checksums.items():
        if sha256_of(fs, f"{folder}/{name}") != want["sha256"]:
            raise BackupError(
                f"the backup's copy of {name} in {folder} differs from what was written",
                hint="check the destination's storage and run `basin backup` again",
            )
    publication_run = publication.run_id if publication else None
    record: dict[str, Any] = {
        "format": FORMAT,
        "backup_id": run_id,
        "project": project.config.project,
        "env": project.env_name,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "basin": __version__,
        "store_revision": HEAD_REVISION,
        "engine": res.warehouse.ENGINE,
        "warehouse": res.warehouse.identity,
        "warehouse_files": warehouse_files,
        "publication_run": publication_run,
        "lake": project.lake_url,
        "manifests": len(manifests),
        "files": checksums,
    }
    fs.pipe_file(f"{folder}/{BACKUP_FILE}", json.dumps(record, indent=2).encode())
    location = fs_uri(fs, folder)
    report = BackupReport(
        location=location,
        backup_id=run_id,
        files=len(checksums),
        bytes=sum(int(c["bytes"]) for c in checksums.values()),
        store_rows=store_rows,
        manifests=len(manifests),
        publication_run=publication_run,
    )
    detail = {k: v for k, v in report.__dict__.items()}
    return StepOutcome("backup", report, rows=store_rows, detail=detail)


# --- restore -------------------------------------------------------------------------


def find(live: Platform, source: str) -> tuple[fsspec.AbstractFileSystem, str, dict[str, Any]]:
    """The backup at ``source``: that folder if it holds ``backup.json``, else the
    newest whole backup of this environment under ``source``/<env>/."""
    fs, root = _fs(live, source)
    env = live.project.env_name
    if fs.exists(f"{root}/{BACKUP_FILE}"):
        folder = root
    else:
        whole = sorted(str(p).rsplit("/", 1)[0] for p in fs.glob(f"{root}/{env}/*/{BACKUP_FILE}"))
        in_env_folder = root.rsplit("/", 2)[-2:-1] == [env]  # <to>/<env>/<backup id>
        if not whole and fs.exists(root) and (in_env_folder or fs.exists(f"{root}/{STORE_FILE}")):
            raise BackupError(
                f"{source} is an unfinished backup: it has no {BACKUP_FILE} (the backup was "
                "killed or failed while writing, or is still being written)",
                hint="restore a whole one: give the folder `basin backup --to` wrote into to "
                "take the newest whole backup",
            )
        if not whole:
            raise BackupError(
                f"no backup of environment {env} in {source}",
                hint=f"give the folder `basin backup --to` wrote into (it holds {env}/<id>/"
                f"{BACKUP_FILE}), or a backup's own folder",
            )
        folder = whole[-1]
    try:
        record = json.loads(fs.cat_file(f"{folder}/{BACKUP_FILE}"))
        files = record["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(
            f"{fs_uri(fs, folder)}/{BACKUP_FILE} cannot be read ({type(exc).__name__})",
            hint="restore another backup",
        ) from None
    if record.get("format") != FORMAT or not isinstance(files, dict):
        raise BackupError(f"{fs_uri(fs, folder)} is not a backup this Basin can read")
    return fs, folder, record


def verify(folder: Path, record: dict[str, Any], location: str) -> None:
    """Raise naming every file of the backup (fetched into ``folder``) that is missing
    or changed; ``location`` is where the backup is, for the message."""
    bad = []
    for name, want in record["files"].items():
        path = folder / name
        if not path.is_file():
            bad.append(f"{name} (missing)")
        elif path.stat().st_size != want["bytes"] or (
            sha256_of(_local_fs(), str(path)) != want["sha256"]
        ):
            bad.append(f"{name} (changed)")
    if bad:
        raise BackupError(
            f"the backup {location} is damaged: {', '.join(bad[:10])}"
            + (f" and {len(bad) - 10} more" if len(bad) > 10 else ""),
            hint="nothing was restored; restore another backup",
        )


def restore(live: Platform, source: str) -> RestoreReport:
    """Put the backup at ``source`` back: the environment's metadata, the published
    warehouse and the lake's missing manifests. Checked whole before anything changes."""
    fs, folder, record = find(live, source)
    project, res = live.project, live.resources
    if record.get("env") != project.env_name or record.get("project") != project.config.project:
        raise BackupError(
            f"{fs_uri(fs, folder)} is a backup of project {record.get('project')}, "
            f"environment {record.get('env')}; this is {project.config.project}, "
            f"environment {project.env_name}",
            hint="restore a backup of this environment (`--env` chooses the environment)",
        )
    if record.get("engine") != res.warehouse.ENGINE:
        raise BackupError(
            f"{fs_uri(fs, folder)} holds a {record.get('engine')} warehouse; this "
            f"environment's is {res.warehouse.ENGINE}",
            hint="restore it into an environment of the same engine",
        )
    location = fs_uri(fs, folder)
    with tempfile.TemporaryDirectory(prefix="basin-restore-") as tmp:
        # Fetched once, and checked here before anything changes.
        local = Path(tmp)
        for name in record["files"]:
            if fs.exists(f"{folder}/{name}"):
                (local / name).parent.mkdir(parents=True, exist_ok=True)
                fs.get_file(f"{folder}/{name}", str(local / name))
        verify(local, record, location)
        # Recorded once done: the store's rows are replaced meanwhile.
        return recorded_after(res, "restore", lambda: _restore(live, local, record, location))


def _restore(
    live: Platform, local: Path, record: dict[str, Any], location: str
) -> StepOutcome[RestoreReport]:
    from basin.bi.superset.server import expire_cache

    res = live.resources
    published = res.warehouse.restore_published(local / WAREHOUSE, list(record["warehouse_files"]))
    store_rows = _import_store(res.store, local / STORE_FILE)
    restored, differing, without_data = _manifests(live, local / LAKE)
    expire_cache(live.project.root)  # Superset's cached results belong to another publication
    report = RestoreReport(
        location=location,
        backup_id=record["backup_id"],
        store_rows=store_rows,
        publication_run=record.get("publication_run"),
        tables=len(published.tables),
        manifests_restored=restored,
        manifests_differing=differing,
        manifests_without_data=without_data,
    )
    for rel in differing:
        log.warning("the lake's %s differs from the backup's: kept the lake's", rel)
    for rel in without_data:
        log.warning("the backup's %s was not put back: its data files are not in the lake", rel)
    return StepOutcome("restore", report, rows=store_rows, detail=dict(report.__dict__))


def _import_store(store: MetadataStore, backup_file: Path) -> int:
    """Restore the store's rows. The audit log stays the store's when it continues the
    backup's chain (a restore never erases what was logged since); a store started
    anew after a loss gets the backup's log, its own entries appended after them
    (same fields; the hashes chain on from the backup's head)."""
    import json

    from basin.access import audit
    from basin.metadata.backup import audit_head, import_env

    head = audit_head(backup_file, store.env)
    own = list(reversed(audit.entries(store, limit=1_000_000)))  # oldest first
    continues = head is None or any((e.seq, e.hash) == head for e in own)
    rows = import_env(store, backup_file, audit=not continues)
    if not continues:
        for e in own:
            audit.append(
                store,
                e.command,
                json.loads(e.arguments),
                e.outcome,
                detail=f"[{e.at.isoformat(timespec='seconds')}, carried over by a restore] "
                + (e.detail or ""),
                who=e.actor,
            )
    return rows


def _is_local(fs: fsspec.AbstractFileSystem) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def _local_fs() -> fsspec.AbstractFileSystem:
    from fsspec.implementations.local import LocalFileSystem

    return LocalFileSystem()


def _manifests(live: Platform, folder: Path) -> tuple[list[str], list[str], list[str]]:
    """Put back the manifests the lake lost (whose data files are all there, at the
    manifest's sizes); never replace one the lake has."""
    from basin.lake.manifest import Manifest

    lake = live.resources.lake
    restored, differing, without_data = [], [], []
    for path in sorted(folder.rglob("*.json")):
        rel = path.relative_to(folder).as_posix()
        text = path.read_text(encoding="utf-8")
        where = f"{lake.root}/{rel}"
        if lake.fs.exists(where):
            if lake.fs.cat_file(where).decode("utf-8") != text:
                differing.append(rel)
            continue
        manifest = Manifest.from_json(text)
        batch_dir = where.rsplit("/", 1)[0]
        sizes = []
        for f in manifest.files:
            try:
                sizes.append(lake.fs.size(f"{batch_dir}/{f.path}") == f.size)
            except FileNotFoundError:
                sizes.append(False)
        if not all(sizes):
            without_data.append(rel)
            continue
        lake.write_manifest(batch_dir, manifest)
        restored.append(rel)
    return restored, differing, without_data
