"""The metadata store: runs, steps, lake batches, loads, watermarks, publications.

SQLite file by default, PostgreSQL in production. Many processes (Airflow tasks,
parallel extracts) write it, so it never lives inside the DuckDB warehouse.
"""
