"""Configuration of the ``files`` source kind: files dropped into a folder or bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from basin.common.types import Identifier, StrictModel


class CsvOptions(StrictModel):
    """How CSV files are parsed."""

    delimiter: str = ","
    """Field separator."""
    header: bool = True
    """Whether the first line holds column names."""
    quote: str = '"'
    """Quote character."""
    encoding: Literal["utf-8", "utf-16", "latin-1"] = "utf-8"
    """File encoding."""
    dateformat: str | None = None
    """Format of DATE values, in strftime codes (``%d/%m/%Y``). When omitted, ISO dates
    are read as they are and any other format DuckDB recognises is used with a warning
    that names it, since ``01/02/2026`` may be either day first or month first."""
    timestampformat: str | None = None
    """Format of TIMESTAMP values (``%d/%m/%Y %H:%M``); as ``dateformat``."""
    decimal_separator: Literal[".", ","] = "."
    """Decimal separator of numbers (``,`` for ``1234,56``)."""
    max_line_size: int = Field(default=64 * 1024 * 1024, ge=1024)
    """Longest line, in bytes, read as a row (DuckDB's default is 2 MB); a longer line
    is quarantined with its file's other rows still landing."""


FileFormat = Literal["csv", "jsonl", "json", "parquet"]
_SUFFIX_FORMATS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
}


class FileEntity(StrictModel):
    """One kind of file in a drop folder; each new file is extracted once."""

    glob: str
    """Pattern of the entity's files, relative to the source path (``orders_*.csv``)."""
    format: FileFormat | None = None
    """File format; inferred from the glob's suffix when omitted."""
    primary_key: list[str] = Field(default_factory=list)
    """Columns that identify a row; staging deduplicates on them."""
    columns: dict[str, str] | None = None
    """Column name → DuckDB type. When given, rows whose values do not cast are
    quarantined; when omitted, types are detected from the files. CSV columns are
    matched by their header's names, in any order (columns not declared are read with
    detected types); a declared column missing from a file quarantines the file.
    Without a header (``csv.header: false``) they are taken in the order given."""
    csv: CsvOptions = Field(default_factory=CsvOptions)
    """CSV parsing options."""
    indexes: list[list[str]] = Field(default_factory=list)
    """PostgreSQL warehouse: indexes on the entity's raw table, each a list of columns
    (``[[customer_id], [status, updated_at]]``), created after a load when missing."""

    @model_validator(mode="after")
    def _infer_format(self) -> FileEntity:
        if self.format is None:
            suffix = Path(self.glob.rstrip("*")).suffix.lower()
            fmt = _SUFFIX_FORMATS.get(suffix)
            if fmt is None:
                raise ValueError(
                    f"cannot infer the file format from glob '{self.glob}': "
                    f"set format to one of csv, jsonl, json, parquet"
                )
            object.__setattr__(self, "format", fmt)
        return self

    @property
    def file_format(self) -> FileFormat:
        assert self.format is not None  # set by the validator
        return self.format


class FilesSource(StrictModel):
    """Files dropped into a folder or bucket path (CSV, JSON lines, JSON, Parquet)."""

    kind: Literal["files"]
    """Picks this source kind."""
    path: str
    """Folder (relative to the project) or URL holding the files."""
    entities: dict[Identifier, FileEntity]
    """Entity name → which files belong to it."""
    description: str | None = None
    """What this source is."""

    @property
    def entity_names(self) -> list[str]:
        return list(self.entities)
