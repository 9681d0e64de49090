"""Services Basin starts for a run (the reference platform's demo API is one)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from basin.common.errors import TerminalError
from basin.config.models import ServiceConfig
from basin.pipeline.services import _ready, running


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_service(port: int, **extra: object) -> ServiceConfig:
    return ServiceConfig(
        name="web",
        command=["python", "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        ready_url=f"http://127.0.0.1:{port}/",
        **extra,  # type: ignore[arg-type]
    )


def wait_down(url: str, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _ready(url):
            return True
        time.sleep(0.1)
    return False


def test_started_for_the_block_and_stopped_after(tmp_path: Path) -> None:
    svc = http_service(free_port())
    with running([svc], tmp_path, tmp_path / "logs"):
        assert _ready(svc.ready_url)
    assert wait_down(svc.ready_url)


def test_something_else_on_the_url_is_an_error_unless_reuse_is_allowed(tmp_path: Path) -> None:
    port = free_port()
    other = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 10
        while not _ready(f"http://127.0.0.1:{port}/") and time.monotonic() < deadline:
            time.sleep(0.1)
        with pytest.raises(TerminalError, match="something already answers"):
            with running([http_service(port)], tmp_path, tmp_path / "logs"):
                pass
        with running([http_service(port, reuse_running=True)], tmp_path, tmp_path / "logs"):
            pass
        assert _ready(f"http://127.0.0.1:{port}/")  # not ours: left running
    finally:
        other.terminate()
        other.wait(timeout=10)


def test_service_dies_with_a_killed_basin_process(tmp_path: Path) -> None:
    port = free_port()
    code = (
        "import time\nfrom pathlib import Path\nfrom basin.config.models import ServiceConfig\nfrom basin.pipeline.services import running\n"
        f"svc = ServiceConfig(name='web', command=['python', '-m', 'http.server', '{port}', '--bind', '127.0.0.1'], "
        f"ready_url='http://127.0.0.1:{port}/')\n"
        f"with running([svc], Path({str(tmp_path)!r}), Path({str(tmp_path / 'logs')!r})):\n"
        "    print('up', flush=True)\n    time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None and parent.stdout.readline().strip() == "up"
    assert _ready(f"http://127.0.0.1:{port}/")
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=10)
    assert wait_down(f"http://127.0.0.1:{port}/"), "the service outlived the Basin process"


def test_a_service_starts_only_for_the_sources_that_read_from_it(project: Path, cli) -> None:
    yml = project / "basin.yml"
    broken = (
        "    services:\n      - name: crm_api\n        command: [python, -c, 'raise SystemExit(3)']\n"
        "        ready_url: http://127.0.0.1:9/health\n        timeout: 5\n"
    )
    text = yml.read_text()
    yml.write_text(
        text.replace(
            "      path: warehouse.duckdb\n",
            "      path: warehouse.duckdb\n" + broken + "        sources: [crm]\n",
            1,
        )
    )
    assert cli("extract", project=project).exit_code == 0  # shop does not need crm_api

    yml.write_text(
        text.replace(
            "      path: warehouse.duckdb\n",
            "      path: warehouse.duckdb\n" + broken + "        sources: [shop]\n",
            1,
        )
    )
    result = cli("extract", "--full-refresh", "--select", "shop", project=project)
    assert result.exit_code != 0
    assert "service crm_api did not become ready" in result.stderr


def test_a_shared_service_is_stopped_by_its_starter_only_after_the_last_user(
    tmp_path: Path,
) -> None:
    """Parallel extract tasks share the service (reuse_running): the task that started
    it and finishes first must not stop it under the others."""
    import threading

    svc = http_service(free_port(), reuse_running=True)
    logs = tmp_path / "logs"
    started, second_in, first_done = threading.Event(), threading.Event(), threading.Event()
    answered: list[bool] = []

    def first() -> None:
        with running([svc], tmp_path, logs):
            started.set()
            assert second_in.wait(30)
        first_done.set()  # only once the second user left

    def second() -> None:
        assert started.wait(30)
        with running([svc], tmp_path, logs):
            second_in.set()
            for _ in range(10):  # the starter's block has ended meanwhile
                answered.append(_ready(svc.ready_url))
                time.sleep(0.1)
            assert not first_done.is_set()  # the starter is still waiting for us

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answered and all(answered)
    assert first_done.is_set()
    assert wait_down(svc.ready_url)
