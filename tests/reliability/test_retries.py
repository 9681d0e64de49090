"""Defect 12: terminal errors fail at once, transient ones are retried — by Basin
inside a step, and by Airflow between tries — and the attempt count said is true."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from basin.common.errors import ExtractError, SourceUnavailable, TerminalError, TransientError
from basin.config import load_project
from basin.pipeline.platform import Platform


class Forwarder:
    """A TCP forwarder on 127.0.0.1 to the real PostgreSQL, started late: until it
    listens, connections to its port are refused (a database restarting)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._server: socket.socket | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        server.settimeout(0.2)
        self._server = server
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                continue
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.close()


def _project(root: Path, dsn: str, schema: str, attempts: int) -> Platform:
    (root / "basin.yml").write_text(
        f"""
project: retry
sources:
  fin:
    kind: postgres
    dsn: "{dsn}"
    schema: {schema}
    tables:
      items: {{table: items}}
extract:
  retry_attempts: {attempts}
"""
    )
    return Platform(load_project(root))


@pytest.mark.postgres
def test_an_unreachable_database_is_retried_inside_the_step(
    tmp_path: Path, pg_url: str, pg_schema: str, caplog: pytest.LogCaptureFixture
) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'create table "{pg_schema}".items (id int)')
        conn.execute(f'insert into "{pg_schema}".items values (1), (2)')
    forwarder = Forwarder(("127.0.0.1", 5432))
    dsn = pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{forwarder.port}")
    platform = _project(tmp_path, dsn, pg_schema, attempts=4)
    # The database "comes back" while Basin waits between its first attempts.
    timer = threading.Timer(1.5, forwarder.start)
    timer.start()
    try:
        [result] = platform.extract()
    finally:
        timer.cancel()
        forwarder.stop()
        platform.close()
    assert result.rows == 2
    assert any("attempt 1 failed" in line and "retrying" in line for line in caplog.messages)


@pytest.mark.postgres
def test_retries_that_run_out_say_how_many_attempts_were_made(
    tmp_path: Path, pg_url: str, pg_schema: str
) -> None:
    platform = _project(tmp_path, "postgresql://postgres@127.0.0.1:1/test", pg_schema, attempts=2)
    started = time.monotonic()
    with pytest.raises(SourceUnavailable, match=r"\(after 2 attempts\)") as info:
        platform.extract()
    assert time.monotonic() - started >= 1  # it waited before the second attempt
    assert isinstance(info.value, TransientError)
    platform.close()


@pytest.mark.postgres
def test_a_missing_table_is_terminal_and_not_retried(
    tmp_path: Path, pg_url: str, pg_schema: str, caplog: pytest.LogCaptureFixture
) -> None:
    platform = _project(tmp_path, pg_url, pg_schema, attempts=5)
    with pytest.raises(ExtractError) as info:
        platform.extract()
    assert isinstance(info.value, TerminalError)
    assert "attempt" not in info.value.message
    assert not any("retrying" in line for line in caplog.messages)
    platform.close()


def test_an_unreachable_warehouse_is_transient(tmp_path: Path) -> None:
    from basin.common.errors import WarehouseUnavailable

    (tmp_path / "drops").mkdir()
    (tmp_path / "drops" / "x_1.csv").write_text("a\n1\n")
    (tmp_path / "basin.yml").write_text(
        """
project: wh
environments:
  dev:
    warehouse: {engine: postgres, host: 127.0.0.1, port: 1}
load: {retry_attempts: 2}
sources:
  f:
    kind: files
    path: drops
    entities:
      x: {glob: "x_*.csv"}
"""
    )
    platform = Platform(load_project(tmp_path))
    platform.extract()
    with pytest.raises(WarehouseUnavailable) as info:
        platform.load()
    assert isinstance(info.value, TransientError)  # Airflow retries it; a bad config does not
    assert "(after 2 attempts)" in info.value.message  # and Basin tried again itself first
    platform.close()


@pytest.mark.postgres
def test_a_warehouse_that_comes_back_is_loaded_inside_the_step(
    tmp_path: Path, pg_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    import psycopg

    forwarder = Forwarder(("127.0.0.1", 5432))
    dsn = pg_database.replace("127.0.0.1:5432", f"127.0.0.1:{forwarder.port}")
    (tmp_path / "drops").mkdir()
    (tmp_path / "drops" / "x_1.csv").write_text("a\n1\n2\n")
    (tmp_path / "basin.yml").write_text(
        f"""
project: wh
environments:
  dev:
    warehouse: {{engine: postgres, dsn: "{dsn}"}}
load: {{retry_attempts: 5}}
sources:
  f:
    kind: files
    path: drops
    entities:
      x: {{glob: "x_*.csv"}}
"""
    )
    platform = Platform(load_project(tmp_path))
    platform.extract()
    timer = threading.Timer(1.5, forwarder.start)  # the server restarts meanwhile
    timer.start()
    try:
        [result] = platform.load()
    finally:
        timer.cancel()
        platform.close()
        forwarder.stop()
    assert result.rows == 2
    assert any("warehouse" in line and "retrying" in line for line in caplog.messages)
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("select count(*) from raw.f__x").fetchone() == (2,)


@pytest.mark.postgres
def test_a_server_that_refuses_the_login_is_terminal_and_not_retried(
    tmp_path: Path, pg_url: str, pg_schema: str, caplog: pytest.LogCaptureFixture
) -> None:
    """DuckDB's scanner says "Unable to connect" for a wrong role too: the server's
    refusal is not a network problem, and retrying it only delays the message."""
    dsn = pg_url.replace("postgresql://postgres@", "postgresql://no_such_role_basin@")
    platform = _project(tmp_path, dsn, pg_schema, attempts=3)
    with pytest.raises(ExtractError) as info:
        platform.extract()
    platform.close()
    assert isinstance(info.value, TerminalError)
    assert "does not exist" in info.value.message and "attempts" not in info.value.message
    assert not any("retrying" in line for line in caplog.messages)


@pytest.mark.postgres
def test_a_warehouse_that_refuses_the_login_is_terminal(tmp_path: Path, pg_database: str) -> None:
    (tmp_path / "drops").mkdir()
    (tmp_path / "drops" / "x_1.csv").write_text("a\n1\n")
    dsn = pg_database.replace("postgresql://postgres@", "postgresql://no_such_role_basin@")
    (tmp_path / "basin.yml").write_text(
        f"""
project: wh
environments:
  dev:
    warehouse: {{engine: postgres, dsn: "{dsn}"}}
sources:
  f:
    kind: files
    path: drops
    entities:
      x: {{glob: "x_*.csv"}}
"""
    )
    platform = Platform(load_project(tmp_path))
    platform.extract()
    with pytest.raises(TerminalError) as info:
        platform.load()
    platform.close()
    assert "does not exist" in info.value.message and "attempts" not in info.value.message
