"""sdd phr new, list, show and search."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from sdd_helpers import CliResult, files_under, write

from sdd.errors import SddError
from sdd.project import Project
from sdd.records.common import sections
from sdd.records.frontmatter import split
from sdd.records.phr import PhrInput, create_phr, find_phr, list_phrs, search_phrs

Cli = Callable[..., CliResult]


def front_matter(path: Path) -> dict[str, object]:
    block = split(path.read_text(encoding="utf-8"))
    assert block is not None
    data = yaml.safe_load(block.yaml_text)
    assert isinstance(data, dict)
    return data


def make_spec(project: Project, name: str = "002-tasks") -> None:
    write(project.specs_dir / name / "spec.md", f"# Feature Specification: {name}\n")


@pytest.mark.fr("004-sdd-cli/FR-007")
class TestRouting:
    def test_general_goes_to_general(self, project: Project) -> None:
        created = create_phr(project, PhrInput(title="Hello", stage="general"), environ={})
        assert created.relative_path == "history/prompts/general/0001-hello.general.prompt.md"
        assert created.feature is None

    def test_constitution_goes_to_constitution(self, project: Project) -> None:
        created = create_phr(
            project, PhrInput(title="Principles", stage="constitution"), environ={}
        )
        assert created.route == "constitution"

    def test_feature_stage_goes_to_feature_folder(self, project: Project) -> None:
        make_spec(project)
        created = create_phr(
            project, PhrInput(title="Paging", stage="green", feature="002-tasks"), environ={}
        )
        assert created.path.parent == project.prompts_dir / "002-tasks"
        assert created.path.name == "0001-paging.green.prompt.md"

    def test_feature_without_number_prefix_matches_the_spec_folder(self, project: Project) -> None:
        make_spec(project)
        created = create_phr(
            project, PhrInput(title="Paging", stage="red", feature="tasks"), environ={}
        )
        assert created.feature == "002-tasks"

    def test_ids_are_numbered_per_route_folder(self, project: Project) -> None:
        make_spec(project)
        first = create_phr(project, PhrInput(title="A", stage="general"), environ={})
        second = create_phr(
            project, PhrInput(title="B", stage="spec", feature="002-tasks"), environ={}
        )
        third = create_phr(project, PhrInput(title="C", stage="general"), environ={})
        assert [first.id, second.id, third.id] == [1, 1, 2]


@pytest.mark.fr("004-sdd-cli/FR-007", "011-sdd-existing-repos/FR-010")
class TestFeatureDetection:
    def test_flag_wins_over_environment(self, project: Project) -> None:
        make_spec(project)
        make_spec(project, "003-other")
        created = create_phr(
            project,
            PhrInput(title="X", stage="plan", feature="003-other"),
            environ={"SPECIFY_FEATURE": "002-tasks"},
        )
        assert created.feature == "003-other"

    def test_environment_wins_over_branch(self, project: Project) -> None:
        make_spec(project)
        make_spec(project, "003-other")
        write(project.root / ".git" / "HEAD", "ref: refs/heads/003-other\n")
        created = create_phr(
            project, PhrInput(title="X", stage="plan"), environ={"SPECIFY_FEATURE": "002-tasks"}
        )
        assert created.feature == "002-tasks"

    def test_branch_matching_a_spec_folder(self, project: Project) -> None:
        make_spec(project)
        write(project.root / ".git" / "HEAD", "ref: refs/heads/002-tasks\n")
        created = create_phr(project, PhrInput(title="X", stage="tasks"), environ={})
        assert (created.feature, created.route) == ("002-tasks", "002-tasks")

    def test_branch_of_a_worktree(self, project: Project, tmp_path: Path) -> None:
        make_spec(project)
        git_dir = tmp_path / "main-repo" / ".git" / "worktrees" / "wt"
        write(git_dir / "HEAD", "ref: refs/heads/002-tasks\n")
        write(project.root / ".git", f"gitdir: {git_dir}\n")
        created = create_phr(project, PhrInput(title="X", stage="red"), environ={})
        assert created.feature == "002-tasks"

    def test_branch_matching_nothing_falls_back_to_the_highest_spec(self, project: Project) -> None:
        make_spec(project)
        make_spec(project, "010-later")
        write(project.root / ".git" / "HEAD", "ref: refs/heads/main\n")
        created = create_phr(project, PhrInput(title="X", stage="green"), environ={})
        assert (created.feature, created.feature_source) == ("010-later", "highest-numbered spec")
        assert created.note is not None
        assert "010-later" in created.note

    def test_no_spec_at_all_is_an_error(self, project: Project) -> None:
        write(project.root / ".git" / "HEAD", "ref: refs/heads/main\n")
        with pytest.raises(SddError, match="--feature"):
            create_phr(project, PhrInput(title="X", stage="green"), environ={})
        assert files_under(project.prompts_dir) == {".gitkeep"}

    def test_detached_head_is_an_error(self, project: Project) -> None:
        write(project.root / ".git" / "HEAD", "0123456789abcdef0123456789abcdef01234567\n")
        with pytest.raises(SddError, match="SPECIFY_FEATURE"):
            create_phr(project, PhrInput(title="X", stage="spec"), environ={})


@pytest.mark.fr("004-sdd-cli/FR-006")
class TestRecordContent:
    def test_front_matter_has_every_field(self, project: Project) -> None:
        make_spec(project)
        created = create_phr(
            project,
            PhrInput(
                title="Add: paging",
                stage="green",
                feature="002-tasks",
                model="model-x",
                command="/sp.implement",
                user="Ada",
                branch="002-tasks",
                labels=["api", "api", "paging"],
                files=["src/a.py"],
                tests=["tests/test_a.py::test_x"],
                links={"pr": "https://example.org/pr/1"},
                date=dt.date(2026, 1, 2),
            ),
            environ={},
        )
        assert front_matter(created.path) == {
            "id": 1,
            "title": "Add: paging",
            "stage": "green",
            "date": dt.date(2026, 1, 2),
            "surface": "agent",
            "model": "model-x",
            "feature": "002-tasks",
            "branch": "002-tasks",
            "user": "Ada",
            "command": "/sp.implement",
            "labels": ["api", "paging"],
            "links": {"spec": None, "ticket": None, "adr": None, "pr": "https://example.org/pr/1"},
            "files": ["src/a.py"],
            "tests": ["tests/test_a.py::test_x"],
        }

    def test_absent_values_are_null_or_empty(self, project: Project) -> None:
        created = create_phr(project, PhrInput(title="Bare", user=None), environ={})
        data = front_matter(created.path)
        assert data["model"] is None
        assert data["labels"] == data["files"] == data["tests"] == []
        assert "{{" not in created.path.read_text(encoding="utf-8")

    def test_sections_are_present(self, project: Project) -> None:
        created = create_phr(project, PhrInput(title="S", prompt="p", response="r"), environ={})
        assert list(sections(created.path.read_text(encoding="utf-8"))) == [
            "Prompt",
            "Response snapshot",
            "Outcome",
            "Evaluation notes",
        ]

    def test_prompt_is_verbatim_and_whole(self, project: Project) -> None:
        prompt = (
            "Use {{PLACEHOLDER}} and ```fences``` — ünïcode\n" * 5000
        ) + "## Not a heading\n```"
        created = create_phr(
            project, PhrInput(title="Long", prompt=prompt, response="ok"), environ={}
        )
        parsed = sections(created.path.read_text(encoding="utf-8"))
        assert parsed["Prompt"] == prompt
        assert parsed["Response snapshot"] == "ok"

    def test_unknown_stage_is_rejected(self, project: Project) -> None:
        with pytest.raises(SddError, match="unknown stage"):
            create_phr(project, PhrInput(title="X", stage="deploy"), environ={})


@pytest.mark.fr("004-sdd-cli/FR-008")
class TestReading:
    @pytest.fixture
    def three(self, project: Project) -> Project:
        make_spec(project)
        create_phr(
            project,
            PhrInput(title="First idea", date=dt.date(2026, 1, 1), labels=["a"]),
            environ={},
        )
        create_phr(
            project,
            PhrInput(
                title="Red test",
                stage="red",
                feature="002-tasks",
                prompt="needle here",
                date=dt.date(2026, 2, 1),
            ),
            environ={},
        )
        create_phr(
            project,
            PhrInput(
                title="Rules", stage="constitution", date=dt.date(2026, 3, 1), labels=["a", "b"]
            ),
            environ={},
        )
        return project

    def test_filters(self, three: Project) -> None:
        assert [r.ref for r in list_phrs(three, feature="002-tasks")] == ["002-tasks/1"]
        assert [r.ref for r in list_phrs(three, feature="tasks")] == ["002-tasks/1"]
        assert [r.ref for r in list_phrs(three, stage="constitution")] == ["constitution/1"]
        assert [r.ref for r in list_phrs(three, labels=["a"])] == ["constitution/1", "general/1"]
        assert [r.ref for r in list_phrs(three, labels=["a", "b"])] == ["constitution/1"]
        since = [r.ref for r in list_phrs(three, since=dt.date(2026, 2, 1))]
        assert since == ["002-tasks/1", "constitution/1"]

    @pytest.mark.parametrize(
        "ref", ["002-tasks/1", "tasks/0001", "red-test", "0001-red-test.red.prompt.md"]
    )
    def test_find_by_reference(self, three: Project, ref: str) -> None:
        assert find_phr(three, ref, cwd=three.root).title == "Red test"

    def test_bare_id_used_in_several_folders_is_ambiguous(self, three: Project) -> None:
        with pytest.raises(SddError, match=r"002-tasks/1.*FEATURE/ID"):
            find_phr(three, "1", cwd=three.root)

    def test_find_by_path(self, three: Project) -> None:
        path = "history/prompts/002-tasks/0001-red-test.red.prompt.md"
        assert find_phr(three, path, cwd=three.root).title == "Red test"

    def test_unknown_reference(self, three: Project) -> None:
        with pytest.raises(SddError, match="no PHR"):
            find_phr(three, "99", cwd=three.root)

    def test_search_is_case_insensitive(self, three: Project) -> None:
        hits = search_phrs(three, "NEEDLE")
        assert [(record.ref, [text for _, text in lines]) for record, lines in hits] == [
            ("002-tasks/1", ["needle here"])
        ]


@pytest.mark.fr("004-sdd-cli/FR-006", "004-sdd-cli/FR-014")
class TestPhrNewCommand:
    def test_json_output(self, cli: Cli, repo: Path) -> None:
        result = cli("phr", "new", "--title", 'Hello "world"', "--json")
        assert result.exit_code == 0
        document = result.json()["data"]["record"]
        assert {key: document[key] for key in ("id", "stage", "feature", "route")} == {
            "id": 1,
            "stage": "general",
            "feature": None,
            "route": "general",
        }
        assert (repo / document["path"]).is_file()

    def test_prompt_from_file_and_response_from_stdin(self, cli: Cli, repo: Path) -> None:
        write(repo / "prompt.txt", "from a file ✓\n")
        result = cli(
            "phr",
            "new",
            "--title",
            "T",
            "--prompt",
            "@prompt.txt",
            "--response",
            "-",
            "--json",
            input="from stdin\n",
        )
        text = (repo / result.json()["data"]["record"]["path"]).read_text(encoding="utf-8")
        assert "from a file ✓" in text
        assert "from stdin" in text

    def test_windows_file_paths_are_normalised(self, cli: Cli, repo: Path) -> None:
        result = cli(
            "phr",
            "new",
            "--title",
            "T",
            "--file",
            "src\\taskapi\\main.py",
            "--file",
            f"{repo}/README.md",
            "--json",
        )
        assert front_matter(repo / result.json()["data"]["record"]["path"])["files"] == [
            "src/taskapi/main.py",
            "README.md",
        ]

    def test_links_and_labels(self, cli: Cli, repo: Path) -> None:
        result = cli(
            "phr",
            "new",
            "--title",
            "T",
            "--link",
            "adr=history/adr/0001-x.md",
            "--label",
            "x",
            "--json",
        )
        data = front_matter(repo / result.json()["data"]["record"]["path"])
        assert data["links"] == {
            "spec": None,
            "ticket": None,
            "adr": "history/adr/0001-x.md",
            "pr": None,
        }
        assert data["labels"] == ["x"]

    @pytest.mark.fr("004-sdd-cli/FR-008")
    def test_list_show_search_json(self, cli: Cli, repo: Path) -> None:
        cli("phr", "new", "--title", "Alpha", "--prompt", "find ME")
        listed = cli("phr", "list", "--json").json()["data"]["records"]
        assert [r["title"] for r in listed] == ["Alpha"]
        shown = cli("phr", "show", "alpha", "--json").json()["data"]["record"]
        assert shown["sections"]["Prompt"] == "find ME"
        assert shown["front_matter"]["stage"] == "general"
        found = cli("phr", "search", "me", "--json").json()["data"]["records"]
        assert found[0]["matches"][0]["text"] == "find ME"

    def test_show_text_prints_the_file(self, cli: Cli, repo: Path) -> None:
        path = cli("phr", "new", "--title", "Alpha").stdout.strip()
        assert cli("phr", "show", "1").stdout == (repo / path).read_text(encoding="utf-8")


@pytest.mark.fr("004-sdd-cli/FR-017")
class TestPhrNewBadInput:
    """Every bad input: exit 2, one stderr line, and no file left behind."""

    @pytest.mark.parametrize(
        "args",
        [
            ["--title", "X", "--stage", "deploy"],
            ["--title", "!!!"],
            ["--title", "X", "--stage", "green", "--feature", "../etc"],
            ["--title", "X", "--stage", "green", "--feature", "a/b"],
            ["--title", "X", "--stage", "green"],
            ["--title", "X", "--link", "wiki=x"],
            ["--title", "X", "--link", "pr"],
            ["--title", "X", "--prompt", "@missing.txt"],
            ["--title", "X", "--prompt", "-", "--response", "-"],
            ["--title", "X", "--file", "/etc/passwd"],
            ["--title", "X", "--date", "yesterday"],
            ["--title", "X", "--edit"],
            ["--stage", "general"],
        ],
    )
    def test_rejected(self, cli: Cli, repo: Path, args: list[str]) -> None:
        before = files_under(repo)
        result = cli("phr", "new", *args)
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith("sdd: error: ")
        assert result.stdout == ""
        assert files_under(repo) == before

    def test_non_utf8_file(self, cli: Cli, repo: Path) -> None:
        (repo / "latin1.txt").write_bytes("café".encode("latin-1"))
        result = cli("phr", "new", "--title", "X", "--prompt", "@latin1.txt")
        assert result.exit_code == 2
        assert "UTF-8" in result.stderr
        assert not list((repo / "history/prompts").rglob("*.prompt.md"))

    def test_non_utf8_stdin(self, cli: Cli, repo: Path) -> None:
        result = cli("phr", "new", "--title", "X", "--prompt", "-", input=b"\xff\xfe bad")
        assert result.exit_code == 2
        assert not list((repo / "history/prompts").rglob("*.prompt.md"))

    def test_outside_any_repository_only_the_record_is_written(
        self, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        result = cli("phr", "new", "--title", "X")
        assert result.exit_code == 0
        assert files_under(tmp_path) == {"history/prompts/general/0001-x.general.prompt.md"}

    def test_unknown_stage_filter_on_list(self, cli: Cli, repo: Path) -> None:
        assert cli("phr", "list", "--stage", "nope").exit_code == 2
