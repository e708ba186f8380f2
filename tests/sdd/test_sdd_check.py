"""sdd check: one planted fault, one reported problem, with file and line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sdd_helpers import CliResult, write

from sdd.check import run_check
from sdd.project import Project
from sdd.records.adr import AdrInput, create_adr, write_index
from sdd.records.phr import PhrInput, create_phr

Cli = Callable[..., CliResult]

CONTRACT = """openapi: 3.1.0
info:
  title: T
  version: 1.0.0
paths:
  /tasks:
    get:
      operationId: listTasks
      responses:
        '200':
          description: ok
    post:
      operationId: createTask
      responses:
        '201':
          description: ok
"""

SPEC = """# Feature Specification: Tasks

**Feature**: `001-tasks`
**Created**: 2026-11-22
**Status**: Approved
**Operations**: `listTasks`

## Requirements

- **FR-001**: MUST list. Operations: `listTasks`.
- **FR-002**: MUST create. Operations: `createTask`.
"""


@pytest.fixture
def clean(project: Project) -> Project:
    write(project.contract_path, CONTRACT)
    write(project.specs_dir / "001-tasks" / "spec.md", SPEC)
    create_phr(project, PhrInput(title="One", stage="spec", feature="001-tasks"), environ={})
    create_adr(project, AdrInput(title="One"))
    return project


def problems(project: Project, *, strict: bool = False) -> list[tuple[str, int, str]]:
    return [(p.path, p.line, p.code) for p in run_check(project, strict=strict).problems]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


PHR = "history/prompts/001-tasks/0001-one.spec.prompt.md"
ADR = "history/adr/0001-one.md"
SPEC_PATH = "specs/001-tasks/spec.md"


@pytest.mark.fr("004-sdd-cli/FR-012")
class TestCleanRepository:
    def test_no_problems(self, clean: Project) -> None:
        assert problems(clean) == []

    def test_templates_are_not_checked_as_records(self, clean: Project) -> None:
        assert "{{" in (clean.templates_dir / "phr.md").read_text(encoding="utf-8")
        assert problems(clean) == []

    def test_a_hand_written_readme_is_neither_an_adr_nor_an_index(self, clean: Project) -> None:
        write(clean.adr_dir / "README.md", "# Our decisions\n\n{{NOT_AN_ADR}}\n")
        assert problems(clean) == []


@pytest.mark.fr("004-sdd-cli/FR-012")
class TestPhrProblems:
    def test_unknown_stage(self, clean: Project) -> None:
        edit(clean.root / PHR, "stage: spec", "stage: deploy")
        assert (PHR, 4, "schema") in problems(clean, strict=True)

    def test_bad_date(self, clean: Project) -> None:
        edit(clean.root / PHR, "date: 20", "date: 19-")
        assert (PHR, 5, "schema") in problems(clean)

    def test_id_differs_from_file_name(self, clean: Project) -> None:
        edit(clean.root / PHR, "id: 1", "id: 7")
        assert problems(clean) == [(PHR, 2, "id")]

    def test_stage_differs_from_file_name(self, clean: Project) -> None:
        edit(clean.root / PHR, "stage: spec", "stage: plan")
        assert problems(clean) == [(PHR, 4, "stage")]

    def test_general_record_in_a_feature_folder(self, clean: Project) -> None:
        path = clean.prompts_dir / "001-tasks" / "0002-x.general.prompt.md"
        text = (clean.root / PHR).read_text(encoding="utf-8")
        write(path, text.replace("id: 1", "id: 2").replace("stage: spec", "stage: general"))
        where = path.relative_to(clean.root).as_posix()
        assert (where, 4, "route") in problems(clean, strict=True)
        assert (where, 4, "route") not in problems(clean)

    def test_duplicate_id(self, clean: Project) -> None:
        copy = clean.prompts_dir / "001-tasks" / "0001-two.spec.prompt.md"
        write(copy, (clean.root / PHR).read_text(encoding="utf-8"))
        assert problems(clean) == [
            ("history/prompts/001-tasks/0001-two.spec.prompt.md", 1, "duplicate-id")
        ]

    def test_invalid_yaml_is_reported(self, clean: Project) -> None:
        edit(clean.root / PHR, "title: One", "title: [One")
        found = problems(clean)
        assert [code for _, _, code in found] == ["yaml"]

    def test_missing_front_matter(self, clean: Project) -> None:
        write(clean.prompts_dir / "general" / "0009-bare.general.prompt.md", "# Bare\n")
        assert problems(clean, strict=True) == [
            ("history/prompts/general/0009-bare.general.prompt.md", 1, "front-matter")
        ]
        assert problems(clean) == []

    def test_bad_file_name(self, clean: Project) -> None:
        write(clean.prompts_dir / "general" / "notes.md", "# x\n")
        assert ("history/prompts/general/notes.md", 1, "no-id") in problems(clean)

    def test_non_utf8_file(self, clean: Project) -> None:
        path = clean.prompts_dir / "general" / "0005-x.general.prompt.md"
        path.parent.mkdir()
        path.write_bytes(b"---\ntitle: caf\xe9\n---\n")
        assert problems(clean) == [
            ("history/prompts/general/0005-x.general.prompt.md", 1, "encoding")
        ]


@pytest.mark.fr("004-sdd-cli/FR-012")
class TestAdrProblems:
    def test_unknown_status(self, clean: Project) -> None:
        edit(clean.root / ADR, "status: proposed", "status: maybe")
        assert problems(clean) == [(ADR, 4, "schema")]

    def test_quoted_id(self, clean: Project) -> None:
        edit(clean.root / ADR, "id: 1", 'id: "1"')
        assert problems(clean) == [(ADR, 2, "schema")]

    def test_supersedes_a_missing_adr(self, clean: Project) -> None:
        edit(clean.root / ADR, "supersedes: []", "supersedes: [9]")
        assert problems(clean) == [(ADR, 7, "dangling-link")]

    def test_one_sided_link(self, clean: Project) -> None:
        create_adr(clean, AdrInput(title="Two"))
        edit(clean.root / ADR, "superseded_by: []", "superseded_by: [2]")
        edit(clean.root / ADR, "status: proposed", "status: superseded")
        assert problems(clean) == [(ADR, 8, "one-sided-link")]

    def test_duplicate_id(self, clean: Project) -> None:
        write(clean.adr_dir / "0001-again.md", (clean.root / ADR).read_text(encoding="utf-8"))
        assert problems(clean) == [("history/adr/0001-one.md", 1, "duplicate-id")]

    def test_placeholder(self, clean: Project) -> None:
        edit(clean.root / ADR, "## Decision\n", "## Decision\n\n{{DECISION}}\n")
        ((path, _, code),) = problems(clean)
        assert (path, code) == (ADR, "placeholder")

    def test_index_that_matches_its_adrs(self, clean: Project) -> None:
        write_index(clean)
        assert problems(clean) == []

    def test_index_left_behind_by_a_new_adr(self, clean: Project) -> None:
        write_index(clean)
        create_adr(clean, AdrInput(title="Two"))
        assert problems(clean) == [("history/adr/README.md", 1, "stale-index")]

    def test_index_edited_by_hand(self, clean: Project) -> None:
        write_index(clean)
        edit(clean.adr_dir / "README.md", "| One |", "| Uno |")
        assert problems(clean) == [("history/adr/README.md", 1, "stale-index")]

    def test_placeholder_in_code_is_allowed(self, clean: Project) -> None:
        edit(clean.root / ADR, "## Decision\n", "## Decision\n\nUse `{{X}}`.\n\n```\n{{Y}}\n```\n")
        assert problems(clean) == []


@pytest.mark.fr("004-sdd-cli/FR-012")
class TestSpecProblems:
    def test_clarification_in_approved_spec(self, clean: Project) -> None:
        edit(
            clean.specs_dir / "001-tasks" / "spec.md",
            "MUST create.",
            "MUST [NEEDS CLARIFICATION: what].",
        )
        assert problems(clean) == [(SPEC_PATH, 11, "clarification")]

    def test_clarification_in_draft_is_fine(self, clean: Project) -> None:
        spec = clean.specs_dir / "001-tasks" / "spec.md"
        edit(spec, "Approved", "Draft")
        edit(spec, "MUST create.", "MUST [NEEDS CLARIFICATION: what].")
        assert problems(clean) == []

    def test_duplicate_fr(self, clean: Project) -> None:
        edit(clean.specs_dir / "001-tasks" / "spec.md", "**FR-002**", "**FR-001**")
        assert problems(clean) == [(SPEC_PATH, 11, "duplicate-fr")]

    def test_unknown_status(self, clean: Project) -> None:
        edit(clean.specs_dir / "001-tasks" / "spec.md", "Approved", "Done")
        assert problems(clean) == [(SPEC_PATH, 5, "spec-status")]

    def test_placeholder_in_plan(self, clean: Project) -> None:
        write(clean.specs_dir / "001-tasks" / "plan.md", "# Plan\n\n{{SUMMARY}}\n")
        assert problems(clean) == [("specs/001-tasks/plan.md", 3, "placeholder")]

    def test_missing_operations_line(self, clean: Project) -> None:
        edit(clean.specs_dir / "001-tasks" / "spec.md", "**Operations**: `listTasks`\n", "")
        assert problems(clean) == [(SPEC_PATH, 1, "spec-operations")]


@pytest.mark.fr("004-sdd-cli/FR-012")
class TestTraceability:
    def test_operation_missing_from_contract(self, clean: Project) -> None:
        edit(
            clean.specs_dir / "001-tasks" / "spec.md",
            "Operations: `listTasks`.",
            "Operations: `listTasks`, `deleteTask`.",
        )
        assert problems(clean) == [(SPEC_PATH, 10, "unknown-operation")]

    def test_unclaimed_contract_operation(self, clean: Project) -> None:
        edit(
            clean.specs_dir / "001-tasks" / "spec.md",
            "Operations: `createTask`.",
            "Operations: none.",
        )
        assert problems(clean) == [("openapi/openapi.yaml", 13, "unclaimed-operation")]

    def test_invalid_contract_yaml(self, clean: Project) -> None:
        write(clean.contract_path, "openapi: 3.1.0\npaths: [\n")
        assert [code for _, _, code in problems(clean)] == ["contract"]

    def test_missing_contract_when_specs_name_operations(self, clean: Project) -> None:
        clean.contract_path.unlink()
        assert problems(clean) == [("openapi/openapi.yaml", 1, "contract")]


@pytest.mark.fr("004-sdd-cli/FR-012", "004-sdd-cli/FR-014")
class TestCheckCommand:
    def test_exit_1_and_json(self, cli: Cli, clean: Project) -> None:
        edit(clean.root / ADR, "status: proposed", "status: maybe")
        result = cli("check", "--json")
        assert result.exit_code == 1
        assert result.json()["ok"] is False
        assert result.json()["problems"][0] == {
            "severity": "error",
            "path": ADR,
            "line": 4,
            "code": "schema",
            "message": (
                "status must be one of proposed, accepted, rejected, deprecated, superseded "
                "(got 'maybe')"
            ),
        }

    def test_text_output_has_file_and_line(self, cli: Cli, clean: Project) -> None:
        edit(clean.root / ADR, "status: proposed", "status: maybe")
        result = cli("check")
        assert result.stdout.startswith(f"{ADR}:4: schema: ")
        assert "1 problem" in result.stderr

    def test_exit_0_when_clean(self, cli: Cli, clean: Project) -> None:
        result = cli("check", "--json")
        assert (result.exit_code, result.json()["ok"]) == (0, True)
