"""Repositories sdd did not write: each format read by its own rules, with zero setup.

Every fixture under ``fixtures/`` reproduces the shape of one tool's records (adr-tools,
MADR 2/3/4, log4brains, Spec-Kit Plus, plain ``# Title`` records); none has ``.specify/``
configured for sdd or any ``[tool.sdd]``, except Spec-Kit Plus, which has its own.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sdd_helpers import FIXTURES, CliResult, files_under

Cli = Callable[..., CliResult]

ADR_REPOS = ["adr-tools", "madr2", "madr3", "madr4", "log4brains", "plain", "speckit-plus"]
ADR_COUNTS = {
    "adr-tools": 5,
    "madr2": 4,
    "madr3": 4,
    "madr4": 4,
    "log4brains": 4,
    "plain": 3,
    "speckit-plus": 2,
}


@pytest.fixture
def copy_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """A private copy of a fixture repository, made the working directory."""

    def make(name: str) -> Path:
        root = tmp_path / name
        shutil.copytree(FIXTURES / name, root)
        # A git root of its own, so discovery never walks into the enclosing checkout.
        (root / ".git").mkdir()
        (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
        monkeypatch.chdir(root)
        return root

    return make


@pytest.mark.fr(
    "011-sdd-existing-repos/FR-003",
    "011-sdd-existing-repos/FR-004",
    "011-sdd-existing-repos/FR-006",
    "011-sdd-existing-repos/FR-008",
)
class TestZeroSetup:
    @pytest.mark.parametrize("name", ADR_REPOS)
    def test_list_search_and_check_agree_on_the_count(
        self, cli: Cli, copy_of: Callable[[str], Path], name: str
    ) -> None:
        copy_of(name)
        listed = cli("adr", "list", "--json").json()
        searched = cli("adr", "search", "#", "--json").json()  # every record has a heading
        checked = cli("check", "--json").json()
        assert listed["data"]["count"] == ADR_COUNTS[name]
        assert searched["data"]["count"] == ADR_COUNTS[name]
        assert checked["data"]["checked"]["adrs"] == ADR_COUNTS[name]

    @pytest.mark.parametrize("name", ADR_REPOS)
    def test_every_adr_has_a_title_and_a_status(
        self, cli: Cli, copy_of: Callable[[str], Path], name: str
    ) -> None:
        copy_of(name)
        records = cli("adr", "list", "--json").json()["data"]["records"]
        assert all(record["title"] for record in records), records
        assert all(record["status"] for record in records), records

    @pytest.mark.parametrize(
        "name", ["adr-tools", "madr2", "madr3", "madr4", "log4brains", "plain"]
    )
    def test_check_passes_on_a_clean_repository_without_configuration(
        self, cli: Cli, copy_of: Callable[[str], Path], name: str
    ) -> None:
        root = copy_of(name)
        assert not (root / ".specify").exists()
        assert not (root / "pyproject.toml").exists()
        result = cli("check", "--json")
        assert (result.exit_code, result.json()["problems"]) == (0, [])

    def test_spec_kit_plus_repository_passes_check(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        copy_of("speckit-plus")
        result = cli("check", "--json")
        assert (result.exit_code, result.json()["problems"]) == (0, [])
        assert result.json()["data"]["checked"]["phrs"] == 11

    def test_reading_never_writes(self, cli: Cli, copy_of: Callable[[str], Path]) -> None:
        root = copy_of("adr-tools")
        before = files_under(root)
        for args in (["adr", "list"], ["adr", "show", "2"], ["check"], ["adr", "graph"], ["where"]):
            cli(*args)
        assert files_under(root) == before


@pytest.mark.fr("011-sdd-existing-repos/FR-006", "011-sdd-existing-repos/FR-007")
class TestAdrTools:
    def test_both_spellings_of_supersede_link_the_records(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        copy_of("adr-tools")
        old = cli("adr", "show", "2", "--json").json()["data"]["record"]
        new = cli("adr", "show", "4", "--json").json()["data"]["record"]
        assert (old["status"], old["superseded_by"], new["supersedes"]) == ("superseded", [4], [2])

    def test_superseded_filter_finds_the_superceded_record(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        copy_of("adr-tools")
        listed = cli("adr", "list", "--status", "superseded", "--json").json()["data"]["records"]
        assert [record["ref"] for record in listed] == ["2"]

    def test_amends_and_amended_by_are_a_link_pair(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        copy_of("adr-tools")
        amended = cli("adr", "show", "3", "--json").json()["data"]["record"]["links"]
        assert amended == [
            {
                "type": "amended",
                "direction": "in",
                "label": "amended by",
                "target": "5",
                "resolved": True,
            }
        ]

    def test_titles_lose_their_number(self, cli: Cli, copy_of: Callable[[str], Path]) -> None:
        copy_of("adr-tools")
        titles = [r["title"] for r in cli("adr", "list", "--json").json()["data"]["records"]]
        assert titles[0] == "Record architecture decisions"

    def test_a_date_that_is_not_iso_is_kept_as_written(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        copy_of("adr-tools")
        assert cli("adr", "show", "2", "--json").json()["data"]["record"]["date"] == "13/02/2024"

    def test_the_template_folder_is_not_read_as_records(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        copy_of("adr-tools")
        paths = [r["path"] for r in cli("adr", "list", "--json").json()["data"]["records"]]
        assert not any("templates" in path for path in paths)

    @pytest.mark.fr("011-sdd-existing-repos/FR-009")
    def test_new_record_is_written_like_adr_tools_writes_it(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        root = copy_of("adr-tools")
        result = cli("adr", "new", "Use structured errors", "--context", "Errors were strings.")
        assert result.stdout == "docs/architecture/decisions/0006-use-structured-errors.md\n"
        text = (root / result.stdout.strip()).read_text(encoding="utf-8")
        # The project's own adr-tools template is used, with its sections filled.
        assert text.startswith("# 6. Use structured errors\n\nDate: ")
        assert "## Status\n\nProposed\n" in text
        assert "## Context\n\nErrors were strings.\n" in text
        assert cli("check").exit_code == 0

    @pytest.mark.fr("011-sdd-existing-repos/FR-009")
    def test_supersede_keeps_the_folder_spelling(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        root = copy_of("adr-tools")
        cli("adr", "new", "Record decisions in MADR")
        assert cli("adr", "supersede", "1", "--by", "6").exit_code == 0
        folder = root / "docs/architecture/decisions"
        old = (folder / "0001-record-architecture-decisions.md").read_text(encoding="utf-8")
        new = (folder / "0006-record-decisions-in-madr.md").read_text(encoding="utf-8")
        assert (
            "## Status\n\nSuperceded by [6. Record decisions in MADR]"
            "(0006-record-decisions-in-madr.md)\n" in old
        )
        assert "\nAccepted\n" not in old.split("## Context")[0]
        assert (
            "Supercedes [1. Record architecture decisions](0001-record-architecture-decisions.md)"
            in new
        )
        assert cli("check").exit_code == 0


@pytest.mark.fr("011-sdd-existing-repos/FR-006")
class TestMadr:
    def test_record_zero_can_be_shown(self, cli: Cli, copy_of: Callable[[str], Path]) -> None:
        copy_of("madr3")
        result = cli("adr", "show", "0", "--json")
        assert result.exit_code == 0
        assert result.json()["data"]["record"]["title"] == "Use Markdown Any Decision Records"
        assert cli("adr", "show", "0000").exit_code == 0

    def test_any_status_word_is_a_status(self, cli: Cli, copy_of: Callable[[str], Path]) -> None:
        copy_of("madr3")
        listed = cli("adr", "list", "--status", "on hold", "--json")
        assert listed.exit_code == 0
        assert [r["ref"] for r in listed.json()["data"]["records"]] == ["1"]

    def test_superseded_by_in_the_status_links_the_successor(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        copy_of("madr3")
        record = cli("adr", "show", "2", "--json").json()["data"]["record"]
        assert (record["status"], record["superseded_by"]) == ("superseded", [3])

    @pytest.mark.parametrize(
        ("ref", "status", "date"),
        [
            ("0", "accepted", "2023-05-02"),
            ("1", "accepted", "2023-06-14"),
            ("2", "superseded", "2023-07-01"),
        ],
    )
    def test_madr2_bullets_with_either_marker(
        self, cli: Cli, copy_of: Callable[[str], Path], ref: str, status: str, date: str
    ) -> None:
        copy_of("madr2")
        record = cli("adr", "show", ref, "--json").json()["data"]["record"]
        assert (record["format"], record["status"], record["date"]) == ("madr2", status, date)

    def test_categories_have_their_own_numbers(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        copy_of("madr4")
        refs = [r["ref"] for r in cli("adr", "list", "--json").json()["data"]["records"]]
        assert refs == ["0", "1", "backend/0", "backend/1"]
        ambiguous = cli("adr", "show", "1")
        assert ambiguous.exit_code == 2
        assert "backend/1" in ambiguous.stderr
        assert cli("adr", "show", "backend/1").exit_code == 0

    def test_template_files_are_skipped(self, cli: Cli, copy_of: Callable[[str], Path]) -> None:
        copy_of("madr4")
        paths = [r["path"] for r in cli("adr", "list", "--json").json()["data"]["records"]]
        assert not any(path.endswith("adr-template.md") for path in paths)

    @pytest.mark.fr("011-sdd-existing-repos/FR-009")
    def test_new_record_uses_madr_front_matter(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        root = copy_of("madr3")
        created = cli("adr", "new", "Cache task lists", "--json").json()["data"]["record"]
        assert created["path"] == "docs/decisions/0004-cache-task-lists.md"
        text = (root / created["path"]).read_text(encoding="utf-8")
        assert text.startswith("---\nstatus: proposed\ndate: ")
        assert "\n# Cache task lists\n" in text
        assert created["format"] == "madr"


@pytest.mark.fr("011-sdd-existing-repos/FR-006")
class TestLog4brains:
    @pytest.mark.fr("011-sdd-existing-repos/FR-001")
    def test_adr_folder_comes_from_its_configuration(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        copy_of("log4brains")
        where = cli("where", "--json").json()["data"]["adr"]
        assert (where["path"], where["source"]) == (
            "docs/architecture",
            ".log4brains.yml adrFolder",
        )

    def test_the_slug_is_the_id(self, cli: Cli, copy_of: Callable[[str], Path]) -> None:
        copy_of("log4brains")
        refs = [r["ref"] for r in cli("adr", "list", "--json").json()["data"]["records"]]
        assert refs[0] == "20240105-keep-decisions-with-log4brains"
        shown = cli("adr", "show", "serve-the-api-with-granian", "--json").json()["data"]["record"]
        assert shown["supersedes"] == ["20240212-serve-the-api-with-uvicorn"]

    def test_a_record_without_status_is_a_draft(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        copy_of("log4brains")
        assert (
            cli("adr", "show", "cache-task-lists", "--json").json()["data"]["record"]["status"]
            == "draft"
        )

    @pytest.mark.fr("011-sdd-existing-repos/FR-009")
    def test_new_record_is_date_prefixed_and_never_stuck(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        root = copy_of("log4brains")
        result = cli("adr", "new", "Compress responses", "--date", "2024-05-01", "--json")
        assert result.exit_code == 0
        path = result.json()["data"]["record"]["path"]
        assert path == "docs/architecture/20240501-compress-responses.md"
        assert "- Status: proposed\n- Date: 2024-05-01\n" in (root / path).read_text(
            encoding="utf-8"
        )

    def test_index_and_template_pages_are_not_records(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        copy_of("log4brains")
        paths = [r["path"] for r in cli("adr", "list", "--json").json()["data"]["records"]]
        assert not any(path.endswith(("index.md", "template.md")) for path in paths)


@pytest.mark.fr("011-sdd-existing-repos/FR-005")
class TestSpecKitPlus:
    def test_every_phr_name_is_listed(self, cli: Cli, copy_of: Callable[[str], Path]) -> None:
        copy_of("speckit-plus")
        listed = cli("phr", "list", "--json").json()["data"]
        searched = cli("phr", "search", "## Prompt", "--json").json()["data"]
        assert listed["count"] == searched["count"] == 11

    def test_ids_are_per_folder_and_not_duplicates(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        copy_of("speckit-plus")
        problems = cli("check", "--json").json()["problems"]
        assert [p for p in problems if p["code"] == "duplicate-id"] == []

    def test_show_takes_feature_and_id(self, cli: Cli, copy_of: Callable[[str], Path]) -> None:
        copy_of("speckit-plus")
        shown = cli("phr", "show", "002-web-todo/1", "--json").json()["data"]["record"]
        assert shown["title"] == "Write the web spec"
        ambiguous = cli("phr", "show", "1")
        assert ambiguous.exit_code == 2
        assert "002-web-todo/1" in ambiguous.stderr
        assert cli("phr", "show", "3").exit_code == 2  # two folders have a 3
        assert cli("phr", "show", "002-web-todo/4").exit_code == 0

    @pytest.mark.fr("011-sdd-existing-repos/FR-009")
    def test_new_phr_continues_the_folder_and_its_names(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        copy_of("speckit-plus")
        created = cli(
            "phr",
            "new",
            "--title",
            "Add due dates",
            "--stage",
            "spec",
            "--feature",
            "002-web-todo",
            "--json",
        ).json()["data"]["record"]
        assert created["ref"] == "002-web-todo/5"
        assert (
            created["path"] == "history/prompts/002-web-todo/PHR-0005-add-due-dates.spec.prompt.md"
        )
        assert cli("phr", "show", "5").exit_code == 0  # a bare id that is unique

    @pytest.mark.fr("011-sdd-existing-repos/FR-006")
    def test_speckit_adr_template_is_read(self, cli: Cli, copy_of: Callable[[str], Path]) -> None:
        copy_of("speckit-plus")
        record = cli("adr", "show", "1", "--json").json()["data"]["record"]
        assert (record["title"], record["status"], record["date"], record["format"]) == (
            "Use SQLModel for persistence",
            "accepted",
            "2025-12-04",
            "speckit",
        )

    @pytest.mark.fr("011-sdd-existing-repos/FR-009")
    def test_new_adr_follows_adr_nnn_names(self, cli: Cli, copy_of: Callable[[str], Path]) -> None:
        root = copy_of("speckit-plus")
        path = cli("adr", "new", "Deploy on containers").stdout.strip()
        assert path == "history/adr/adr-003-deploy-on-containers.md"
        assert (
            (root / path)
            .read_text(encoding="utf-8")
            .startswith("# ADR-003: Deploy on containers\n\n- **Status:** Proposed\n")
        )

    @pytest.mark.fr("011-sdd-existing-repos/FR-008")
    def test_specs_without_an_operations_line_are_fine_without_a_contract(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        copy_of("speckit-plus")
        data = cli("check", "--json").json()
        assert data["data"]["traceability"] is False
        assert data["ok"] is True


@pytest.mark.fr("011-sdd-existing-repos/FR-006")
class TestPlainRecords:
    def test_plain_heading_and_status_section(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        copy_of("plain")
        records = cli("adr", "list", "--json").json()["data"]["records"]
        assert [(r["ref"], r["title"], r["status"]) for r in records] == [
            ("1", "Adopt trunk-based development", "accepted"),
            ("2", "Publish the contract before the code", "decided"),
            ("monorepo-or-polyrepo", "Monorepo or polyrepo for the task service", "accepted"),
        ]

    @pytest.mark.fr("011-sdd-existing-repos/FR-009")
    def test_index_refuses_a_hand_written_readme(
        self, cli: Cli, copy_of: Callable[[str], Path]
    ) -> None:
        root = copy_of("plain")
        readme = root / "docs/adr/README.md"
        before = readme.read_text(encoding="utf-8")
        result = cli("adr", "index")
        assert result.exit_code == 2
        assert "--output" in result.stderr
        assert readme.read_text(encoding="utf-8") == before
        moved = cli("adr", "index", "--output", "docs/adr/INDEX.md", "--json")
        assert moved.json()["data"] == {"path": "docs/adr/INDEX.md", "count": 3}
        again = cli("adr", "index", "--output", "docs/adr/INDEX.md")
        assert again.exit_code == 0  # its own file, with the marker, is replaced


@pytest.mark.fr("011-sdd-existing-repos/FR-007")
class TestGraph:
    @pytest.mark.parametrize("fmt", ["mermaid", "dot"])
    def test_every_link_type_is_drawn(
        self, cli: Cli, copy_of: Callable[[str], Path], fmt: str
    ) -> None:
        copy_of("adr-tools")
        data = cli("adr", "graph", "--format", fmt, "--json").json()["data"]
        assert data["edges"] == [
            {"source": "4", "target": "2", "type": "superseded"},
            {"source": "5", "target": "3", "type": "amended"},
        ]
        assert "supersedes" in data["graph"]
        assert "amends" in data["graph"]
        if fmt == "dot":
            assert data["graph"].startswith("digraph adrs {")
