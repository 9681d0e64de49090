"""The one-server lifecycle shared by Superset, Dagster and Prefect's server."""

from __future__ import annotations

from pathlib import Path

from basin.common import servers


def test_an_unreadable_state_file_is_removed_not_a_crash(tmp_path: Path) -> None:
    state = tmp_path / "serve.json"
    for text in ("{garbage", '{"url": "x"}', "[]"):  # cut short, missing fields, not a record
        state.write_text(text)
        assert servers.running(state) is None
        assert not state.exists()
        state.write_text(text)
        assert servers.stop("Thing", state) is False
        assert not state.exists()
