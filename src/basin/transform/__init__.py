"""dbt invocation: generated profiles, in-process runs, results."""
