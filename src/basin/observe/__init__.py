"""Observability: monitors evaluated after each run, and incidents with a lifecycle."""
