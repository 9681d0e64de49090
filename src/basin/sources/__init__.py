"""Source kinds: one folder per kind, each with ``configuration.py`` and ``extract.py``."""
