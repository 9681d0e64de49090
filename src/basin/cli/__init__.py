"""The ``basin`` command (Typer + Rich): parse, call the pipeline, render."""
