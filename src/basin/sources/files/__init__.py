"""Files dropped into a folder or bucket: CSV, JSON lines, JSON arrays, Parquet."""
