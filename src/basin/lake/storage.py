"""The lake on a local folder or an S3 bucket: files through fsspec (s3fs for S3),
Parquet through DuckDB (its httpfs extension for S3).

On S3, every DuckDB that reads or writes the lake is prepared by :meth:`Lake.prepare`:
httpfs loaded from its PyPI package and a TEMPORARY secret (it lives and dies with
that DuckDB instance, never written to disk) made from the credentials botocore's
chain resolves: environment, profile, or the instance/task role. Objects appear
whole or not at all, and the manifest is PUT last with ``If-None-Match: *``: a
reader never sees a half-written batch, and a manifest is never overwritten.

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
from typing import TYPE_CHECKING

import fsspec
from fsspec.implementations.local import LocalFileSystem

from basin.common.errors import TerminalError
from basin.lake.configuration import S3Options
from basin.lake.manifest import MANIFEST_NAME, Manifest

if TYPE_CHECKING:
    import duckdb

    from basin.config import Project

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


class LakeError(TerminalError):
    """The lake cannot be reached or used as configured."""


S3_HINT = (
    "check the bucket's name, environments.<env>.lake.s3 (endpoint_url, region, url_style) "
    "and the AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a role)"
)


def _endpoint(options: S3Options) -> str | None:
    """The configured endpoint, else the AWS chain's (``AWS_ENDPOINT_URL_S3``,
    ``AWS_ENDPOINT_URL``): s3fs and DuckDB must reach the same store."""
    return (
        options.endpoint_url
        or os.environ.get("AWS_ENDPOINT_URL_S3")
        or os.environ.get("AWS_ENDPOINT_URL")
        or None
    )


def _s3_filesystem(options: S3Options) -> fsspec.AbstractFileSystem:
    try:
        import s3fs
    except ImportError:
        raise LakeError(
            "the lake is on S3 but s3fs is not installed",
            hint="pip install 'basin[s3]' (s3fs, boto3 and DuckDB's httpfs)",
        ) from None
    return s3fs.S3FileSystem(
        endpoint_url=_endpoint(options),
        client_kwargs={"region_name": options.region} if options.region else {},
        config_kwargs={
            "s3": {"addressing_style": "path" if options.url_style == "path" else "virtual"}
        },
        # Batches appear while a process runs (another run, a parallel task): never
        # answer from a stale listing.
        use_listings_cache=False,
        skip_instance_cache=True,
    )


def filesystem(url: str, s3: S3Options | None = None) -> tuple[fsspec.AbstractFileSystem, str]:
    """The file system of a folder path or ``s3://`` URL, and the path on it (an S3
    URL with the lake's S3 options: same endpoint and addressing)."""
    url = url.rstrip("/")
    if url.startswith("s3://"):
        return _s3_filesystem(s3 or S3Options()), url.removeprefix("s3://").rstrip("/")
    fs, root = fsspec.core.url_to_fs(url)
    if isinstance(fs, LocalFileSystem):
        root = os.path.normpath(root)
    return fs, root.rstrip("/")


class Lake:
    """Reads and writes lake batches under one root URL."""

    def __init__(self, url: str, s3: S3Options | None = None) -> None:
        self.url = url.rstrip("/")
        self.s3 = s3 or S3Options()
        self.fs, self.root = filesystem(self.url, self.s3)

    @classmethod
    def of(cls, project: Project) -> Lake:
        """The lake of a project's environment."""
        return cls(project.lake_url, project.env.lake.s3)

    @property
    def is_local(self) -> bool:
        return isinstance(self.fs, LocalFileSystem)

    @property
    def bucket(self) -> str:
        return self.root.split("/", 1)[0]

    def check(self) -> None:
        """Raise :class:`LakeError` naming the fix unless the lake can be listed, by
        s3fs and by DuckDB (on S3: the bucket exists, the endpoint answers in the
        configured addressing style, the AWS chain's credentials are accepted)."""
        if self.is_local:
            return
        try:
            self.fs.ls(self.bucket)
        except Exception as exc:  # noqa: BLE001 - s3fs and botocore raise many kinds
            first = (str(exc).strip().splitlines() or [""])[0]
            raise LakeError(
                f"{self.url} cannot be read: {type(exc).__name__}: {first}", hint=S3_HINT
            ) from None
        import duckdb

        from basin.common.sql import literal

        with self.connect() as con:
            try:
                con.execute(f"SELECT count(*) FROM glob({literal(self.uri(self.path('*')))})")
            except duckdb.Error as exc:
                first = (str(exc).strip().splitlines() or [""])[0]
                hint = S3_HINT
                if "resolve hostname" in first and self.s3.url_style == "vhost":
                    hint = (
                        "set environments.<env>.lake.s3.url_style: path — the store answers "
                        "at host/bucket, not at bucket.host (MinIO and most self-hosted stores)"
                    )
                raise LakeError(f"DuckDB cannot read {self.url}: {first}", hint=hint) from None

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A new in-memory DuckDB that can read and write this lake."""
        import duckdb

        from basin.common.duckdb import harden

        con = duckdb.connect()
        try:
            harden(con)
            self.prepare(con)
        except BaseException:
            con.close()
            raise
        return con

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """Let a DuckDB instance read and write this lake (nothing to do when local)."""
        if self.is_local:
            return
        from basin.common.duckdb import load_extension, s3_secret

        load_extension(con, "httpfs")
        s3_secret(
            con,
            name="basin_lake",
            scope=f"s3://{self.bucket}",
            endpoint_url=_endpoint(self.s3),
            region=self.s3.region,
            url_style=self.s3.url_style,
        )

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
            # An object PUT is atomic: readers see all of it or nothing. If-None-Match
            # (mode="create"): a manifest, once there, is never replaced.
            try:
                self.fs.pipe_file(dest, text.encode("utf-8"), mode="create")
            except FileExistsError:
                raise LakeError(
                    f"the manifest {dest} exists already: a batch is written once",
                    hint="another process wrote this batch; run the command again",
                ) from None

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

    def manifest_paths(self) -> list[str]:
        """Paths (relative to the lake's root) of every batch manifest in the lake, of
        every entity, configured or not."""
        found = self.fs.glob(self.path(BRONZE, "*", "*", "batch=*", MANIFEST_NAME))
        return sorted(str(p).removeprefix(self.root + "/") for p in found)

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
