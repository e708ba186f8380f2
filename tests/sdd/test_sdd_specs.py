"""sdd spec new and sdd spec list."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sdd_helpers import CliResult, files_under, write

from sdd.check import run_check
from sdd.errors import SddError
from sdd.project import Project
from sdd.specs import create_spec, list_specs


@pytest.mark.fr("004-sdd-cli/FR-004")
class TestCreateSpec:
    def test_first_spec_is_001(self, project: Project) -> None:
        created = create_spec(project, title="Task sharing")
        assert created.folder.name == "001-task-sharing"
        assert sorted(p.name for p in created.folder.iterdir()) == [
            "plan.md",
            "spec.md",
            "tasks.md",
        ]

    def test_next_number_follows_the_highest(self, project: Project) -> None:
        (project.specs_dir / "001-a").mkdir()
        (project.specs_dir / "007-b").mkdir()
        assert create_spec(project, title="Next").number == 8

    def test_requested_number(self, project: Project) -> None:
        assert create_spec(project, title="X", number=42).folder.name == "042-x"

    def test_taken_number_is_rejected_and_nothing_created(self, project: Project) -> None:
        create_spec(project, title="First")
        before = files_under(project.root)
        with pytest.raises(SddError, match="already taken"):
            create_spec(project, title="Second", number=1)
        assert files_under(project.root) == before

    def test_short_name(self, project: Project) -> None:
        created = create_spec(project, title="A long title", short_name="Short")
        assert created.folder.name == "001-short"

    def test_rendered_spec_has_no_placeholders_and_passes_check(self, project: Project) -> None:
        created = create_spec(project, title="Spec: with colon")
        text = (created.folder / "spec.md").read_text(encoding="utf-8")
        assert "{{" not in text
        assert "# Feature Specification: Spec: with colon" in text
        assert "**Feature**: `001-spec-with-colon`" in text
        assert run_check(project).ok

    @pytest.mark.fr("004-sdd-cli/FR-003")
    def test_project_template_overrides_builtin(self, project: Project) -> None:
        write(project.templates_dir / "plan.md", "# Custom plan for {{TITLE}}\n")
        created = create_spec(project, title="Custom")
        assert (created.folder / "plan.md").read_text(
            encoding="utf-8"
        ) == "# Custom plan for Custom\n"

    @pytest.mark.fr("004-sdd-cli/FR-003")
    def test_unknown_placeholder_in_template_creates_nothing(self, project: Project) -> None:
        write(project.templates_dir / "tasks.md", "# {{TITLE}} {{OWNER}}\n")
        before = files_under(project.root)
        with pytest.raises(SddError, match=r"\{\{OWNER\}\}"):
            create_spec(project, title="Broken")
        assert files_under(project.root) == before


@pytest.mark.fr("004-sdd-cli/FR-005")
class TestListSpecs:
    def test_reads_status_title_and_operations(self, project: Project) -> None:
        write(
            project.specs_dir / "003-tasks" / "spec.md",
            "# Feature Specification: Tasks\n\n**Status**: Approved\n"
            "**Operations**: `listTasks`, `createTask`\n\n"
            "- **FR-001**: MUST list. Operations: `listTasks`, `getTask`.\n",
        )
        (spec,) = list_specs(project)
        assert (spec.number, spec.slug, spec.title, spec.status) == (
            3,
            "tasks",
            "Tasks",
            "Approved",
        )
        assert spec.operation_ids() == ["createTask", "getTask", "listTasks"]


@pytest.mark.fr("004-sdd-cli/FR-004", "004-sdd-cli/FR-005", "004-sdd-cli/FR-014")
class TestSpecCommands:
    def test_new_then_list_json(self, cli: Callable[..., CliResult], repo: Path) -> None:
        created = cli("spec", "new", "Task sharing", "--json")
        assert created.exit_code == 0
        assert created.json()["data"]["spec"]["feature"] == "001-task-sharing"
        listed = cli("spec", "list", "--json").json()["data"]["specs"]
        assert listed == [
            {
                "number": 1,
                "feature": "001-task-sharing",
                "slug": "task-sharing",
                "title": "Task sharing",
                "status": "Draft",
                "operations": [],
                "path": "specs/001-task-sharing/spec.md",
            }
        ]

    @pytest.mark.fr("004-sdd-cli/FR-017")
    def test_taken_number_exits_2(self, cli: Callable[..., CliResult], repo: Path) -> None:
        cli("spec", "new", "One")
        result = cli("spec", "new", "Two", "--number", "1")
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1
        assert not (repo / "specs" / "001-two").exists()

    @pytest.mark.fr("004-sdd-cli/FR-017")
    def test_title_without_letters_exits_2(self, cli: Callable[..., CliResult], repo: Path) -> None:
        result = cli("spec", "new", "???")
        assert result.exit_code == 2
        assert list((repo / "specs").glob("0*")) == []

    def test_text_list(self, cli: Callable[..., CliResult], repo: Path) -> None:
        cli("spec", "new", "Alpha")
        assert "001\talpha\tAlpha" in cli("spec", "list").stdout
