"""Wire Basin's bundled dbt package into a dbt project.

dbt loads every project folder under ``dbt_packages/`` (``packages-install-path``),
so Basin copies its package there before each invocation, replacing it only when
its content changed. The dbt package hub is never contacted.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

PACKAGE = Path(__file__).parent / "dbt_package"
STAMP = ".basin-package-hash"


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != STAMP):
        h.update(str(path.relative_to(folder)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def install_package(project_dir: Path, packages_dir: str = "dbt_packages") -> Path:
    """Copy the bundled package to ``<project>/<packages_dir>/basin``; returns its path."""
    dest = project_dir / packages_dir / "basin"
    wanted = _digest(PACKAGE)
    stamp = dest / STAMP
    if stamp.exists() and stamp.read_text() == wanted:
        return dest
    tmp = dest.with_name(".basin.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(PACKAGE, tmp, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp / STAMP).write_text(wanted)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest
