"""``sdd adr link`` writes both sides, in each record's own format, for any verb."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sdd_helpers import FIXTURES, CliResult, files_under, write

Cli = Callable[..., CliResult]


@pytest.fixture
def copy_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    def make(name: str) -> Path:
        root = tmp_path / name
        shutil.copytree(FIXTURES / name, root)
        write(root / ".git" / "HEAD", "ref: refs/heads/main\n")
        monkeypatch.chdir(root)
        return root

    return make


@pytest.mark.fr("011-sdd-existing-repos/FR-007")
@pytest.mark.parametrize(
    ("name", "source", "target"),
    [
        ("adr-tools", "1", "4"),
        ("madr2", "3", "1"),
        ("madr3", "3", "0"),
        ("log4brains", "keep-decisions-with-log4brains", "serve-the-api-with-granian"),
        ("speckit-plus", "2", "1"),
        ("plain", "2", "1"),
    ],
)
def test_link_writes_both_sides_and_stays_clean(
    cli: Cli, copy_of: Callable[[str], Path], name: str, source: str, target: str
) -> None:
    copy_of(name)
    result = cli("adr", "link", source, target, "--type", "amends", "--json")
    assert result.exit_code == 0, result.stdout
    data = result.json()["data"]
    assert data["changed"] is True
    out = {(link["type"], link["direction"], link["target"]) for link in data["source"]["links"]}
    into = {(link["type"], link["direction"], link["target"]) for link in data["target"]["links"]}
    assert ("amended", "out", data["target"]["ref"]) in out
    assert ("amended", "in", data["source"]["ref"]) in into
    assert (
        cli("adr", "link", source, target, "--type", "amends", "--json").json()["data"]["changed"]
        is False
    )
    assert cli("check").exit_code == 0


@pytest.mark.fr("011-sdd-existing-repos/FR-007")
def test_sdd_records_get_front_matter_keys(cli: Cli, repo: Path) -> None:
    cli("adr", "new", "One")
    cli("adr", "new", "Two")
    assert cli("adr", "link", "2", "1", "--type", "clarify").exit_code == 0
    assert "clarifies: [1]" in (repo / "history/adr/0002-two.md").read_text(encoding="utf-8")
    assert "clarified_by: [2]" in (repo / "history/adr/0001-one.md").read_text(encoding="utf-8")
    graph = cli("adr", "graph").stdout
    assert "adr_2 -->|clarifies| adr_1" in graph
    assert cli("check", "--strict").exit_code == 0


@pytest.mark.fr("011-sdd-existing-repos/FR-007")
def test_link_type_supersedes_also_sets_the_status(cli: Cli, repo: Path) -> None:
    cli("adr", "new", "Old", "--status", "accepted")
    cli("adr", "new", "New")
    cli("adr", "link", "2", "1", "--type", "supersedes")
    assert cli("adr", "show", "1", "--json").json()["data"]["record"]["status"] == "superseded"


def as_windows_files(folder: Path) -> list[Path]:
    """Rewrite every Markdown file under ``folder`` with CRLF line endings and a UTF-8 BOM."""
    paths = sorted(folder.rglob("*.md"))
    for path in paths:
        text = path.read_bytes().decode("utf-8").replace("\r\n", "\n")
        path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    return paths


@pytest.mark.fr("011-sdd-existing-repos/FR-007", "011-sdd-existing-repos/FR-009")
@pytest.mark.parametrize(
    ("name", "folder", "commands"),
    [
        (
            "adr-tools",
            "docs/architecture/decisions",
            [
                ("adr", "link", "3", "1", "--type", "clarifies"),
                ("adr", "supersede", "1", "--by", "5"),
            ],
        ),
        (
            "speckit-plus",
            "history/adr",
            [("adr", "accept", "2"), ("adr", "link", "2", "1", "--type", "amends")],
        ),
    ],
)
def test_edits_keep_a_files_line_endings_and_byte_order_mark(
    cli: Cli,
    copy_of: Callable[[str], Path],
    name: str,
    folder: str,
    commands: list[tuple[str, ...]],
) -> None:
    paths = as_windows_files(copy_of(name) / folder)
    before = {path: path.read_bytes() for path in paths}
    for command in commands:
        assert cli(*command).exit_code == 0
    changed = [path for path in paths if path.read_bytes() != before[path]]
    assert len(changed) >= 2
    for path in changed:
        data = path.read_bytes()
        assert data.startswith(b"\xef\xbb\xbf"), path.name
        assert data.count(b"\n") == data.count(b"\r\n"), path.name
    assert cli("check").exit_code == 0


@pytest.mark.fr("011-sdd-existing-repos/FR-008")
def test_a_one_sided_link_is_reported(cli: Cli, copy_of: Callable[[str], Path]) -> None:
    root = copy_of("adr-tools")
    path = root / "docs/architecture/decisions/0003-log-as-json.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "Amended by [5. Log request ids](0005-log-request-ids.md)\n\n", ""
        ),
        encoding="utf-8",
    )
    problems = cli("check", "--json").json()["problems"]
    assert [(p["path"], p["code"]) for p in problems] == [
        ("docs/architecture/decisions/0005-log-request-ids.md", "one-sided-link")
    ]


@pytest.mark.fr("011-sdd-existing-repos/FR-008")
def test_a_dangling_link_is_reported(cli: Cli, copy_of: Callable[[str], Path]) -> None:
    root = copy_of("adr-tools")
    (root / "docs/architecture/decisions/0005-log-request-ids.md").unlink()
    problems = cli("check", "--json").json()["problems"]
    assert [(p["path"], p["line"], p["code"]) for p in problems] == [
        ("docs/architecture/decisions/0003-log-as-json.md", 9, "dangling-link")
    ]


@pytest.mark.fr("011-sdd-existing-repos/FR-010")
class TestSpecBranch:
    @pytest.fixture
    def git_repo(self, repo: Path) -> Path:
        for args in (
            ["init", "-q", "-b", "main"],
            [
                "-c",
                "user.name=T",
                "-c",
                "user.email=t@x",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "start",
            ],
        ):
            subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
        return repo

    def test_creates_and_switches_to_the_branch(self, cli: Cli, git_repo: Path) -> None:
        result = cli("spec", "new", "Task sharing", "--branch", "--json")
        assert result.json()["data"]["branch"] == "001-task-sharing"
        head = subprocess.run(
            ["git", "branch", "--show-current"],
            cwd=git_repo,
            capture_output=True,
            text=True,
            check=True,
        )
        assert head.stdout.strip() == "001-task-sharing"

    def test_an_existing_branch_leaves_nothing_behind(self, cli: Cli, git_repo: Path) -> None:
        subprocess.run(["git", "branch", "001-task-sharing"], cwd=git_repo, check=True)
        before = files_under(git_repo)
        result = cli("spec", "new", "Task sharing", "--branch")
        assert result.exit_code == 2
        assert "001-task-sharing" in result.stderr
        assert files_under(git_repo) == before

    def test_outside_git_nothing_is_created(self, cli: Cli, repo: Path) -> None:
        before = files_under(repo)
        assert cli("spec", "new", "Task sharing", "--branch").exit_code == 2
        assert files_under(repo) == before
