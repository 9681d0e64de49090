"""``basin init``: a minimal project that runs as soon as it is created."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from basin.common.errors import TerminalError

TEMPLATE = Path(__file__).parent / "template"
PLACEHOLDER = "__PROJECT__"


SCHEMA_FILE = "basin.schema.json"


@dataclass(frozen=True)
class Created:
    root: Path
    name: str
    files: list[Path]


def _project_name(folder: Path) -> str:
    name = re.sub(r"[^a-z0-9_]+", "_", folder.resolve().name.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"project_{name}" if name else "project"
    return name[:63]


def basin_requirement(extras: str = "lint") -> str:
    """This Basin as a requirement line another machine can install: the git or archive
    URL it was installed from (PEP 610's direct_url.json), else its version, to be
    pointed at the team's copy (the requirements file says so)."""
    import json
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("basin")
    except PackageNotFoundError:  # running from a source tree
        return f"basin[{extras}]"
    origin = json.loads(dist.read_text("direct_url.json") or "{}")
    url = str(origin.get("url", ""))
    if not url:  # from a package index: the team's, which holds this Basin
        return f"basin[{extras}]=={dist.version}"
    if url.startswith("file:"):  # a folder or file on this machine: CI cannot reach it
        return f"basin[{extras}] @ git+https://github.com/YOUR-ORG/basin@v{dist.version}"
    vcs = origin.get("vcs_info")
    if vcs:
        return f"basin[{extras}] @ {vcs.get('vcs', 'git')}+{url}@{vcs.get('commit_id')}"
    return f"basin[{extras}] @ {url}"


def create_project(directory: Path, *, name: str | None = None, force: bool = False) -> Created:
    """Copy the template into ``directory`` with the project name filled in.

    Raises:
        TerminalError: when the folder already holds a project or other files (without
            ``force``), or the name is not a valid identifier.
    """
    root = directory.resolve()
    name = name or _project_name(root)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise TerminalError(
            f"'{name}' is not a valid project name",
            hint="use lowercase letters, digits and underscores, starting with a letter (--name)",
        )
    if (root / "basin.yml").exists():
        raise TerminalError(f"{root} already holds a Basin project (basin.yml exists)")
    if root.exists() and any(root.iterdir()) and not force:
        raise TerminalError(
            f"{root} is not empty",
            hint="choose a new folder, or pass --force to add the project files to this one",
        )
    written = []
    for src in sorted(TEMPLATE.rglob("*")):
        if src.is_dir() or "__pycache__" in src.parts:
            continue
        rel = src.relative_to(TEMPLATE)
        # dot.x is .x (files and folders a package or an editor would hide or skip)
        dest = root.joinpath(
            *(p.replace("dot.", ".", 1) if p.startswith("dot.") else p for p in rel.parts)
        )
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.suffix in {".yml", ".sql", ".md", ".gitignore", ".csv", ".txt", ".sqlfluff"}:
            text = src.read_text(encoding="utf-8").replace(PLACEHOLDER, name)
            dest.write_text(
                text.replace("__BASIN_REQUIREMENT__", basin_requirement()), encoding="utf-8"
            )
        else:
            shutil.copyfile(src, dest)
        written.append(dest)
    schema = root / SCHEMA_FILE
    if not schema.exists():
        # Editors with the YAML language server read it (basin.yml's first line).
        from basin.config.reference import json_schema_text

        schema.write_text(json_schema_text(), encoding="utf-8")
        written.append(schema)
    return Created(root=root, name=name, files=written)
