"""basin.yml described from its models: the JSON Schema editors use and the
configuration reference of the docs say what the code accepts, key for key."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from basin.config.reference import json_schema, keys, markdown, models

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "path",
    [REPO / "examples" / "reference" / "basin.yml", REPO / "src/basin/scaffold/template/basin.yml"],
    ids=["reference", "scaffold"],
)
def test_the_schema_accepts_the_shipped_projects(path: Path) -> None:
    data = yaml.safe_load(path.read_text().replace("__PROJECT__", "shop"))
    jsonschema.validate(data, json_schema())


def test_the_schema_rejects_what_the_loader_rejects() -> None:
    schema = json_schema()
    good = {"project": "shop", "sources": {"crm": {"kind": "files", "path": "d", "entities": {}}}}
    jsonschema.validate(good, schema)
    for bad in (
        {**good, "extrct": {}},  # a typo
        {"project": "shop", "sources": {"crm": {"kind": "ftp"}}},  # no such kind
        {"project": "Shop"},  # not an identifier
        {"project": "shop", "extract": {"parallelism": 0}},  # out of range
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
    jsonschema.validate({**good, "x-defaults": {"a": 1}}, schema)  # YAML anchors' home


def test_the_reference_names_every_key_of_every_model() -> None:
    text = markdown()
    sections = text.split("\n## ")
    found = 0
    for model, _path in models():
        [section] = [s for s in sections if f"{{#{model.__name__.lower()}}}" in s.splitlines()[0]]
        for key in keys(model):
            assert f"| `{key}` |" in section, (model.__name__, key)
            found += 1
    assert found > 150  # every source kind, warehouse, auth and pagination is reached
    assert "| `dsn` |" in text and "| `delimiter` |" in text and "| `cursor` |" in text


def test_the_cli_reference_names_every_command_and_option() -> None:
    import typer.main

    from basin.cli.main import app
    from basin.cli.reference import markdown as cli_markdown

    text = cli_markdown()
    root = typer.main.get_command(app)
    ctx = root.context_class(root, info_name="basin")
    for name in root.list_commands(ctx):
        command = root.get_command(ctx, name)
        assert f"## `basin {name}`" in text, name
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("-"):
                    assert f"`{opt}`" in text, (name, opt)


def test_doctor_warns_when_the_editor_schema_is_stale(cli, project: Path) -> None:
    schema = project / "basin.schema.json"
    assert schema.exists() and (project / "basin.yml").read_text().startswith(
        "# yaml-language-server: $schema=basin.schema.json"
    )
    assert "editor schema" in cli("doctor", project=project).stdout
    schema.write_text('{"old": true}')
    result = cli("doctor", project=project)
    assert "from another Basin version" in result.stdout
    assert "basin schema --output basin.schema.json" in result.stdout
    assert cli("schema", "--output", str(schema), project=project).exit_code == 0
    nowhere = cli("schema", "--output", str(project / "no" / "such.json"))
    assert nowhere.exit_code == 1 and "cannot write" in nowhere.stderr
    assert "from another Basin version" not in cli("doctor", project=project).stdout


def test_every_key_is_described() -> None:
    missing = [
        f"{model.__name__}.{info.alias or name}"
        for model, _ in models()
        for name, info in model.model_fields.items()
        if not info.description
    ]
    assert missing == [], "give these fields a docstring (it is their documentation): " + ", ".join(
        missing
    )
