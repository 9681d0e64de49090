"""Shared fixtures: projects in temp folders, the CLI in-process, PostgreSQL schemas."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from bench.platform import own_port

# The reference platform's sources and clean run, shared by the tests that compare
# against it (fault injection, the S3 lake).
pytest_plugins = ["tests.reference_runs"]

PG_URL = os.environ.get("BASIN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REPO = Path(__file__).resolve().parent.parent


def _pg_reachable() -> str | None:
    import psycopg

    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("select 1")
        return None
    except Exception as exc:  # noqa: BLE001
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The test PostgreSQL server; missing it fails in CI and skips (with the reason) elsewhere."""
    problem = _pg_reachable()
    if problem:
        service_missing(f"PostgreSQL at {PG_URL} is not reachable: {problem}")
    return PG_URL


def service_missing(message: str) -> None:
    """A service a test needs is not there: fail in CI (scripts/ensure-services.sh
    provides it), skip with the reason elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must provide it: scripts/ensure-services.sh)")
    pytest.skip(message)


@pytest.fixture
def pg_schema(pg_url: str) -> Iterator[str]:
    """A fresh schema for one test, dropped afterwards."""
    import psycopg

    name = f"basin_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'create schema "{name}"')
    yield name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'drop schema if exists "{name}" cascade')


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[str]:
    """A fresh database for one test (warehouses use fixed schema names), dropped afterwards."""
    import psycopg

    name = f"basin_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    yield pg_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    """Run ``basin`` in-process: ``cli("run", project=path)`` → CliResult."""
    from basin.cli.main import main

    def invoke(*args: str, project: Path | None = None) -> CliResult:
        argv = ([f"--project={project}"] if project else []) + list(args)
        capsys.readouterr()
        code = 0
        try:
            main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return CliResult(code, out.out, out.err)

    return invoke


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh copy of the `basin init` project (shop orders → daily revenue)."""
    from basin.scaffold import create_project

    root = tmp_path / "proj"
    create_project(root, name="proj")
    return root


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    """A copy of examples/reference without generated state."""
    dest = tmp_path / "reference"
    shutil.copytree(
        REPO / "examples" / "reference",
        dest,
        ignore=shutil.ignore_patterns(".basin", "drops", "data", "target", "logs", "dbt_packages"),
    )
    return own_port(dest)


PG_FIXTURES = {"pg_url", "pg_schema", "pg_database"}
# Parameters of tests that run on each engine or store: the PostgreSQL case is marked
# (it asks for the server's fixtures at run time, which the hook below cannot see).
ENGINES = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the PostgreSQL server carries the ``postgres`` marker, so
    ``-m "not postgres"`` leaves out exactly those (their fixture skips them outside
    CI and fails them in CI when the server is missing)."""
    for item in items:
        if PG_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


HEAVY = (
    "tests/bi/test_superset.py::",
    "tests/orchestration/test_prefect.py::",
    "tests/e2e/test_incremental.py::",
    "tests/orchestration/test_airflow_celery.py::test_tasks_run",
    "tests/orchestration/test_airflow_serve.py::test_serve_runs",
    "tests/observe/test_scenarios.py::",
    "tests/reliability/test_secrets.py::",
    "tests/orchestration/test_airflow_dags.py::",
    "tests/scaffold/test_ci_workflow.py::test_the_pull_request_job",
    "tests/lake/test_s3.py::test_the_reference_platform",
    "tests/infra/test_terraform.py::",
    "tests/orchestration/test_dagster",
    "tests/e2e/test_run.py::",
    "tests/reliability/test_fault_injection.py::",
    "tests/test_bench.py::",
)
"""The longest tests, longest first (CI durations, three workers, 2026-12-05): they
start first, and the Makefile hands tests out one at a time (``--maxschedchunk 1``), so
no long test is left to run alone at the end while the other workers are idle."""


def _heaviness(item: pytest.Item) -> int:
    for rank, prefix in enumerate(HEAVY):
        if item.nodeid.startswith(prefix):
            return rank
    return len(HEAVY)


class _Order:
    """The longest tests first (``HEAVY``). Tests that need Superset run last when its
    virtualenv is not there yet — it is installed in the background from the start,
    while the rest of the suite runs (only when such a test is selected: this runs after
    -m/-k deselected the others) — and among the long ones when it is."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        from basin.bi.superset.install import installed

        items.sort(key=_heaviness)  # stable: the rest keep pytest's order
        _prefect_after_its_build(items)
        superset = [item for item in items if item.get_closest_marker("superset")]
        if superset and not installed(superset_venv(config)):
            items[:] = [i for i in items if not i.get_closest_marker("superset")] + superset
            _install_superset_ahead(config)


PREFECT_TESTS = "tests/orchestration/test_prefect.py::"


def _prefect_after_its_build(items: list[pytest.Item]) -> None:
    """Without Prefect's virtualenv, build it in the background from now on and start
    the Prefect tests after the other long ones (they wait for the build's lock; on a
    fresh machine two of them waited 60 s each at the head of the queue)."""
    import subprocess
    import sys

    from tests.orchestration import prefect_env

    prefect = [i for i in items if i.nodeid.startswith(PREFECT_TESTS)]
    if not prefect or prefect_env.ready():
        return
    SUPERSET_INSTALL.append(
        subprocess.Popen(
            [sys.executable, "-m", "tests.orchestration.prefect_env"],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    )
    rest = [i for i in items if not i.nodeid.startswith(PREFECT_TESTS)]
    heavy = sum(1 for i in rest if _heaviness(i) < len(HEAVY))
    items[:] = rest[:heavy] + prefect + rest[heavy:]


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_Order(), "basin-order")


SUPERSET_INSTALL: list[object] = []
"""Background installs (Superset's, Prefect's) the session started."""


def tool_venvs() -> Path:
    """Where the tests keep the virtualenvs of tools whose pins conflict with Basin's
    (Superset, checkov): outside the checkout, like pip's cache, so a clean clone on the
    same machine reuses them. Each is made again when its constraints change (a stamp
    says which it was made from) and from scratch on a fresh machine;
    ``BASIN_TEST_VENVS`` moves them."""
    return Path(os.environ.get("BASIN_TEST_VENVS") or Path.home() / ".cache/basin/test-venvs")


def superset_venv(config: pytest.Config) -> Path:  # noqa: ARG001 - kept for its callers
    """Superset's virtualenv for the tests."""
    folder = tool_venvs() / "superset"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "venv"


def _install_superset_ahead(config: pytest.Config) -> None:
    import subprocess
    import sys

    from basin.bi.superset.install import installed

    venv = superset_venv(config)
    if installed(venv):
        return
    log = venv.parent / "install.log"
    SUPERSET_INSTALL.append(
        subprocess.Popen(
            [sys.executable, "-m", "basin.bi.superset.install", str(venv), str(log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop a background install (Superset's, Prefect's) no test waited for."""
    import signal

    for proc in SUPERSET_INSTALL:
        if proc.poll() is None:  # type: ignore[attr-defined]
            os.killpg(proc.pid, signal.SIGTERM)  # type: ignore[attr-defined]
            proc.wait(timeout=60)  # type: ignore[attr-defined]
