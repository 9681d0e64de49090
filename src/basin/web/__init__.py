"""Basin's web UI (``basin web``, started by ``basin serve``): runs, tables, quality,
lineage, catalog and incidents, read from the metadata store."""
