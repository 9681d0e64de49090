"""infra/terraform: the modules parse (python-hcl2), say what Basin expects (its
built-in roles, its workloads, a lake bucket that is versioned, encrypted and never
public), and pass checkov's scan with nothing failed — no Terraform binary is
installable here, so `terraform validate`/`plan` are not run (docs/howto/infrastructure.md)."""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import hcl2
import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra" / "terraform"
MODULES = INFRA / "modules"
CONSTRAINTS = REPO / "constraints" / "checkov-py311.txt"


def _plain(value: Any) -> Any:
    """python-hcl2 keeps string literals quoted: unquote them, recursively."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _parse(module: str) -> dict[str, Any]:
    """Every block of a module's .tf files, merged by kind."""
    merged: dict[str, Any] = {}
    for tf in sorted((MODULES / module).glob("*.tf")):
        with tf.open() as fh:
            for kind, blocks in _plain(hcl2.load(fh)).items():
                merged.setdefault(kind, []).extend(blocks)
    return merged


def _resources(parsed: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (kind, name): body
        for block in parsed.get("resource", [])
        for kind, named in block.items()
        for name, body in named.items()
    }


def _locals(parsed: dict[str, Any]) -> dict[str, Any]:
    return {k: v for block in parsed.get("locals", []) for k, v in block.items()}


def test_every_file_parses_and_every_variable_and_output_is_described() -> None:
    files = sorted(INFRA.rglob("*.tf"))
    assert len(files) >= 10
    for tf in files:
        with tf.open() as fh:
            parsed = _plain(hcl2.load(fh))
        for block in parsed.get("variable", []) + parsed.get("output", []):
            for name, body in block.items():
                assert body.get("description"), f"{tf.relative_to(REPO)}: {name} has no description"
    example = (INFRA / "examples" / "production" / "main.tf").read_text()
    for module in ("lake_bucket", "aws_roles", "snowflake"):
        assert f'source            = "../../modules/{module}"' in example or (
            f'"../../modules/{module}"' in example
        )


def test_the_lake_bucket_is_versioned_encrypted_private_and_tls_only() -> None:
    res = _resources(_parse("lake_bucket"))
    versioning = res[("aws_s3_bucket_versioning", "lake")]["versioning_configuration"][0]
    assert versioning["status"] == "Enabled"
    sse = res[("aws_s3_bucket_server_side_encryption_configuration", "lake")]["rule"][0]
    assert sse["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "aws:kms"
    assert res[("aws_kms_key", "lake")]["enable_key_rotation"] is True
    block = res[("aws_s3_bucket_public_access_block", "lake")]
    assert all(
        block[k] is True
        for k in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        )
    )
    rules = {r["id"]: r for r in res[("aws_s3_bucket_lifecycle_configuration", "lake")]["rule"]}
    assert {"abort-incomplete-uploads", "earlier-versions", "quarantine"} <= set(rules)
    # Batches are never expired: only quarantined rows and earlier versions are.
    assert rules["quarantine"]["filter"][0]["prefix"].endswith("/quarantine/")
    policy = res[("aws_s3_bucket_policy", "lake")]["policy"]
    assert "aws:SecureTransport" in policy and '"Deny"' in policy


def test_workload_roles_write_only_where_their_steps_write() -> None:
    local = _locals(_parse("aws_roles"))
    text = json.dumps(local)
    assert "s3:*" not in text and '"Resource": "*"' not in text
    # The loader writes batches and quarantine, the transformer backups, BI nothing.
    policies = local["policies"]
    assert set(policies) == {"loader", "transformer", "bi"} and policies["bi"] == []
    assert "WriteBatches" in policies["loader"] and "/bronze/*" in policies["loader"]
    assert "/quarantine/*" in policies["loader"] and "backups" not in policies["loader"]
    assert "WriteBackups" in policies["transformer"] and "bronze/*" not in policies["transformer"]


def test_snowflake_roles_and_warehouses_are_basins() -> None:
    from basin.access.configuration import BUILT_IN
    from basin.warehouses.snowflake.configuration import Compute

    parsed = _parse("snowflake")
    local = _locals(parsed)
    assert sorted(local["roles"]) == sorted(BUILT_IN)  # drift between the two is caught
    assert sorted(local["role_workload"]) == sorted(BUILT_IN)
    assert set(local["role_workload"].values()) == set(Compute.model_fields)
    variables = {k: v for block in parsed["variable"] for k, v in block.items()}
    assert set(variables["warehouses"]["default"]) == set(Compute.model_fields)
    assert set(variables["warehouse_sizes"]["default"]) == set(Compute.model_fields)
    res = _resources(parsed)
    assert res[("snowflake_warehouse", "workload")]["auto_resume"] == "true"


@pytest.fixture(scope="session")
def checkov() -> Path:
    """checkov in its own virtualenv (its pins conflict with Basin's), from the committed
    constraints, kept beside Superset's (tests/conftest.tool_venvs); installed once,
    under a lock."""
    from tests.conftest import tool_venvs

    folder = tool_venvs() / "checkov"
    folder.mkdir(parents=True, exist_ok=True)
    venv = folder / "venv"
    stamp = venv / ".basin-checkov"
    want = hashlib.sha256(CONSTRAINTS.read_bytes() + sys.version.encode()).hexdigest()
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.exists() and stamp.read_text() == want):
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
            done = subprocess.run(
                [*pip, "-c", str(CONSTRAINTS), "checkov"], capture_output=True, text=True
            )
            assert done.returncode == 0, done.stderr[-3000:]
            stamp.write_text(want)
    return venv / "bin" / "checkov"


def _scan(checkov: Path, folder: Path) -> dict[str, Any]:
    done = subprocess.run(
        [
            str(checkov),
            "-d",
            str(folder),
            "--framework",
            "terraform",
            "--quiet",
            "--compact",
            "--skip-download",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(done.stdout)
    return report[0] if isinstance(report, list) else report


def test_checkov_finds_nothing_failing_and_would_find_a_weakened_bucket(
    checkov: Path, tmp_path: Path
) -> None:
    summary = _scan(checkov, INFRA)["summary"]
    assert summary["parsing_errors"] == 0 and summary["failed"] == 0, summary
    assert summary["passed"] >= 30 and summary["resource_count"] >= 20

    weak = tmp_path / "weak"
    shutil.copytree(MODULES / "lake_bucket", weak)
    main = weak / "main.tf"
    main.write_text(
        main.read_text()
        .replace('status = "Enabled"\n  }\n}', 'status = "Suspended"\n  }\n}')
        .replace("enable_key_rotation     = true", "enable_key_rotation     = false")
    )
    failed = {c["check_id"] for c in _scan(checkov, weak)["results"]["failed_checks"]}
    assert "CKV_AWS_7" in failed  # KMS key rotation
