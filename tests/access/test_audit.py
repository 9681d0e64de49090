"""The audit log: every command logged with who, what (secrets redacted) and how it
ended; a changed basin.yml logged; an edited, deleted or forged entry named by
`basin audit verify`; two processes appending at once keep one chain."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from basin.access.audit import _digest, _fields, append, entries, verify
from basin.metadata.models import AuditEntry
from basin.metadata.store import MetadataStore, open_store
from tests.conftest import STORES

SECRET = "Sup3r-s3cret-pw"


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'metadata.db'}", None
    pg_url = request.getfixturevalue("pg_url")
    schema = request.getfixturevalue("pg_schema")
    return pg_url.replace("postgresql://", "postgresql+psycopg://"), schema


@pytest.fixture
def store(store_url: tuple[str, str | None]):
    url, schema = store_url
    s = open_store(url, env="dev", schema=schema)
    yield s
    s.close()


def _log(project: Path) -> list[AuditEntry]:
    from tests.observe.conftest import from_store

    return list(reversed(from_store(project, lambda s: entries(s, 1000))))


def test_every_command_is_logged_with_who_what_and_how_it_ended(
    cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("run", project=project).exit_code == 0
    assert cli("publish", "--run", "r-nope", project=project).exit_code != 0
    monkeypatch.setenv("BASIN_ACTOR", "service:ci")
    found = cli("catalog", "search", f"postgresql://ada:{SECRET}@db/x", project=project)
    assert found.exit_code == 0
    logged = _log(project)
    assert [(e.command, e.outcome) for e in logged] == [
        ("run", "success"),
        ("publish", "failed"),
        ("catalog", "success"),
    ]
    assert logged[0].actor.startswith("user:") and logged[2].actor == "service:ci"
    assert json.loads(logged[1].arguments)[-3:] == ["publish", "--run", "r-nope"]
    assert "r-nope" in (logged[1].detail or "")  # why it failed, as the user was told
    assert SECRET not in logged[2].arguments and "***" in logged[2].arguments
    for path in (project / ".basin").rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    # Commands without a project, and --help, log nothing anywhere.
    assert cli("--help").exit_code == 0
    assert len(_log(project)) == 3

    shown = cli("audit", "list", project=project)
    assert shown.exit_code == 0 and "service:ci" in shown.stdout and SECRET not in shown.stdout


def test_a_changed_basin_yml_is_logged_before_the_next_command(cli, project: Path) -> None:
    assert cli("status", project=project).exit_code == 0
    yml = project / "basin.yml"
    yml.write_text(yml.read_text() + "\n# a comment counts too: the file changed\n")
    assert cli("status", project=project).exit_code == 0
    assert [e.command for e in _log(project)] == ["status", "config changed", "status"]
    assert cli("status", project=project).exit_code == 0
    assert [e.command for e in _log(project)][-1:] == ["status"]  # no change: no entry


def test_verify_names_an_edited_and_a_deleted_entry(store: MetadataStore) -> None:
    for i in range(10):
        append(store, "run", [f"--n={i}"], "success", who="user:ada@h")
    assert verify(store) == (10, [])
    with store.session() as s:
        s.execute(
            update(AuditEntry)
            .where(AuditEntry.env == "dev", AuditEntry.seq == 3)
            .values(outcome="failed")
        )
        s.execute(delete(AuditEntry).where(AuditEntry.env == "dev", AuditEntry.seq == 6))
    checked, problems = verify(store)
    assert checked == 9
    assert [(p.seq, p.what.split(" (")[0]) for p in problems] == [
        (3, "was edited after it was written"),
        (6, "entry 6 is missing"),
    ]
    # The log goes on after the damage; verify still names exactly those two.
    append(store, "status", [], "success")
    assert [p.seq for p in verify(store)[1]] == [3, 6]


def test_verify_finds_the_newest_entries_deleted_and_an_entry_forged_at_the_end(
    store: MetadataStore, store_url: tuple[str, str | None]
) -> None:
    for _ in range(5):
        append(store, "run", [], "success")
    with store.session() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.env == "dev", AuditEntry.seq >= 4))
    [problem] = verify(store)[1]
    assert problem.seq == 4 and "entries 4–5 at the end of the log deleted" in problem.what

    other = open_store(store_url[0], env="other", schema=store_url[1])
    try:
        for _ in range(2):
            append(other, "run", [], "success")
        last = entries(other, 1)[0]
        with other.session() as s:  # a row added by hand, chained correctly, head untouched
            forged = AuditEntry(
                env="other",
                seq=3,
                at=last.at,
                actor="user:mallory@h",
                command="publish",
                arguments="[]",
                outcome="success",
                detail=None,
                config_sha=None,
                prev_hash=last.hash,
                hash="",
            )
            forged.hash = _digest(_fields(forged))
            s.add(forged)
        [problem] = verify(other)[1]
        assert problem.seq == 3 and "added by hand" in problem.what
        assert [p.seq for p in verify(store)[1]] == [4]  # each environment its own chain
    finally:
        other.close()


def test_verify_on_the_command_line_names_both_and_exits_1(cli, project: Path) -> None:
    for _ in range(4):
        assert cli("status", project=project).exit_code == 0
    assert cli("audit", "verify", project=project).exit_code == 0
    from tests.observe.conftest import from_store

    def tamper(store: MetadataStore) -> None:
        with store.session() as s:
            s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(actor="user:nobody@h"))
            s.execute(delete(AuditEntry).where(AuditEntry.seq == 3))

    from_store(project, tamper)
    result = cli("audit", "verify", project=project)
    assert result.exit_code == 1
    assert "entry 2: was edited" in result.stderr and "entry 3: entry 3 is missing" in result.stderr


APPENDER = """
import sys
from basin.access.audit import append
from basin.metadata.store import open_store
store = open_store(sys.argv[1], env="dev", schema=sys.argv[2] or None)
for i in range(int(sys.argv[3])):
    append(store, "run", [sys.argv[4], str(i)], "success")
store.close()
"""


def test_two_processes_appending_at_once_keep_one_chain(
    store: MetadataStore, store_url: tuple[str, str | None]
) -> None:
    url, schema = store_url
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", APPENDER, url, schema or "", "150", name],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
    checked, problems = verify(store)
    assert (checked, problems) == (300, [])
    logged = entries(store, 1000)
    assert sorted(e.seq for e in logged) == list(range(1, 301))
    assert sorted(json.loads(e.arguments)[0] for e in logged).count("a") == 150
