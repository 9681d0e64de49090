"""The lake on S3: moto's S3 server on 127.0.0.1 (the real HTTP API; s3fs, botocore
and DuckDB's httpfs talk to it as to AWS, nothing patched). A batch is there once its
manifest is, a manifest is never replaced, the reference platform run on an S3 lake
publishes what it publishes on a local folder (also after a kill -9 mid-extract and a
replay from the bucket), and the credentials, taken from the AWS chain only, are
written nowhere."""

from __future__ import annotations

import signal
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.lake.test_storage import _batch
from tests.reference_runs import TIMEOUT, copy_reference, each_batch_once, state
from tests.reliability.conftest import basin

from basin.lake.configuration import S3Options
from basin.lake.storage import Lake, LakeError

SECRET_KEY = "s3-Secr3t-planted-4f7a91"
REGION = "eu-central-1"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 on 127.0.0.1, with the AWS chain's environment pointing nowhere else."""
    from moto.server import ThreadedMotoServer
    from tests.observe.conftest import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "basin-test",
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "AWS_EC2_METADATA_DISABLED": "true",
        }.items():
            env.setenv(name, value)
        env.delenv("AWS_PROFILE", raising=False)
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.stop()


@pytest.fixture
def bucket(s3_endpoint: str) -> str:
    import boto3

    name = f"lake-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return name


def _keys(endpoint: str, bucket: str) -> list[str]:
    import boto3

    pages = boto3.client("s3", endpoint_url=endpoint).get_paginator("list_objects_v2")
    return [o["Key"] for page in pages.paginate(Bucket=bucket) for o in page.get("Contents", [])]


def test_a_batch_on_s3_is_there_once_its_manifest_is_and_never_replaced(
    s3_endpoint: str, bucket: str, tmp_path: Path
) -> None:
    lake = Lake(f"s3://{bucket}/team", S3Options(endpoint_url=s3_endpoint, url_style="path"))
    assert lake.complete_batches("crm", "customers") == []
    # A data file without its manifest (a process killed between the two): no batch.
    local = tmp_path / "part.parquet"
    local.write_bytes(b"half")
    lake.put_file(local, f"{lake.batch_dir('crm', 'customers', 'b0')}/part-00000.parquet")
    assert lake.complete_batches("crm", "customers") == []
    manifest = _batch(lake, tmp_path, "b1", "2026-12-01T00:00:00", b"one")
    assert [m.batch_id for m in lake.complete_batches("crm", "customers")] == ["b1"]
    # The manifest is PUT with If-None-Match: a second writer of the batch is refused.
    with pytest.raises(LakeError, match="exists already"):
        lake.write_manifest(lake.batch_dir("crm", "customers", "b1"), manifest)
    assert lake.data_files(manifest, verify=True) == [
        f"s3://{bucket}/team/bronze/crm/customers/batch=b1/part-00000.parquet"
    ]
    lake.remove_batch("crm", "customers", "b0")
    assert not any("batch=b0" in k for k in _keys(s3_endpoint, bucket))


def test_duckdb_reads_and_writes_the_bucket_with_a_temporary_secret(
    s3_endpoint: str, bucket: str
) -> None:
    lake = Lake(f"s3://{bucket}/x", S3Options(endpoint_url=s3_endpoint, url_style="path"))
    url = lake.uri(lake.path("t.parquet"))
    with lake.connect() as con:
        con.execute(f"COPY (SELECT range AS n FROM range(1000)) TO '{url}' (FORMAT parquet)")
        assert con.execute(f"SELECT sum(n) FROM read_parquet('{url}')").fetchone() == (499500,)
        # TEMPORARY: in this DuckDB instance's memory only.
        [(persistent,)] = con.execute(
            "SELECT persistent FROM duckdb_secrets() WHERE name = 'basin_lake'"
        ).fetchall()
        assert persistent is False
        shown = str(con.execute("SELECT * FROM duckdb_secrets()").fetchall())
        assert SECRET_KEY not in shown  # DuckDB redacts it


def test_no_credentials_a_missing_bucket_and_a_wrong_url_style_are_named_by_doctor(
    s3_endpoint: str, bucket: str, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "basin.yml").write_text(
        "project: s3lake\n"
        "environments:\n"
        "  dev:\n"
        f"    lake: {{url: 's3://{bucket}/p', s3: {{endpoint_url: '{s3_endpoint}', url_style: path}}}}\n"
        "  gone:\n"
        f"    lake: {{url: 's3://no-such-{bucket}/p', s3: {{endpoint_url: '{s3_endpoint}', url_style: path}}}}\n"
        "  vhost:\n"
        f"    lake: {{url: 's3://{bucket}/p', s3: {{endpoint_url: '{s3_endpoint}'}}}}\n"
        "sources: {}\n"
    )
    (tmp_path / "models").mkdir()
    assert "✓ lake: s3://" in cli("doctor", project=tmp_path).output
    missing = cli("--env", "gone", "doctor", project=tmp_path).output
    assert f"s3://no-such-{bucket}/p cannot be read" in missing
    assert "bucket" in missing and SECRET_KEY not in missing
    # bucket.127.0.0.1 resolves nowhere: the fix named is the addressing style.
    vhost = cli("--env", "vhost", "doctor", project=tmp_path).output
    assert "DuckDB cannot read" in vhost and "url_style: path" in vhost, vhost
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    none = cli("doctor", project=tmp_path).output
    assert "lake" in none and "AWS_ACCESS_KEY_ID" in none


def test_a_lake_url_basin_cannot_use_is_refused_when_the_project_loads(tmp_path: Path, cli) -> None:
    for lake, said in (
        ("{url: 'gs://bucket/p'}", "gs:// is not a lake Basin can use"),
        ("{url: 's3:///p'}", "names no bucket"),
        (
            "{url: 's3://b/p', s3: {secret_access_key: hunter2}}",
            "credentials are not read from basin.yml; set AWS_ACCESS_KEY_ID",
        ),
    ):
        (tmp_path / "basin.yml").write_text(
            f"project: p\nenvironments:\n  dev:\n    lake: {lake}\nsources: {{}}\n"
        )
        result = cli("status", project=tmp_path)
        assert result.exit_code != 0 and said in result.output, result.output
        assert "hunter2" not in result.output


@pytest.mark.e2e
def test_the_reference_platform_on_an_s3_lake_publishes_what_a_local_lake_does(
    s3_endpoint: str, bucket: str, reference_sources: Path, clean: tuple, tmp_path: Path
) -> None:
    """Killed (SIGKILL) between an entity's data file and its manifest, run again,
    then rebuilt from the bucket by replay: every published table and every raw batch
    equals the clean run's on a local folder."""
    project = copy_reference(reference_sources, tmp_path / "reference")
    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text().replace(
            "  postgres:",
            "  s3:\n"
            "    warehouse: {engine: duckdb, path: warehouse.duckdb}\n"
            f"    lake: {{url: 's3://{bucket}/reference', "
            f"s3: {{endpoint_url: '{s3_endpoint}', url_style: path}}}}\n"
            "    services: *services\n"
            "  postgres:",
            1,
        )
    )
    killed = basin(project, "--env", "s3", "run", env={"BASIN_KILL_AT": "extract.before_manifest"})
    killed.communicate(timeout=TIMEOUT)
    assert killed.returncode == -signal.SIGKILL
    for args in (("run",), ("replay",), ("run",)):
        done = basin(project, "--env", "s3", *args)
        out, err = done.communicate(timeout=TIMEOUT)
        assert done.returncode == 0, out[-3000:] + err[-3000:]
        published, raw = state(project, "s3")
        assert published == clean[0], args
        assert raw == clean[1], args
    assert each_batch_once(project, "s3") > 0
    # The lake is the bucket: nothing of it on the local disk.
    assert not (project / ".basin" / "s3" / "lake").exists()
    # Each complete batch has its manifest in the bucket, and each manifest there is a
    # complete batch (the killed extraction's data file has none: never loaded).
    with sqlite3.connect(project / ".basin" / "s3" / "metadata.db") as meta:
        complete = {
            b
            for (b,) in meta.execute("select batch_id from basin_batches where status = 'complete'")
        }
    manifests = {
        k.split("/batch=", 1)[1].split("/", 1)[0]
        for k in _keys(s3_endpoint, bucket)
        if k.endswith("/_manifest.json")
    }
    assert manifests == complete
    # The secret key is in no file Basin wrote.
    for path in (project / ".basin").rglob("*"):
        if path.is_file():
            assert SECRET_KEY.encode() not in path.read_bytes(), path


@pytest.mark.postgres
def test_a_postgres_warehouse_loads_from_an_s3_lake_and_replays_from_it(
    s3_endpoint: str, bucket: str, project: Path, pg_database: str
) -> None:
    """PostgreSQL's load reads the bucket through its own DuckDB (given the lake's
    secret): the batches land once, and replay rebuilds raw from the bucket."""
    import psycopg

    from basin.config import load_project
    from basin.pipeline.platform import Platform

    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text().replace(
            "    warehouse:\n      engine: duckdb\n      path: warehouse.duckdb\n",
            f"    warehouse: {{engine: postgres, dsn: '{pg_database}'}}\n"
            f"    lake: {{url: 's3://{bucket}/proj', "
            f"s3: {{endpoint_url: '{s3_endpoint}', url_style: path}}}}\n",
            1,
        )
    )
    platform = Platform(load_project(project))
    try:
        [extracted] = platform.extract()
        assert extracted.rows == 5
        assert [r.rows for r in platform.load()] == [5]
        assert platform.load() == []  # exactly once
        platform.replay()
    finally:
        platform.close()
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("select count(*) from raw.shop__orders").fetchone() == (5,)
    assert any(k.endswith("/_manifest.json") for k in _keys(s3_endpoint, bucket))
    assert not (project / ".basin" / "dev" / "lake").exists()


def test_a_backup_on_s3_restores_a_lost_manifest_into_the_s3_lake(
    s3_endpoint: str, bucket: str, project: Path, cli
) -> None:
    """Backup and restore through the bucket (the lake's S3 options reach the backup's
    destination too); the AWS secret is written nowhere."""
    import boto3

    yml = project / "basin.yml"
    yml.write_text(
        yml.read_text().replace(
            "      path: warehouse.duckdb\n",
            "      path: warehouse.duckdb\n"
            f"    lake: {{url: 's3://{bucket}/proj', "
            f"s3: {{endpoint_url: '{s3_endpoint}', url_style: path}}}}\n",
            1,
        )
    )
    assert cli("run", project=project).exit_code == 0
    nowhere = cli("backup", "--to", f"s3://{bucket}-missing/backups", project=project)
    assert nowhere.exit_code == 1 and "no such bucket" in nowhere.output
    made = cli("backup", "--to", f"s3://{bucket}/backups", project=project)
    assert made.exit_code == 0, made.output
    keys = _keys(s3_endpoint, bucket)
    assert any(k.startswith("backups/dev/") and k.endswith("/backup.json") for k in keys)
    (manifest,) = [k for k in keys if k.startswith("proj/") and k.endswith("/_manifest.json")]
    boto3.client("s3", endpoint_url=s3_endpoint).delete_object(Bucket=bucket, Key=manifest)
    (project / ".basin" / "dev" / "published" / "warehouse.duckdb").unlink()

    done = cli("restore", "--from", f"s3://{bucket}/backups", "--yes", project=project)
    assert done.exit_code == 0, done.output
    assert "1 lost manifest(s) put back" in done.output
    assert manifest in _keys(s3_endpoint, bucket)
    assert (project / ".basin" / "dev" / "published" / "warehouse.duckdb").exists()
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    for key in _keys(s3_endpoint, bucket):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert SECRET_KEY.encode() not in body, key
