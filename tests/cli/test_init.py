from __future__ import annotations

from pathlib import Path


def test_init_creates_a_project_that_doctor_accepts(cli, tmp_path: Path) -> None:
    target = tmp_path / "My-Project"
    result = cli("init", str(target))
    assert result.exit_code == 0, result.output
    assert "created project my_project" in result.stdout
    assert (
        (target / "basin.yml")
        .read_text()
        .startswith("# yaml-language-server: $schema=basin.schema.json\n# Basin project file")
    )
    assert "project: my_project" in (target / "basin.yml").read_text()
    assert (target / ".gitignore").exists()
    doctor = cli("doctor", project=target)
    assert doctor.exit_code == 0, doctor.output
    assert "all good" in doctor.stdout


def test_init_refuses_to_overwrite(cli, tmp_path: Path) -> None:
    assert cli("init", str(tmp_path / "p")).exit_code == 0
    again = cli("init", str(tmp_path / "p"))
    assert again.exit_code == 1 and "already holds a Basin project" in again.stderr
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    busy = cli("init", str(tmp_path / "other"))
    assert busy.exit_code == 1 and "--force" in busy.stderr


def test_doctor_names_what_to_fix(cli, tmp_path: Path) -> None:
    assert cli("init", str(tmp_path / "p")).exit_code == 0
    (tmp_path / "p" / "dbt" / "dbt_project.yml").unlink()
    result = cli("doctor", project=tmp_path / "p")
    assert result.exit_code == 1
    assert "no dbt_project.yml" in result.stdout and "fix" in result.stdout


def test_help_and_version(cli) -> None:
    result = cli("--help")
    assert result.exit_code == 0
    for command in (
        "init",
        "run",
        "extract",
        "load",
        "transform",
        "check",
        "publish",
        "status",
        "doctor",
    ):
        assert command in result.stdout
    assert cli("--version").stdout.startswith("basin ")


def test_help_reflows_docstring_paragraphs(cli, monkeypatch) -> None:
    """Docstrings are wrapped at 88 columns in the source; --help reflows them to the
    terminal instead of keeping those breaks, and shows placeholders such as <env>."""
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("TERMINAL_WIDTH", "200")
    extract = cli("extract", "--help")
    assert extract.exit_code == 0
    assert "Rows that cannot be parsed go to the lake's quarantine/ folder" in extract.stdout
    assert ".basin/<env>/reports/quality.html" in cli("check", "--help").stdout


def test_doctor_checks_database_sources(cli, tmp_path: Path) -> None:
    assert cli("init", str(tmp_path / "p")).exit_code == 0
    yml = tmp_path / "p" / "basin.yml"
    yml.write_text(
        yml.read_text().replace(
            "\ndbt:",
            "\n  ops:\n    kind: sqlite\n    path: missing.db\n    tables: {orders: {}}\n"
            "  fin:\n    kind: postgres\n    port: 1\n    tables: {accounts: {}}\n\ndbt:",
            1,
        )
    )
    result = cli("doctor", project=tmp_path / "p")
    assert result.exit_code == 1
    assert "source ops: SQLite file" in result.stdout and "does not exist" in result.stdout
    assert "source fin: postgres://postgres@127.0.0.1:1/postgres" in result.stdout
