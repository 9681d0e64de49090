"""Secrets from a file and from AWS Secrets Manager (moto's server mode on 127.0.0.1: the
real HTTP API, boto3 unpatched): used by a PostgreSQL source's DSN, never written
anywhere Basin writes; other environments' secrets are not fetched; `basin doctor`
says which resolve without showing them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from basin.config import load_project
from basin.config.secrets import forget
from basin.pipeline.platform import Platform

PASSWORD = "aws-Secr3t-9d8c7b6a"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """AWS Secrets Manager on 127.0.0.1, reached through the AWS chain's settings."""
    from moto.server import ThreadedMotoServer
    from tests.observe.conftest import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    url = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    forget()
    yield url
    forget()
    server.stop()


def _secret(name: str, value: dict | str) -> None:
    import boto3

    boto3.client("secretsmanager").create_secret(
        Name=name, SecretString=value if isinstance(value, str) else json.dumps(value)
    )


@pytest.mark.postgres
def test_a_postgres_source_reads_its_password_from_aws_secrets_manager(
    aws: str, tmp_path: Path, pg_url: str, pg_schema: str, cli
) -> None:
    _secret("basin/finance", {"user": "postgres", "password": PASSWORD})
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"create table {pg_schema}.accounts (id int primary key, name text)")
        conn.execute(f"insert into {pg_schema}.accounts values (1, 'ada'), (2, 'tim')")
    host = pg_url.split("@", 1)[1]
    (tmp_path / "basin.yml").write_text(
        f"""
project: secrets
sources:
  fin:
    kind: postgres
    dsn: "postgresql://${{aws-sm:basin/finance#user}}:${{aws-sm:basin/finance#password}}@{host}"
    schema: {pg_schema}
    tables:
      accounts: {{primary_key: [id]}}
environments:
  dev: {{}}
  prod:
    warehouse:
      engine: postgres
      dsn: "${{aws-sm:basin/prod-warehouse#dsn}}"   # not in the store: never fetched for dev
"""
    )
    platform = Platform(load_project(tmp_path))
    try:
        [result] = platform.extract()
        assert result.rows == 2
    finally:
        platform.close()
    from basin.common.redaction import redact

    # The password is a secret everywhere; the user name is not (masking `postgres`
    # would mangle every postgresql:// Basin shows).
    assert redact(f"login failed: {PASSWORD}") == "login failed: ***"
    assert redact("postgresql://postgres@db/x") == "postgresql://postgres@db/x"
    doctor = cli("doctor", project=tmp_path)
    assert "${aws-sm:basin/finance#password} resolves (aws-sm)" in doctor.stdout
    assert PASSWORD not in doctor.output
    # Nowhere Basin writes: lake, metadata, lineage, logs, audit.
    assert cli("status", project=tmp_path).exit_code == 0
    for path in (tmp_path / ".basin").rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path

    # prod's secret is fetched when prod is used, and its absence is named, not shown.
    failed = cli("--env", "prod", "status", project=tmp_path)
    assert failed.exit_code != 0
    assert "environments.prod.warehouse.dsn: AWS Secrets Manager secret 'basin/prod-warehouse'" in (
        failed.stderr
    )
    assert "ResourceNotFoundException" in failed.stderr


def test_a_missing_key_names_the_keys_and_never_the_values(aws: str, tmp_path: Path) -> None:
    _secret("basin/api", {"token": PASSWORD, "user": "svc"})
    (tmp_path / "basin.yml").write_text(
        'project: p\nalerts:\n  channels:\n    hook: {kind: webhook, url: "http://x/${aws-sm:basin/api#tokn}"}\n'
    )
    from basin.common.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    message = str(caught.value)
    assert "has no key 'tokn' (keys: token, user)" in message and PASSWORD not in message


def test_a_secret_file_and_unknown_providers(tmp_path: Path, cli) -> None:
    secrets = tmp_path / "run-secrets"
    secrets.mkdir()
    (secrets / "hook").write_text("file-Secr3t-token\n")
    (tmp_path / "basin.yml").write_text(
        "project: p\nalerts:\n  channels:\n"
        "    hook: {kind: webhook, url: 'http://127.0.0.1:9/${file:run-secrets/hook}'}\n"
    )
    project = load_project(tmp_path)
    [channel] = project.config.alerts.channels.values()
    assert channel.url.get_secret_value().endswith("/file-Secr3t-token")  # type: ignore[union-attr]
    doctor = cli("doctor", project=tmp_path)
    assert "${file:run-secrets/hook} resolves (file)" in doctor.stdout
    assert "file-Secr3t-token" not in doctor.output

    (secrets / "hook").unlink()
    forget()
    missing = cli("status", project=tmp_path)
    assert "secret file" in missing.stderr and "run-secrets/hook does not exist" in missing.stderr

    (tmp_path / "basin.yml").write_text(
        "project: p\nalerts:\n  channels:\n    hook: {kind: webhook, url: '${vault:kv/hook#url}'}\n"
    )
    unknown = cli("status", project=tmp_path)
    assert "unknown secret provider 'vault'" in unknown.stderr
    assert "${env:…}, ${file:…}, ${aws-sm:…}" in unknown.stderr


def test_running_dev_needs_no_variable_of_another_environment(tmp_path: Path, cli) -> None:
    (tmp_path / "basin.yml").write_text(
        "project: p\nenvironments:\n  dev: {}\n  prod:\n"
        "    warehouse: {engine: postgres, dsn: '${env:BASIN_TEST_UNSET_PROD_DSN}'}\n"
    )
    assert cli("status", project=tmp_path).exit_code == 0
    prod = cli("--env", "prod", "status", project=tmp_path)
    assert prod.exit_code != 0 and "BASIN_TEST_UNSET_PROD_DSN is not set" in prod.stderr
