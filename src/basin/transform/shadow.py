"""The dbt project Basin runs: the user's, seen through links, plus what Basin adds.

Basin writes nothing into the user's dbt folder. Under ``.basin/<env>/dbt/project/`` it
keeps a project whose folders (models, seeds, snapshots, macros, tests, …) are links to
the user's, whose ``dbt_project.yml`` is the user's with two paths added, and which
holds what Basin generates:

- ``dbt_packages/``: Basin's bundled package, next to links to the packages the user
  installed with ``dbt deps`` (the package hub is never contacted);
- ``basin_macros/generate_schema_name.sql``: models land in the schema their config
  names and published schemas are built under their audit name — unless the user's
  project defines ``generate_schema_name`` itself (two would clash);
- ``basin_tests/``: the tests generated from expectation suites.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from basin.transform.package import install_package

# Entries of a dbt project folder that belong to a run, not to the project.
NOT_LINKED = {"dbt_project.yml", "target", "logs", "dbt_packages", "profiles.yml", ".user.yml"}
OWN = {"dbt_project.yml", "dbt_packages", "basin_macros", "basin_tests"}
MACRO_PATH = "basin_macros"
TEST_PATH = "basin_tests"
_DEFINES_SCHEMA_NAME = re.compile(r"macro\s+generate_schema_name\s*\(")

SCHEMA_MACRO = """\
{#- Written by Basin: schema naming for write-audit-publish (see the basin package). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ basin.generate_schema_name(custom_schema_name, node) }}
{%- endmacro %}
"""


def shadow_project(user_dir: Path, root: Path) -> Path:
    """Bring the project Basin runs at ``root`` up to date with ``user_dir``."""
    root.mkdir(parents=True, exist_ok=True)
    _forget_old_output(user_dir)
    _link_folders(user_dir, root)
    config: dict[str, Any] = (
        yaml.safe_load((user_dir / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    )
    macro_paths = list(config.get("macro-paths") or ["macros"])
    if not _defines_schema_name(user_dir, macro_paths):
        _write(root / MACRO_PATH / "generate_schema_name.sql", SCHEMA_MACRO)
        macro_paths.append(MACRO_PATH)
    else:
        shutil.rmtree(root / MACRO_PATH, ignore_errors=True)
    config["macro-paths"] = macro_paths
    config["test-paths"] = [*list(config.get("test-paths") or ["tests"]), TEST_PATH]
    (root / TEST_PATH).mkdir(exist_ok=True)
    config.pop("packages-install-path", None)  # the packages live here, in dbt_packages/
    config["dispatch"] = _dispatch(config)
    _write(
        root / "dbt_project.yml",
        f"# Written by Basin from {user_dir / 'dbt_project.yml'}; edits are overwritten.\n"
        + yaml.safe_dump(config, sort_keys=False),
    )
    _packages(user_dir, root, config)
    return root


def _dispatch(config: dict[str, Any]) -> list[dict[str, Any]]:
    """dbt's generic tests (unique, not_null, …) resolve to Basin's delta-aware ones
    (``macros/tests/delta_tests.sql``) unless the project's own come first."""
    entries = [dict(e) for e in config.get("dispatch") or [] if isinstance(e, dict)]
    for entry in entries:
        if entry.get("macro_namespace") == "dbt":
            order = [p for p in entry.get("search_order") or [] if p != "basin"]
            at = order.index("dbt") if "dbt" in order else len(order)
            entry["search_order"] = [*order[:at], "basin", *order[at:]]
            return entries
    name = str(config.get("name") or "")
    return [*entries, {"macro_namespace": "dbt", "search_order": [name, "basin", "dbt"]}]


def code_fingerprint(root: Path) -> str:
    """A digest of what a build of the project at ``root`` (the shadow project) runs:
    every file it reads — the user's models, macros, tests, snapshots, seeds and YAML
    through the links, and the packages. A delta is followed only while it is the
    same as when the last build passed."""
    h = hashlib.sha256()
    skip = {"target", "logs"}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if d not in skip and not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _link_folders(user_dir: Path, root: Path) -> None:
    wanted = {p.name for p in user_dir.iterdir() if p.name not in NOT_LINKED}
    for entry in root.iterdir():
        if entry.name not in OWN and (entry.name not in wanted or not entry.is_symlink()):
            _remove(entry)
    for name in wanted:
        link = root / name
        target = (user_dir / name).resolve()
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        _remove(link)
        link.symlink_to(target, target_is_directory=target.is_dir())


def _packages(user_dir: Path, root: Path, config: dict[str, Any]) -> None:
    """Basin's package, and links to the ones the user installed (``dbt deps``)."""
    packages = root / "dbt_packages"
    packages.mkdir(exist_ok=True)
    installed = user_dir / str(config.get("packages-install-path") or "dbt_packages")
    theirs = {p.name: p for p in installed.iterdir()} if installed.is_dir() else {}
    for entry in packages.iterdir():
        if entry.is_symlink() and entry.name not in theirs:
            entry.unlink()
    for name, path in theirs.items():
        if name == "basin":
            continue  # an earlier Basin's copy in the user's folder: ours wins
        link = packages / name
        if not link.is_symlink():
            _remove(link)
            link.symlink_to(path.resolve(), target_is_directory=True)
    install_package(root)


def _forget_old_output(user_dir: Path) -> None:
    """Remove what Basin before 0.1's shadow project wrote into the user's folder: its
    generated expectation tests would be found twice, under two test paths."""
    old = user_dir / "tests" / "basin_expectations"
    marker = old / ".gitignore"
    if marker.is_file() and marker.read_text().strip() == "*":
        shutil.rmtree(old, ignore_errors=True)


def _defines_schema_name(user_dir: Path, macro_paths: list[str]) -> bool:
    for folder in macro_paths:
        for path in (user_dir / folder).rglob("*.sql") if (user_dir / folder).is_dir() else []:
            if _DEFINES_SCHEMA_NAME.search(path.read_text(encoding="utf-8", errors="replace")):
                return True
    return False


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
