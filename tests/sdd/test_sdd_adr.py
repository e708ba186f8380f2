"""sdd adr new, lifecycle, supersede, list, show and index."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from sdd_helpers import CliResult, files_under

from sdd.check import run_check
from sdd.errors import SddError
from sdd.project import Project
from sdd.records.adr import (
    AdrInput,
    all_adrs,
    change_status,
    create_adr,
    get_adr,
    render_index,
    supersede,
    write_index,
)
from sdd.records.common import sections
from sdd.records.frontmatter import split
from sdd.records.journal import JOURNAL_NAME, complete_pending

Cli = Callable[..., CliResult]


def front_matter(path: Path) -> dict[str, object]:
    block = split(path.read_text(encoding="utf-8"))
    assert block is not None
    data = yaml.safe_load(block.yaml_text)
    assert isinstance(data, dict)
    return data


@pytest.mark.fr("004-sdd-cli/FR-009")
class TestCreateAdr:
    def test_writes_the_agreed_format(self, project: Project) -> None:
        record = create_adr(
            project,
            AdrInput(
                title="Use PostgreSQL",
                context="We need SQL.",
                decision="PostgreSQL.",
                consequences="### Positive\n\n- Mature.\n\n### Negative\n\n- A server to run.",
                alternatives="- **SQLite**: no concurrency.",
                feature="002-tasks",
                date=dt.date(2026, 11, 22),
            ),
        )
        assert record.relative_path == "history/adr/0001-use-postgresql.md"
        assert front_matter(record.path) == {
            "id": 1,
            "title": "Use PostgreSQL",
            "status": "proposed",
            "date": dt.date(2026, 11, 22),
            "feature": "002-tasks",
            "supersedes": [],
            "superseded_by": [],
            "links": {"spec": None, "ticket": None, "adr": None, "pr": None},
        }
        text = record.path.read_text(encoding="utf-8")
        assert "# ADR-0001: Use PostgreSQL" in text
        assert list(sections(text)) == [
            "Context",
            "Decision",
            "Consequences",
            "Alternatives Considered",
            "References",
        ]
        assert "### Positive" in text
        assert "### Negative" in text

    def test_consequences_without_subsections_get_them(self, project: Project) -> None:
        record = create_adr(project, AdrInput(title="X", consequences="Faster."))
        text = record.path.read_text(encoding="utf-8")
        assert "Faster.\n\n### Positive" in text

    def test_accepted_status(self, project: Project) -> None:
        assert create_adr(project, AdrInput(title="X", status="accepted")).status == "accepted"

    @pytest.mark.parametrize("status", ["superseded", "done", "rejected"])
    def test_other_statuses_are_rejected(self, project: Project, status: str) -> None:
        with pytest.raises(SddError, match="status"):
            create_adr(project, AdrInput(title="X", status=status))
        assert all_adrs(project) == []

    def test_supersedes_updates_both_records(self, project: Project) -> None:
        create_adr(project, AdrInput(title="Old", status="accepted"))
        new = create_adr(project, AdrInput(title="New", supersedes=[1]))
        old = get_adr(project, 1)
        assert (old.status, old.superseded_by, new.supersedes) == ("superseded", ["2"], ["1"])
        assert run_check(project).ok

    def test_superseding_an_unknown_adr_creates_nothing(self, project: Project) -> None:
        with pytest.raises(SddError, match="no ADR '9'"):
            create_adr(project, AdrInput(title="New", supersedes=[9]))
        assert all_adrs(project) == []

    def test_placeholder_in_text_is_flagged_but_not_in_code(self, project: Project) -> None:
        create_adr(
            project,
            AdrInput(title='Quotes "and": colons', context="Has {{braces}} in `code {{x}}`"),
        )
        problems = run_check(project).problems
        assert [p.code for p in problems] == ["placeholder"]


@pytest.mark.fr("004-sdd-cli/FR-010")
class TestLifecycle:
    def test_accept(self, project: Project) -> None:
        create_adr(project, AdrInput(title="X"))
        change = change_status(project, 1, action="accept")
        assert (change.previous, change.record.status, change.changed) == (
            "proposed",
            "accepted",
            True,
        )
        assert front_matter(change.record.path)["status"] == "accepted"

    def test_accepting_twice_is_a_no_op(self, project: Project) -> None:
        create_adr(project, AdrInput(title="X", status="accepted"))
        assert change_status(project, 1, action="accept").changed is False

    def test_reject(self, project: Project) -> None:
        create_adr(project, AdrInput(title="X"))
        assert change_status(project, 1, action="reject").record.status == "rejected"

    def test_deprecate_needs_accepted(self, project: Project) -> None:
        create_adr(project, AdrInput(title="X"))
        with pytest.raises(SddError, match=r"is proposed, so it cannot become deprecated"):
            change_status(project, 1, action="deprecate")

    def test_rejecting_an_accepted_adr_is_refused(self, project: Project) -> None:
        create_adr(project, AdrInput(title="X", status="accepted"))
        with pytest.raises(SddError, match=r"is accepted, so it cannot become rejected"):
            change_status(project, 1, action="reject")

    def test_unknown_number(self, project: Project) -> None:
        with pytest.raises(SddError, match="no ADR '4'"):
            change_status(project, 4, action="accept")

    def test_status_change_keeps_the_body(self, project: Project) -> None:
        record = create_adr(project, AdrInput(title="X", context="Keep me."))
        change_status(project, 1, action="accept")
        before = split(record.text)
        after = split(record.path.read_text(encoding="utf-8"))
        assert before is not None
        assert after is not None
        assert before.body == after.body


@pytest.mark.fr("004-sdd-cli/FR-010")
class TestSupersede:
    def test_links_both_sides(self, project: Project) -> None:
        create_adr(project, AdrInput(title="Old", status="accepted"))
        create_adr(project, AdrInput(title="New"))
        old, new, changed = supersede(project, 1, by=2)
        assert changed
        assert front_matter(old.path)["superseded_by"] == [2]
        assert front_matter(old.path)["status"] == "superseded"
        assert front_matter(new.path)["supersedes"] == [1]
        assert run_check(project).ok

    def test_repeating_is_a_no_op(self, project: Project) -> None:
        create_adr(project, AdrInput(title="Old"))
        create_adr(project, AdrInput(title="New"))
        supersede(project, 1, by=2)
        assert supersede(project, 1, by=2)[2] is False

    def test_self_supersede_is_refused(self, project: Project) -> None:
        create_adr(project, AdrInput(title="Old"))
        with pytest.raises(SddError, match="itself"):
            supersede(project, 1, by=1)

    def test_rejected_cannot_be_superseded(self, project: Project) -> None:
        create_adr(project, AdrInput(title="Old"))
        create_adr(project, AdrInput(title="New"))
        change_status(project, 1, action="reject")
        with pytest.raises(SddError, match="rejected"):
            supersede(project, 1, by=2)


@pytest.mark.fr("004-sdd-cli/FR-010")
class TestInterruptedUpdate:
    def test_committed_journal_is_rolled_forward(self, project: Project) -> None:
        create_adr(project, AdrInput(title="Old"))
        create_adr(project, AdrInput(title="New"))
        old, new = get_adr(project, 1), get_adr(project, 2)
        # Simulate a crash right after the commit point: temp files and journal, no renames.
        pending = []
        for record, text in (
            (old, old.text.replace("status: proposed", "status: superseded")),
            (new, new.text + "\nnew\n"),
        ):
            temporary = record.path.with_name(f".{record.path.name}.1.sdd-pending")
            temporary.write_text(text, encoding="utf-8")
            pending.append([project.relative(temporary), record.relative_path])
        (project.state_dir / JOURNAL_NAME).write_text(
            json.dumps({"renames": pending}), encoding="utf-8"
        )
        assert [p.code for p in run_check(project).problems] == ["interrupted"]
        assert all_adrs(project)[0].status == "proposed"
        assert complete_pending(root=project.root, state_dir=project.state_dir) is True
        assert get_adr(project, 1).status == "superseded"
        assert get_adr(project, 2).text.endswith("\nnew\n")
        assert not (project.state_dir / JOURNAL_NAME).exists()
        assert not list(project.adr_dir.glob(".*pending"))

    def test_replaying_a_finished_journal_is_harmless(self, project: Project) -> None:
        create_adr(project, AdrInput(title="Old"))
        (project.state_dir / JOURNAL_NAME).write_text(
            json.dumps({"renames": [["history/adr/.gone.sdd-pending", "history/adr/0001-old.md"]]}),
            encoding="utf-8",
        )
        assert complete_pending(root=project.root, state_dir=project.state_dir) is True
        assert get_adr(project, 1).title == "Old"


@pytest.mark.fr("004-sdd-cli/FR-011")
class TestIndex:
    def test_table_and_graph(self, project: Project) -> None:
        create_adr(project, AdrInput(title='Say "hi" | pipe', status="accepted"))
        create_adr(project, AdrInput(title="New", supersedes=[1]))
        path, count = write_index(project)
        text = path.read_text(encoding="utf-8")
        assert count == 2
        assert '| [0001](0001-say-hi-pipe.md) | Say "hi" \\| pipe | superseded |' in text
        assert "```mermaid" in text
        assert "adr_2 -->|supersedes| adr_1" in text
        assert 'adr_1["ADR-0001: Say #quot;hi#quot; | pipe"]' in text

    def test_index_is_not_an_adr(self, project: Project) -> None:
        create_adr(project, AdrInput(title="One"))
        write_index(project)
        assert [r.id for r in all_adrs(project)] == [1]
        assert run_check(project).ok

    def test_empty_index(self) -> None:
        assert "| ADR | Title |" in render_index([])


@pytest.mark.fr(
    "004-sdd-cli/FR-009",
    "004-sdd-cli/FR-010",
    "004-sdd-cli/FR-011",
    "004-sdd-cli/FR-014",
)
class TestAdrCommands:
    def test_new_json(self, cli: Cli, repo: Path) -> None:
        result = cli(
            "adr",
            "new",
            "Use X",
            "--status",
            "accepted",
            "--context",
            "-",
            "--json",
            input="Because.\n",
        )
        assert result.exit_code == 0
        document = result.json()["data"]["record"]
        assert (document["id"], document["status"], document["path"]) == (
            1,
            "accepted",
            "history/adr/0001-use-x.md",
        )
        assert "Because." in (repo / document["path"]).read_text(encoding="utf-8")

    def test_lifecycle_commands(self, cli: Cli, repo: Path) -> None:
        cli("adr", "new", "A")
        cli("adr", "new", "B")
        assert cli("adr", "accept", "1").exit_code == 0
        rejected = cli("adr", "reject", "ADR-0002", "--json").json()["data"]
        assert rejected["record"]["status"] == "rejected"
        assert (
            cli("adr", "deprecate", "1", "--json").json()["data"]["previous_status"] == "accepted"
        )
        cli("adr", "new", "C", "--status", "accepted")
        cli("adr", "new", "D")
        result = cli("adr", "supersede", "3", "--by", "4", "--json").json()["data"]
        assert (result["old"]["superseded_by"], result["new"]["supersedes"]) == ([4], [3])

    def test_list_status_filter_and_show(self, cli: Cli, repo: Path) -> None:
        cli("adr", "new", "A", "--status", "accepted")
        cli("adr", "new", "B")
        listed = cli("adr", "list", "--status", "accepted", "--json").json()["data"]["records"]
        assert [r["title"] for r in listed] == ["A"]
        shown = cli("adr", "show", "2", "--json").json()["data"]["record"]
        assert shown["title"] == "B"
        links = shown["front_matter"]["links"]
        assert links == {"spec": None, "ticket": None, "adr": None, "pr": None}
        assert "A" in cli("adr", "list").stdout

    def test_index_command(self, cli: Cli, repo: Path) -> None:
        cli("adr", "new", "A")
        assert cli("adr", "index", "--json").json()["data"] == {
            "path": "history/adr/README.md",
            "count": 1,
        }

    @pytest.mark.fr("004-sdd-cli/FR-017")
    @pytest.mark.parametrize(
        "args",
        [
            ["new", "X", "--status", "done"],
            ["new", "***"],
            ["new", "X", "--feature", "../x"],
            ["new", "X", "--supersedes", "7"],
            ["new", "X", "--supersedes", "seven"],
            ["accept", "7"],
            ["show", "7"],
            ["show", "abc"],
            ["supersede", "1", "--by", "7"],
            ["status", "1", "!!"],
            ["link", "1", "7"],
            ["graph", "--format", "png"],
        ],
    )
    def test_bad_input_exits_2_and_writes_nothing(
        self, cli: Cli, repo: Path, args: list[str]
    ) -> None:
        cli("adr", "new", "Existing")
        before = files_under(repo)
        result = cli("adr", *args)
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1
        assert files_under(repo) == before
