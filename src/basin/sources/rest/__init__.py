"""REST APIs declared in basin.yml, read with dlt's REST client (paginators, auth, retries)."""
