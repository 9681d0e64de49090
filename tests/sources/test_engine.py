"""The extract step's shared DuckDB instance: scanners loaded once, sources attached
once, cursors that keep their temporary tables apart."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import duckdb
import pytest

from basin.common.errors import TerminalError
from basin.sources.engine import ScanEngine


def sqlite_db(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.execute("create table t (id integer)")
    db.executemany("insert into t values (?)", [(i,) for i in range(10)])
    db.commit()
    db.close()
    return path


def test_each_source_is_attached_once_and_cursors_keep_temp_tables_apart(tmp_path: Path) -> None:
    db = sqlite_db(tmp_path / "a.db")
    attached: list[str] = []

    def attach(con: duckdb.DuckDBPyConnection) -> None:
        attached.append("a")
        con.execute(f"ATTACH '{db}' AS src_a (TYPE sqlite, READ_ONLY)")

    with ScanEngine(tmp_path, ["sqlite_scanner"]) as engine:
        loaded = engine.cursor("src_a", attach).execute(
            "select loaded from duckdb_extensions() where extension_name = 'sqlite_scanner'"
        )
        assert loaded.fetchone() == (True,)
        errors: list[BaseException] = []

        def entity(i: int) -> None:
            try:
                cur = engine.cursor("src_a", attach)
                cur.execute(f"create temp table basin_new as select id + {i} as v from src_a.t")
                assert cur.execute("select sum(v) from basin_new").fetchone() == (45 + 10 * i,)
                cur.close()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=entity, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert attached == ["a"]
        spill = engine.spill_dir
        assert spill.is_dir()
    assert not spill.exists()  # closing removes the step's spill folder


def test_a_failed_attach_is_retried_by_the_next_entity(tmp_path: Path) -> None:
    calls: list[int] = []

    def attach(con: duckdb.DuckDBPyConnection) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise duckdb.IOException("source unreachable")

    with ScanEngine(tmp_path, []) as engine:
        with pytest.raises(duckdb.IOException):
            engine.cursor("src_x", attach)
        engine.cursor("src_x", attach).close()
    assert len(calls) == 2


def test_a_scanner_that_cannot_load_fails_the_entity_with_the_package_to_install(
    tmp_path: Path,
) -> None:
    with ScanEngine(tmp_path, ["no_such_scanner"]) as engine:
        with pytest.raises(TerminalError, match="duckdb-extension-no-such-scanner"):
            engine.cursor("src_x", lambda con: None)
