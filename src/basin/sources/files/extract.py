"""Extract dropped files into the lake with DuckDB's readers.

Each new file (path + sha256 not yet recorded for the entity) is taken once. All new
files of an entity go into one batch. Rows that cannot be parsed go to quarantine
with the file, line and reason while the good rows of the same file still land; a
file DuckDB cannot open at all is quarantined whole.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb
import fsspec

from basin.lake import PARQUET_COPY_OPTIONS
from basin.lake.storage import fs_uri, sha256_of
from basin.sources.base import BatchWriter, ExtractContext, Extractor, ExtractResult
from basin.sources.files.configuration import FileEntity, FilesSource
from basin.warehouses.base import literal

REJECT_COLUMNS = "file VARCHAR, line BIGINT, column_name VARCHAR, error_type VARCHAR, reason VARCHAR, raw VARCHAR"


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join(literal(v) for v in values) + "]"


class FilesExtractor(Extractor):
    config: FilesSource

    def _listing(
        self, entity: FileEntity, ctx: ExtractContext
    ) -> tuple[fsspec.AbstractFileSystem, str, list[str]]:
        path = self.config.path
        url = path if "://" in path else str((ctx.project_root / path).resolve())
        fs, base = fsspec.core.url_to_fs(url)
        base = base.rstrip("/")
        found = [
            p
            for p in sorted(fs.glob(f"{base}/{entity.glob}"))
            # hidden and underscore files are in-flight uploads or markers by convention
            if not Path(p).name.startswith((".", "_")) and fs.isfile(p)
        ]
        return fs, base, found

    def dataset(self, entity: str, project_root: Path) -> tuple[str, str]:
        path = self.config.path
        glob = self.config.entities[entity].glob
        if "://" in path:
            scheme, _, rest = path.partition("://")
            bucket, _, prefix = rest.partition("/")
            return f"{scheme}://{bucket}", f"{prefix.rstrip('/')}/{glob}".lstrip("/")
        return "file", f"{(project_root / path).resolve()}/{glob}"

    def extract(self, entity: str, ctx: ExtractContext) -> ExtractResult:
        cfg = self.config.entities[entity]
        fs, base, found = self._listing(cfg, ctx)
        done = ctx.store.processed_files(self.name, entity)
        new_files: list[dict[str, Any]] = []
        for p in found:
            rel = p[len(base) + 1 :]
            digest = sha256_of(fs, p)
            if (rel, digest) in done:
                continue
            new_files.append(
                {"path": rel, "sha256": digest, "size": fs.size(p), "url": fs_uri(fs, p)}
            )
        if not new_files:
            return ExtractResult(self.name, entity, None, note="no new files")

        with BatchWriter(ctx, self.name, entity, new_files) as batch:
            con = duckdb.connect()
            try:
                con.execute(f"SET temp_directory = {literal(str(batch.staging / 'spill'))}")
                reader = _FileReader(con, cfg, batch.batch_id, batch.staging)
                parts, n_rejected = reader.read({f["url"]: f["path"] for f in new_files})
                columns = reader.columns(parts)
                rejects = reader.write_rejects() if n_rejected else None
            finally:
                con.close()
            manifest = batch.commit(
                local_files=parts,
                columns=columns,
                quarantine_files=[rejects] if rejects else [],
                quarantined_rows=n_rejected,
                watermark={"value": json.dumps(sorted(f["path"] for f in new_files))},
            )
        rows = sum(r for _, r in parts)
        return ExtractResult(
            self.name,
            entity,
            batch.batch_id,
            rows=rows,
            quarantined_rows=n_rejected,
            inputs=len(new_files),
            manifest=manifest,
        )


class _FileReader:
    """Reads one batch's files with DuckDB, one Parquet part per file.

    One part per file because DuckDB's CSV reject tables cannot be combined with
    ``union_by_name``; the load reads all parts of a batch by name, so files whose
    columns differ still line up.
    """

    def __init__(
        self, con: duckdb.DuckDBPyConnection, cfg: FileEntity, batch_id: str, staging: Path
    ) -> None:
        self.con = con
        self.cfg = cfg
        self.batch_id = batch_id
        self.staging = staging
        con.execute(f"CREATE TEMP TABLE basin_rejects ({REJECT_COLUMNS})")

    def read(self, names: dict[str, str]) -> tuple[list[tuple[Path, int]], int]:
        """Write each file's good rows to a part; return the parts and the rows rejected.

        ``names`` maps each file's URL to the name recorded with its rows.
        """
        parts: list[tuple[Path, int]] = []
        for url, name in names.items():
            dest = self.staging / f"part-{len(parts):05d}.parquet"
            rows = self._read_file(url, name, dest)
            if rows is not None:
                parts.append((dest, rows))
        counted = self.con.execute(
            "SELECT count(DISTINCT (file, coalesce(line, -1))) FROM basin_rejects"
        ).fetchone()
        return parts, int(counted[0]) if counted else 0

    def _read_file(self, url: str, name: str, dest: Path) -> int | None:
        fmt = self.cfg.file_format
        source = url
        if fmt == "jsonl":
            source = self._clean_json_lines(url, name)
        try:
            result = self.con.execute(
                f"""
                COPY (
                    SELECT *, {literal(name)} AS _basin_source_file,
                           {literal(self.batch_id)} AS _basin_batch_id,
                           current_timestamp AS _basin_extracted_at
                    FROM {self._scan(source)}
                ) TO {literal(str(dest))} ({PARQUET_COPY_OPTIONS})
                """
            ).fetchone()
        except duckdb.Error as exc:
            # A file DuckDB cannot open at all is quarantined whole; the batch's
            # other files still land.
            dest.unlink(missing_ok=True)
            self._reject(name, None, None, "UNREADABLE FILE", _first_line(exc), None)
            return None
        if fmt == "csv":
            self.con.execute(
                """
                INSERT INTO basin_rejects
                SELECT ?, e.line, e.column_name, e.error_type::VARCHAR, e.error_message, e.csv_line
                FROM reject_errors AS e
                """,
                [name],
            )
        return int(result[0]) if result else 0

    def _scan(self, url: str) -> str:
        cfg = self.cfg
        fmt = cfg.file_format
        columns = ""
        if cfg.columns:
            cols = ", ".join(f"{literal(k)}: {literal(v)}" for k, v in cfg.columns.items())
            columns = f", columns = {{{cols}}}"
        if fmt == "csv":
            return (
                f"read_csv({literal(url)}, delim = {literal(cfg.csv.delimiter)}, "
                f"quote = {literal(cfg.csv.quote)}, header = {str(cfg.csv.header).lower()}, "
                f"encoding = {literal(cfg.csv.encoding)}, store_rejects = true{columns})"
            )
        if fmt == "jsonl":
            return f"read_json({literal(url)}, format = 'newline_delimited'{columns})"
        if fmt == "json":
            return f"read_json({literal(url)}, format = 'array'{columns})"
        return f"read_parquet({literal(url)})"

    def columns(self, parts: list[tuple[Path, int]]) -> list[dict[str, str]]:
        if not parts:
            return []
        files = _sql_list([str(p) for p, _ in parts])
        return [
            {"name": r[0], "type": r[1]}
            for r in self.con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({files}, union_by_name = true)"
            ).fetchall()
        ]

    def write_rejects(self) -> Path:
        dest = self.staging / "rejects.parquet"
        self.con.execute(
            f"COPY (SELECT * FROM basin_rejects ORDER BY file, line) TO {literal(str(dest))} (FORMAT parquet)"
        )
        return dest

    def _reject(
        self,
        file: str,
        line: int | None,
        column: str | None,
        kind: str,
        reason: str,
        raw: str | None,
    ) -> None:
        self.con.execute(
            "INSERT INTO basin_rejects VALUES (?, ?, ?, ?, ?, ?)",
            [file, line, column, kind, reason, raw],
        )

    def _clean_json_lines(self, url: str, name: str) -> str:
        """Quarantine JSON lines that do not parse; return a file of the good ones.

        A file that DuckDB reads as a whole is used as it is (fast path); only a
        failing file gets the line-by-line pass.
        """
        try:
            self.con.execute(
                f"SELECT count(*) FROM read_json({literal(url)}, format = 'newline_delimited')"
            ).fetchone()
            return url
        except duckdb.Error:
            pass
        clean = self.staging / f"clean-{hashlib.sha1(url.encode()).hexdigest()[:12]}.jsonl"
        with fsspec.open(url, "rb") as src, open(clean, "w", encoding="utf-8") as dst:
            for lineno, raw_bytes in enumerate(src, start=1):
                try:
                    raw = raw_bytes.decode("utf-8")
                except UnicodeDecodeError as exc:
                    self._reject(
                        name,
                        lineno,
                        None,
                        "INVALID ENCODING",
                        str(exc),
                        raw_bytes.decode("utf-8", "replace").rstrip("\n"),
                    )
                    continue
                if not raw.strip():
                    continue
                try:
                    value = json.loads(raw)
                except json.JSONDecodeError as exc:
                    self._reject(name, lineno, None, "INVALID JSON", str(exc), raw.rstrip("\n"))
                    continue
                if not isinstance(value, dict):
                    self._reject(
                        name,
                        lineno,
                        None,
                        "NOT AN OBJECT",
                        f"expected a JSON object, got {type(value).__name__}",
                        raw.rstrip("\n"),
                    )
                    continue
                dst.write(raw if raw.endswith("\n") else raw + "\n")
        return str(clean)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
