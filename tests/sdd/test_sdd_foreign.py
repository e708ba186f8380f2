"""Records written by other tools: Spec-Kit Plus PHRs, adr-tools (Nygard) and MADR ADRs."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest
from sdd_helpers import FIXTURES, CliResult

from sdd.check import run_check
from sdd.project import Project
from sdd.records.adr import AdrInput, all_adrs, create_adr, get_adr
from sdd.records.phr import PhrInput, create_phr, find_phr, list_phrs

Cli = Callable[..., CliResult]


@pytest.fixture
def wild(project: Project) -> Project:
    shutil.copytree(FIXTURES / "wild", project.root, dirs_exist_ok=True)
    return project


@pytest.mark.fr("004-sdd-cli/FR-008")
class TestSpecKitPlusPhrs:
    def test_all_are_listed(self, wild: Project) -> None:
        summaries = [(r.id, r.stage, r.feature, r.title) for r in list_phrs(wild)]
        assert summaries == [
            (12, "plan", "001-auth", "Plan auth"),
            (1, "spec", "auth", "Setup auth"),
            (13, "general", None, "Hello"),
        ]

    def test_three_digit_id_is_not_read_as_octal(self, wild: Project) -> None:
        assert find_phr(wild, "12", cwd=wild.root).title == "Plan auth"

    def test_none_lists_and_empty_user(self, wild: Project) -> None:
        record = find_phr(wild, "1", cwd=wild.root)
        assert record.front_matter["user"] is None
        assert record.labels == ["auth", "spec"]

    def test_feature_filter_matches_with_or_without_prefix(self, wild: Project) -> None:
        assert [r.ref for r in list_phrs(wild, feature="001-auth")] == ["001-auth/12", "auth/1"]
        assert [r.ref for r in list_phrs(wild, feature="auth")] == ["001-auth/12", "auth/1"]

    def test_new_ids_continue_after_foreign_ones(self, wild: Project) -> None:
        assert create_phr(wild, PhrInput(title="Next"), environ={}).id == 14

    def test_show_and_list_commands(self, cli: Cli, wild: Project) -> None:
        assert cli("phr", "list", "--json").exit_code == 0
        shown = cli("phr", "show", "plan-auth", "--json")
        assert shown.exit_code == 0
        assert shown.json()["data"]["record"]["sections"]["Prompt"] == "Plan the auth feature."


@pytest.mark.fr("004-sdd-cli/FR-011")
class TestForeignAdrs:
    def test_all_are_listed(self, wild: Project) -> None:
        summaries = [(r.id, r.format, r.status, r.title) for r in all_adrs(wild)]
        assert summaries == [
            (1, "nygard", "superseded", "Record architecture decisions"),
            (2, "nygard", "accepted", "Use Postgres"),
            (3, "madr", "accepted", "Use MADR for new decisions"),
        ]

    def test_nygard_supersede_link_and_date(self, wild: Project) -> None:
        record = get_adr(wild, 1)
        assert (record.superseded_by, record.date) == (["3"], "2020-01-01")

    def test_madr_date(self, wild: Project) -> None:
        assert get_adr(wild, 3).date == "2021-03-03"

    def test_new_adr_numbers_continue(self, wild: Project) -> None:
        assert create_adr(wild, AdrInput(title="Next")).id == 4

    def test_show_command(self, cli: Cli, wild: Project) -> None:
        result = cli("adr", "show", "2", "--json")
        assert result.exit_code == 0
        assert result.json()["data"]["record"]["sections"]["Decision"] == "PostgreSQL."

    def test_nygard_adr_is_changed_in_its_own_format(self, cli: Cli, wild: Project) -> None:
        result = cli("adr", "deprecate", "2")
        assert result.exit_code == 0
        text = get_adr(wild, 2).path.read_text(encoding="utf-8")
        assert "## Status\n\nDeprecated\n" in text
        assert get_adr(wild, 2).status == "deprecated"


@pytest.mark.fr("004-sdd-cli/FR-012")
class TestCheckOnForeignRecords:
    def test_each_record_is_judged_by_its_own_format(self, cli: Cli, wild: Project) -> None:
        result = cli("check", "--json")
        assert (result.exit_code, result.json()["problems"]) == (0, [])

    def test_strict_reports_without_crashing(self, cli: Cli, wild: Project) -> None:
        result = cli("check", "--strict", "--json")
        assert result.exit_code == 1
        problems = {(p["path"], p["code"]) for p in result.json()["problems"]}
        assert ("history/prompts/001-auth/012-plan-auth.plan.prompt.md", "yaml") in problems
        assert ("history/adr/0001-record-architecture-decisions.md", "front-matter") in problems
        assert ("history/adr/0003-use-madr.md", "schema") in problems
        assert "Traceback" not in result.stderr

    def test_every_problem_has_a_line(self, wild: Project) -> None:
        assert all(problem.line >= 1 for problem in run_check(wild, strict=True).problems)

    def test_invalid_yaml_line_is_the_offending_line(self, wild: Project) -> None:
        (problem,) = [p for p in run_check(wild, strict=True).problems if p.code == "yaml"]
        assert problem.line == 18
