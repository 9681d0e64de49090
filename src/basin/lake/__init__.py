"""The object-storage lake: bronze batches with manifests, and quarantine."""

PARQUET_COPY_OPTIONS = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1"
"""DuckDB ``COPY … TO`` options of every Parquet file Basin lands. Measured here on
1M and 10M PostgreSQL rows: zstd level 1 writes 13% faster than the default level 3
(0.75 s against 0.86 s; 8.1 s against 9.4 s) for files 10% larger."""
