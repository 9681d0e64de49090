"""`basin init`'s template: a valid project named after its folder, never written over
another project."""

from __future__ import annotations

from pathlib import Path

import pytest

from basin.common.errors import TerminalError
from basin.config import parse_config
from basin.scaffold import create_project


@pytest.mark.parametrize(
    ("folder", "name"),
    [("My-Project", "my_project"), ("2026 sales", "project_2026_sales"), ("---", "project")],
)
def test_the_name_comes_from_the_folder(tmp_path: Path, folder: str, name: str) -> None:
    created = create_project(tmp_path / folder)
    assert created.name == name
    config = parse_config((created.root / "basin.yml").read_text(), environ={})
    assert config.project == name
    assert (created.root / ".gitignore").read_text().count(".basin") >= 1
    assert f"profile: {name}" in (created.root / "dbt" / "dbt_project.yml").read_text()


def test_it_never_overwrites(tmp_path: Path) -> None:
    root = tmp_path / "p"
    create_project(root)
    (root / "basin.yml").write_text("project: mine\n")
    with pytest.raises(TerminalError, match="already holds a Basin project"):
        create_project(root, force=True)
    other = tmp_path / "other"
    other.mkdir()
    (other / "dbt").mkdir()
    (other / "dbt" / "dbt_project.yml").write_text("name: theirs\n")
    with pytest.raises(TerminalError, match="not empty"):
        create_project(other)
    created = create_project(other, force=True)
    assert (other / "dbt" / "dbt_project.yml").read_text() == "name: theirs\n"  # kept
    assert other / "dbt" / "dbt_project.yml" not in created.files


def test_a_bad_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TerminalError, match="not a valid project name"):
        create_project(tmp_path / "p", name="Bad Name")


def test_the_dag_file_is_configuration_only() -> None:
    from basin.scaffold import TEMPLATE

    text = (TEMPLATE / "dags" / "basin_dags.py").read_text()
    assert "build_dags" in text and "Variable.get" not in text and "connect(" not in text


def _flatten(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, inner in value.items():
            out.update(_flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def test_the_readmes_basin_yml_is_valid_and_agrees_with_basin_init(tmp_path) -> None:
    import re

    import yaml

    from basin.config.models import ProjectConfig
    from basin.scaffold import create_project

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = re.search(r"### `basin.yml`\n\n```yaml\n(.*?)```", readme, re.S)
    assert block, "README has a basin.yml example"
    example = yaml.safe_load(block.group(1))
    ProjectConfig.model_validate(example)  # every key in it exists, every value fits
    create_project(tmp_path / "p", name="p")
    scaffold = yaml.safe_load((tmp_path / "p" / "basin.yml").read_text())
    ProjectConfig.model_validate(scaffold)
    readme_keys, init_keys = _flatten(example), _flatten(scaffold)
    shared = (set(readme_keys) & set(init_keys)) - {"project"}
    shared = {k for k in shared if not k.startswith("sources.")}  # different examples
    assert shared >= {"dbt.project_dir", "publish.schemas", "environments.dev.warehouse.engine"}
    assert {k: readme_keys[k] for k in shared} == {k: init_keys[k] for k in shared}
    # What README says is the default is the default.
    defaults = ProjectConfig.model_validate({"project": "p"})
    assert defaults.publish.schemas == example["publish"]["schemas"]
    assert defaults.dbt.project_dir == example["dbt"]["project_dir"]
    assert "unset: dbt's\n`error`" in readme and defaults.quality.severity == {}
