from __future__ import annotations

from pathlib import Path

import pytest

from basin.common.errors import ConfigError
from basin.config import load_project, parse_config, select_entities

GOOD = """
project: shop
sources:
  crm:
    kind: files
    path: drops
    entities:
      customers:
        glob: "customers_*.csv"
        primary_key: [customer_id]
"""


def problems(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, environ=environ or {})
    return info.value.problems


def test_good_file_parses_with_defaults() -> None:
    config = parse_config(GOOD, environ={})
    assert config.project == "shop"
    entity = config.sources["crm"].entities["customers"]
    assert entity.format == "csv"  # inferred from the glob
    assert list(config.environments) == ["dev"]
    assert config.publish.schemas == ["marts"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            GOOD.replace('glob: "customers_*.csv"', "format: csv"),
            ["sources.crm.entities.customers.glob: field required (line 8)"],
            id="missing-field",
        ),
        pytest.param(
            GOOD.replace("primary_key", "primary_kee"),
            [
                "sources.crm.entities.customers.primary_kee: unknown field; did you mean 'primary_key'? (line 10)"
            ],
            id="unknown-field-suggests",
        ),
        pytest.param(
            GOOD.replace("kind: files", "kind: ftp"),
            [
                "sources.crm: unknown kind 'ftp'; expected one of: 'files', 'postgres', 'sqlite', 'rest' (line 4)"
            ],
            id="unknown-source-kind",
        ),
        pytest.param(
            GOOD + "dbt: {threads: 2}\ndbt: {threads: 4}\n",
            [
                "dbt: written twice (lines 11 and 12); YAML would keep only the second: "
                "merge them into one"
            ],
            id="a-key-written-twice",
        ),
        pytest.param(
            "project: shop\nsources: [oops\n",
            ["not valid YAML (line 3, column 1): expected ',' or ']', but got '<stream end>'"],
            id="invalid-yaml",
        ),
        pytest.param("", ["the file is empty: it needs at least `project: <name>`"], id="empty"),
        pytest.param(
            GOOD.replace("project: shop", "project: My Shop"),
            [
                "project: 'My Shop' is not a valid name: use lowercase letters, digits and underscores, starting with a letter (line 2)"
            ],
            id="bad-identifier",
        ),
        pytest.param(
            GOOD.replace("path: drops", "path: ${env:DROP_DIR}"),
            [
                "sources.crm.path: environment variable DROP_DIR is not set (export it or add it to .env) (line 6)"
            ],
            id="missing-env-var",
        ),
        pytest.param(
            GOOD + "environments:\n  dev:\n    warehouse: {engine: duckdb, path: marts.duckdb}\n",
            [
                "environments.dev.warehouse: DuckDB file 'marts.duckdb' is named after a schema; its "
                "catalog name would clash with schema 'marts'. Use a name such as 'warehouse.duckdb' (line 13)"
            ],
            id="duckdb-file-named-after-schema",
        ),
        pytest.param(
            GOOD + "environments:\n  dev:\n    warehouse: {engine: duckdb, memory_limit: lots}\n",
            [
                "environments.dev.warehouse.memory_limit: memory_limit 'lots' is not an amount of "
                "memory: write a number and a unit, such as 3GB, 2.5GB or 512MiB (line 13)"
            ],
            id="duckdb-memory-limit-not-an-amount",
        ),
        pytest.param(
            GOOD.replace('"customers_*.csv"', '"customers_*.xlsx"'),
            [
                "sources.crm.entities.customers: cannot infer the file format from glob 'customers_*.xlsx': set format to one of csv, jsonl, json, parquet (line 8)"
            ],
            id="unknown-format",
        ),
        pytest.param(
            "project: shop\ndefault_env: prod\n",
            ["default_env 'prod' is not one of the environments: dev (line 1)"],
            id="default-env-undeclared",
        ),
    ],
)
def test_bad_file_lists_each_problem_with_its_path(text: str, expected: list[str]) -> None:
    assert [p.replace("(top level): ", "") for p in problems(text)] == expected


def test_every_problem_is_reported_at_once() -> None:
    text = GOOD.replace("project: shop", "project: Shop").replace("primary_key", "pk")
    found = problems(text)
    assert len(found) == 2
    assert found[0].startswith("project:") and found[1].startswith(
        "sources.crm.entities.customers.pk:"
    )


def test_env_substitution_and_default() -> None:
    text = GOOD.replace("path: drops", "path: ${env:DROP_DIR:-fallback}")
    assert parse_config(text, environ={}).sources["crm"].path == "fallback"
    assert parse_config(text, environ={"DROP_DIR": "/data"}).sources["crm"].path == "/data"


def test_dotenv_is_read_but_never_overrides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "basin.yml").write_text(GOOD.replace("path: drops", "path: ${env:DROP_DIR}"))
    (tmp_path / ".env").write_text("# secrets\nDROP_DIR='from-dotenv'\n")
    monkeypatch.delenv("DROP_DIR", raising=False)
    assert load_project(tmp_path).config.sources["crm"].path == "from-dotenv"
    monkeypatch.setenv("DROP_DIR", "from-env")
    assert load_project(tmp_path).config.sources["crm"].path == "from-env"


def test_environment_selection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "basin.yml").write_text(
        GOOD + "environments:\n  dev: {}\n  prod: {state_dir: /tmp/prod}\n"
    )
    monkeypatch.delenv("BASIN_ENV", raising=False)
    assert load_project(tmp_path).env_name == "dev"
    assert load_project(tmp_path, "prod").state_dir == Path("/tmp/prod")
    monkeypatch.setenv("BASIN_ENV", "prod")
    assert load_project(tmp_path).env_name == "prod"
    with pytest.raises(ConfigError, match="environment 'qa' is not declared; declared: dev, prod"):
        load_project(tmp_path, "qa")


def test_select_entities_names_the_mistake() -> None:
    config = parse_config(GOOD, environ={})
    assert select_entities(config, ["crm"]) == [("crm", "customers")]
    assert select_entities(config, ["crm.customers"]) == [("crm", "customers")]
    with pytest.raises(
        ConfigError,
        match=r"--select crm.customer: no such source or entity; did you mean 'crm.customers'\?",
    ):
        select_entities(config, ["crm.customer"])


def test_cli_reports_config_errors_without_traceback(cli, tmp_path: Path) -> None:
    (tmp_path / "basin.yml").write_text(GOOD.replace("kind: files", "kind: ftp"))
    result = cli("run", project=tmp_path)
    assert result.exit_code == 2
    assert "sources.crm: unknown kind 'ftp'" in result.stderr
    assert "Traceback" not in result.output


def test_cli_outside_a_project_says_how_to_start(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("status")
    assert result.exit_code == 2
    assert "no basin.yml" in result.stderr and "basin init" in result.stderr


def test_basin_variables_override_the_file_then_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resolution order: environment → .env → basin.yml → default."""
    (tmp_path / "basin.yml").write_text(
        GOOD
        + "extract: {parallelism: 4}\n"
        + "environments:\n  prod:\n    metadata: {url: 'sqlite:///m.db', schema: from_file}\n"
    )
    (tmp_path / ".env").write_text(
        "BASIN__EXTRACT__PARALLELISM=3\nBASIN__SOURCES__CRM__PATH=dotenv\n"
    )
    monkeypatch.setenv("BASIN__SOURCES__CRM__PATH", "from-env")
    monkeypatch.setenv("BASIN__ENVIRONMENTS__PROD__METADATA__SCHEMA", "from_env")
    config = load_project(tmp_path).config
    assert config.extract.parallelism == 3  # .env over the file
    assert config.sources["crm"].path == "from-env"  # the environment over .env
    assert config.environments["prod"].metadata.db_schema == "from_env"  # nested, by alias
    assert config.sources["crm"].entities["customers"].glob == "customers_*.csv"  # kept


def test_a_bad_override_names_its_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "basin.yml").write_text(GOOD)
    monkeypatch.setenv("BASIN__EXTRACT__PARALLELISM", "many")
    monkeypatch.setenv("BASIN__SOURCES__ERP__PATH", "x")  # a source only a variable declares
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path)
    text = "\n".join(info.value.problems)
    assert "extract.parallelism" in text and "(from BASIN__EXTRACT__PARALLELISM)" in text
    assert "sources.erp" in text and "(from BASIN__SOURCES__ERP__PATH)" in text


def test_a_secret_given_by_a_basin_variable_is_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from basin.common.redaction import redact

    (tmp_path / "basin.yml").write_text(
        GOOD + "  erp:\n    kind: postgres\n    host: 127.0.0.1\n    tables: {orders: {}}\n"
    )
    monkeypatch.setenv("BASIN__SOURCES__ERP__PASSWORD", "Pl4nted-0verride-Secret")
    config = load_project(tmp_path).config
    assert config.sources["erp"].password.get_secret_value() == "Pl4nted-0verride-Secret"
    assert "Pl4nted" not in redact("login failed for password Pl4nted-0verride-Secret")
