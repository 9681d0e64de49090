"""MkDocs hooks: pages generated from Basin itself at build time, so they cannot drift.

- ``reference/config.md`` from the models of basin.yml (``basin.config.reference``);
- ``reference/cli.md`` from the Typer app (``basin.cli.reference``);
- ``benchmarks.md`` from ``bench/README.md`` (links into the repository shown as paths);
- in any page, a line ``<!-- options: ModelName -->`` becomes that model's table.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

REPO = Path(__file__).resolve().parents[1]
OPTIONS = re.compile(r"^<!-- options: (\w+) -->$", re.MULTILINE)


def _benchmarks() -> str:
    text = (REPO / "bench" / "README.md").read_text(encoding="utf-8")
    # Links into bench/ (results files, modules) are repository paths, not pages.
    text = re.sub(r"\[([^\]]+)\]\((?!https?://)([^)]+)\)", r"\1 (`bench/\2`)", text)
    return text


def on_files(files: Files, config: Any) -> Files:
    from basin.cli.reference import markdown as cli_reference
    from basin.config.reference import markdown as config_reference

    for uri, content in (
        ("reference/config.md", config_reference()),
        ("reference/cli.md", cli_reference()),
        ("benchmarks.md", _benchmarks()),
    ):
        files.append(File.generated(config, uri, content=content))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    from basin.config.reference import model_named, table

    depth = page.file.src_uri.count("/")
    base = "../" * depth + "reference/config.md"
    return OPTIONS.sub(lambda m: table(model_named(m.group(1)), base), markdown)
