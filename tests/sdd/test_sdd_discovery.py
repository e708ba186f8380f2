"""Finding the records: the discovery order, the project root, and ``sdd where``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sdd_helpers import CliResult, write

Cli = Callable[..., CliResult]

NYGARD = "# 1. Keep a log\n\nDate: 2024-01-01\n\n## Status\n\nAccepted\n"


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository with no .specify/, no [tool.sdd], nothing sdd wrote."""
    root = tmp_path / "bare"
    write(root / ".git" / "HEAD", "ref: refs/heads/main\n")
    monkeypatch.chdir(root)
    return root


def adr_dir(cli: Cli, *args: str) -> tuple[str, str]:
    data = cli("where", "--json", *args).json()["data"]["adr"]
    return data["path"], data["source"]


@pytest.mark.fr("011-sdd-existing-repos/FR-001")
class TestAdrFolderOrder:
    def test_flag_wins(self, cli: Cli, bare: Path) -> None:
        write(bare / "doc/adr/0001-keep-a-log.md", NYGARD)
        write(bare / "records/0001-keep-a-log.md", NYGARD)
        assert adr_dir(cli, "--adr-dir", "records") == ("records", "--adr-dir")
        assert cli("adr", "list", "--adr-dir", "records", "--json").json()["data"]["count"] == 1

    def test_flag_before_the_command_works_too(self, cli: Cli, bare: Path) -> None:
        write(bare / "records/0001-keep-a-log.md", NYGARD)
        result = cli("--adr-dir", "records", "adr", "list", "--json")
        assert result.json()["data"]["records"][0]["path"] == "records/0001-keep-a-log.md"

    def test_environment_variable(self, cli: Cli, bare: Path) -> None:
        write(bare / "records/0001-keep-a-log.md", NYGARD)
        assert (
            cli("where", "--json", env={"SDD_ADR_DIR": "records"}).json()["data"]["adr"]["source"]
            == "SDD_ADR_DIR"
        )

    def test_flag_beats_environment(self, cli: Cli, bare: Path) -> None:
        result = cli("where", "--json", "--adr-dir", "a", env={"SDD_ADR_DIR": "b"})
        assert result.json()["data"]["adr"]["path"] == "a"

    def test_tool_sdd_adr_key(self, cli: Cli, bare: Path) -> None:
        write(bare / "pyproject.toml", '[tool.sdd]\nadr = "design/decisions"\n')
        write(bare / "doc/adr/0001-keep-a-log.md", NYGARD)
        assert adr_dir(cli) == ("design/decisions", "[tool.sdd] adr")

    def test_tool_sdd_history_key_is_kept(self, cli: Cli, bare: Path) -> None:
        write(bare / "pyproject.toml", '[tool.sdd]\nhistory = "trail"\n')
        assert adr_dir(cli) == ("trail/adr", "[tool.sdd] history")
        assert cli("where", "--json").json()["data"]["prompts"]["path"] == "trail/prompts"

    def test_adr_tools_dot_adr_dir(self, cli: Cli, bare: Path) -> None:
        write(bare / ".adr-dir", "architecture/decisions\n")
        write(bare / "doc/adr/0001-keep-a-log.md", NYGARD)
        assert adr_dir(cli) == ("architecture/decisions", ".adr-dir")

    def test_log4brains_configuration(self, cli: Cli, bare: Path) -> None:
        write(bare / ".log4brains.yml", "---\nproject:\n  name: x\n  adrFolder: ./decisions\n")
        assert adr_dir(cli) == ("decisions", ".log4brains.yml adrFolder")

    def test_dot_adr_dir_beats_log4brains(self, cli: Cli, bare: Path) -> None:
        write(bare / ".adr-dir", "a\n")
        write(bare / ".log4brains.yml", "project:\n  adrFolder: ./b\n")
        assert adr_dir(cli) == ("a", ".adr-dir")

    @pytest.mark.parametrize(
        "usual",
        ["history/adr", "docs/decisions", "docs/adr", "doc/adr", "doc/architecture/decisions"],
    )
    def test_usual_places(self, cli: Cli, bare: Path, usual: str) -> None:
        (bare / usual).mkdir(parents=True)
        assert adr_dir(cli) == (usual, f"usual place {usual}")

    def test_usual_places_in_order(self, cli: Cli, bare: Path) -> None:
        (bare / "doc/adr").mkdir(parents=True)
        (bare / "docs/decisions").mkdir(parents=True)
        assert adr_dir(cli)[0] == "docs/decisions"

    def test_nothing_found_defaults_to_history_adr(self, cli: Cli, bare: Path) -> None:
        assert adr_dir(cli) == ("history/adr", "default history/adr (no ADR folder found)")


@pytest.mark.fr("011-sdd-existing-repos/FR-001", "011-sdd-existing-repos/FR-008")
class TestANamedFolderIsNeverSilentlyEmpty:
    def test_dot_adr_dir_written_on_windows(self, cli: Cli, bare: Path) -> None:
        (bare / ".adr-dir").write_bytes(b"\xef\xbb\xbfdoc/adr\r\n")
        write(bare / "doc/adr/0001-keep-a-log.md", NYGARD)
        assert adr_dir(cli) == ("doc/adr", ".adr-dir")
        assert cli("adr", "list", "--json").json()["data"]["count"] == 1

    @pytest.mark.parametrize(
        ("args", "env", "files", "source"),
        [
            (("--adr-dir", "docs/adrs"), {}, {}, "--adr-dir"),
            ((), {"SDD_ADR_DIR": "docs/adrs"}, {}, "SDD_ADR_DIR"),
            ((), {}, {".adr-dir": "docs/adrs\n"}, ".adr-dir"),
            ((), {}, {".log4brains.yml": "project:\n  adrFolder: ./docs/adrs\n"}, "log4brains"),
            ((), {}, {"pyproject.toml": '[tool.sdd]\nadr = "docs/adrs"\n'}, "[tool.sdd] adr"),
            (("--prompts-dir", "prompt"), {}, {}, "--prompts-dir"),
        ],
    )
    def test_check_fails_when_the_named_folder_does_not_exist(
        self,
        cli: Cli,
        bare: Path,
        args: tuple[str, ...],
        env: dict[str, str],
        files: dict[str, str],
        source: str,
    ) -> None:
        write(bare / "docs/adr/0001-keep-a-log.md", NYGARD)
        for name, text in files.items():
            write(bare / name, text)
        result = cli("check", "--json", *args, env=env)
        assert result.exit_code == 1, result.stdout
        problems = result.json()["problems"]
        assert [problem["code"] for problem in problems] == ["missing-folder"]
        assert source in problems[0]["message"]

    def test_folders_sdd_only_guessed_may_be_absent(self, cli: Cli, bare: Path) -> None:
        assert cli("check").exit_code == 0


@pytest.mark.fr("011-sdd-existing-repos/FR-001")
class TestPromptsFolder:
    def test_flag_environment_and_default(self, cli: Cli, bare: Path) -> None:
        where = cli("where", "--json", "--prompts-dir", "p").json()["data"]["prompts"]
        assert (where["path"], where["source"]) == ("p", "--prompts-dir")
        env = cli("where", "--json", env={"SDD_PROMPTS_DIR": "q"}).json()["data"]["prompts"]
        assert env["source"] == "SDD_PROMPTS_DIR"
        default = cli("where", "--json").json()["data"]["prompts"]
        assert default["path"] == "history/prompts"

    def test_tool_sdd_prompts_key(self, cli: Cli, bare: Path) -> None:
        write(bare / "pyproject.toml", '[tool.sdd]\nprompts = "ai/prompts"\n')
        assert cli("where", "--json").json()["data"]["prompts"]["source"] == "[tool.sdd] prompts"


@pytest.mark.fr("011-sdd-existing-repos/FR-002")
class TestRoot:
    def test_nearest_marker_wins_over_the_git_root(self, bare: Path) -> None:
        from sdd.project import find_root

        service = bare / "services" / "tasks"
        write(service / ".adr-dir", "doc/decisions\n")
        (service / "src").mkdir(parents=True)
        root, reason = find_root(service / "src")
        assert (root, reason) == (service.resolve(), "nearest folder holding .adr-dir")

    def test_git_root_without_markers(self, bare: Path) -> None:
        from sdd.project import find_root

        (bare / "src" / "deep").mkdir(parents=True)
        root, reason = find_root(bare / "src" / "deep")
        assert root == bare.resolve()
        assert reason.startswith("git root")

    def test_usual_adr_folder_marks_the_root(self, bare: Path) -> None:
        from sdd.project import find_root

        (bare / "docs" / "decisions").mkdir(parents=True)
        (bare / "docs" / "guide").mkdir()
        root, reason = find_root(bare / "docs" / "guide")
        assert (root, reason) == (bare.resolve(), "nearest folder holding docs/decisions/")

    def test_discover_applies_overrides(self, bare: Path) -> None:
        from sdd.project import Overrides, discover

        project = discover(bare, overrides=Overrides(adr_dir="x", prompts_dir="y"))
        assert (project.adr.source, project.prompts.source) == ("--adr-dir", "--prompts-dir")

    def test_where_text_names_each_folder_and_why(self, cli: Cli, bare: Path) -> None:
        (bare / "doc/adr").mkdir(parents=True)
        text = cli("where").stdout
        assert "adr       doc/adr  (usual place doc/adr; writes nygard, number names)" in text


@pytest.mark.fr("011-sdd-existing-repos/FR-003")
class TestReadingWithoutSpecify:
    def test_every_reading_command_works(self, cli: Cli, bare: Path) -> None:
        write(bare / "doc/adr/0001-keep-a-log.md", NYGARD)
        for args in (
            ["adr", "list"],
            ["adr", "show", "1"],
            ["adr", "search", "log"],
            ["adr", "graph"],
            ["phr", "list"],
            ["spec", "list"],
            ["check"],
            ["where"],
        ):
            result = cli(*args)
            assert result.exit_code == 0, (args, result.stderr)
        assert not (bare / ".specify").exists()

    def test_private_state_goes_into_the_git_directory(self, cli: Cli, bare: Path) -> None:
        write(bare / "doc/adr/0001-keep-a-log.md", NYGARD)
        assert cli("adr", "new", "Second").exit_code == 0
        assert (bare / ".git" / "sdd").is_dir()
        assert sorted(p.name for p in (bare / "doc/adr").iterdir()) == [
            "0001-keep-a-log.md",
            "0002-second.md",
        ]
