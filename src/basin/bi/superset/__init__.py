"""Apache Superset 6.1 in its own virtualenv: install, run, and dashboards as code."""
