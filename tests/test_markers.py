"""The markers say what a test needs: every test using PostgreSQL is marked."""

from __future__ import annotations

import subprocess
import sys


def test_not_postgres_leaves_out_every_test_that_uses_the_server() -> None:
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-m",
            "not postgres",
            "-p",
            "no:xdist",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    collected = [line for line in listed.splitlines() if "::" in line]
    assert collected  # the rest is still there
    for name in (
        "test_two_environments_share_a_store_without_sharing_state[postgres]",  # a parameter
        "test_every_common_type_round_trips",  # a fixture
        "test_error_failure_blocks_and_records[postgres]",  # a fixture's parameter
    ):
        assert not any(name in line for line in collected), name
    for name in (
        "test_two_environments_share_a_store_without_sharing_state[sqlite]",
        "test_json_log_lines_carry_run_step_and_entity",
    ):
        assert any(name in line for line in collected), name
