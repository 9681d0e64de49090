"""The lake on a local folder or a bucket, through fsspec.

Layout::

    bronze/<source>/<entity>/batch=<batch_id>/part-00000.parquet
    bronze/<source>/<entity>/batch=<batch_id>/_manifest.json      (written last)
    quarantine/<source>/<entity>/batch=<batch_id>/rejects.parquet (rows that failed)
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

from basin.lake.manifest import MANIFEST_NAME, Manifest

BRONZE = "bronze"
QUARANTINE = "quarantine"


def sha256_of(fs: fsspec.AbstractFileSystem, path: str, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with fs.open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def fs_uri(fs: fsspec.AbstractFileSystem, path: str) -> str:
    """A path on ``fs`` as something DuckDB and users can open (plain path when local)."""
    if isinstance(fs, LocalFileSystem):
        return path
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return f"{protocol}://{path}"


class Lake:
    """Reads and writes lake batches under one root URL."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        fs, root = fsspec.core.url_to_fs(self.url)
        self.fs: fsspec.AbstractFileSystem = fs
        self.root = root.rstrip("/")

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, LocalFileSystem)

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def uri(self, path: str) -> str:
        """A lake path as a URL DuckDB and users can open."""
        return fs_uri(self.fs, path)

    def batch_dir(self, source: str, entity: str, batch_id: str) -> str:
        return self.path(BRONZE, source, entity, f"batch={batch_id}")

    def quarantine_dir(self, source: str, entity: str, batch_id: str) -> str:
        return self.path(QUARANTINE, source, entity, f"batch={batch_id}")

    # --- writing ---------------------------------------------------------------------

    def put_file(self, local: Path, dest: str) -> None:
        """Move a finished local file into the lake."""
        if self.is_local:
            Path(dest).parent.mkdir(parents=True, exist_ok=True)
            os.replace(local, dest)
        else:
            self.fs.put_file(str(local), dest)
            local.unlink()

    def write_manifest(self, batch_dir: str, manifest: Manifest) -> None:
        """Write the manifest atomically: it is the batch's commit record."""
        dest = f"{batch_dir}/{MANIFEST_NAME}"
        text = manifest.to_json()
        if self.is_local:
            tmp = Path(f"{dest}.tmp")
            tmp.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, dest)
        else:
            # An object PUT is atomic on S3/GCS: readers see all of it or nothing.
            with self.fs.open(dest, "w") as fh:
                fh.write(text)

    def remove_batch(self, source: str, entity: str, batch_id: str) -> None:
        """Delete an incomplete batch's leftovers (never called on a complete one)."""
        for folder in (
            self.batch_dir(source, entity, batch_id),
            self.quarantine_dir(source, entity, batch_id),
        ):
            if self.fs.exists(folder):
                if self.is_local:
                    shutil.rmtree(folder, ignore_errors=True)
                else:
                    self.fs.rm(folder, recursive=True)

    # --- reading ---------------------------------------------------------------------

    def has_manifest(self, batch_dir: str) -> bool:
        return bool(self.fs.exists(f"{batch_dir}/{MANIFEST_NAME}"))

    def read_manifest(self, batch_dir: str) -> Manifest:
        from basin.common.errors import LoadError

        path = f"{batch_dir}/{MANIFEST_NAME}"
        try:
            with self.fs.open(path, "r", encoding="utf-8") as fh:
                return Manifest.from_json(fh.read())
        except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
            raise LoadError(
                f"the manifest {path} cannot be read: {type(exc).__name__}: {exc}",
                hint="the lake was changed after the batch was written; restore the file "
                "from a backup, or remove the batch folder and extract the entity again",
            ) from None

    def complete_batches(self, source: str, entity: str) -> list[Manifest]:
        """Every batch of an entity that has a manifest, oldest first.

        Folders without a manifest are incomplete writes and are skipped.
        """
        base = self.path(BRONZE, source, entity)
        if not self.fs.exists(base):
            return []
        manifests = []
        for folder in sorted(self.fs.ls(base, detail=False)):
            name = folder.rstrip("/").rsplit("/", 1)[-1]
            if name.startswith("batch=") and self.has_manifest(folder):
                manifests.append(self.read_manifest(folder))
        manifests.sort(key=lambda m: (m.created_at, m.batch_id))
        return manifests

    def data_files(self, manifest: Manifest, *, verify: bool = False) -> list[str]:
        """URLs of a complete batch's data files, checked against the manifest sizes
        (and, with ``verify``, their sha256: every byte is read)."""
        from basin.common.errors import LoadError

        batch_dir = self.batch_dir(manifest.source, manifest.entity, manifest.batch_id)
        urls = []
        for f in manifest.files:
            path = f"{batch_dir}/{f.path}"
            try:
                size = self.fs.size(path)
            except FileNotFoundError:
                size = None
            if size != f.size:
                raise LoadError(
                    f"batch {manifest.batch_id} ({manifest.source}.{manifest.entity}): data file "
                    f"{path} is {'missing' if size is None else f'{size} bytes'}, the manifest "
                    f"says {f.size} bytes",
                    hint="the lake was changed after the batch was written; restore the file "
                    "or remove the batch folder and extract again",
                )
            if verify and sha256_of(self.fs, path) != f.sha256:
                raise LoadError(
                    f"batch {manifest.batch_id} ({manifest.source}.{manifest.entity}): data file "
                    f"{path} does not match the checksum in its manifest (corrupt or replaced)",
                    hint="restore the file from a backup, or remove the batch folder and "
                    "extract the entity again",
                )
            urls.append(self.uri(path))
        return urls
