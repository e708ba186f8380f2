"""sdd trace: rows per requirement, handlers and tests found statically, fuzz evidence, the page."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sdd_helpers import CliResult, files_under, run_sdd_process, write

from sdd.project import Project, load_project
from sdd.trace import build_trace
from sdd.trace.html import render_html

pytestmark = pytest.mark.fr("010-contract-gates/FR-007")

Cli = Callable[..., CliResult]
REPO_ROOT = Path(__file__).resolve().parents[2]

CONTRACT = """openapi: 3.1.0
info:
  title: Little <Tasks>
  version: 1.0.0
paths:
  /tasks:
    get:
      operationId: listTasks
      responses:
        '200': {description: ok}
    post:
      operationId: createTask
      responses:
        '201': {description: ok}
  /tasks/{task_id}:
    delete:
      operationId: deleteTask
      responses:
        '204': {description: ok}
  /extra:
    get:
      operationId: unclaimedOp
      responses:
        '200': {description: ok}
"""

SPEC = """# Feature Specification: Tasks

**Feature**: `001-tasks`
**Created**: 2026-11-28
**Status**: Approved
**Operations**: `listTasks`, `createTask`, `deleteTask`

## Requirements

- **FR-001**: The system MUST list tasks. Operations: `listTasks`.
- **FR-002**: The system MUST create a task
  from a body that may contain <script>alert(1)</script>. Operations: `createTask`.
- **FR-003**: The system MUST keep settings in `TASKS_*` variables. Operations: none.
- **FR-004**: The system MUST delete tasks. Operations: `deleteTask`.
- **FR-005**: The system MUST archive tasks. Operations: `archiveTask`.
"""

ROUTER = """
from fastapi import APIRouter

router = APIRouter()


@router.get("/tasks", operation_id="listTasks")
async def list_tasks() -> list[str]:
    return []


async def create_task() -> None:
    return None


router.add_api_route("/tasks", create_task, methods=["POST"], operation_id="createTask")
"""

TESTS = """
import pytest

pytestmark = pytest.mark.fr("001-tasks/FR-003")


@pytest.mark.fr("001-tasks/FR-001")
def test_lists() -> None:
    pass


@pytest.mark.fr("001-tasks/FR-002", "001-tasks/FR-009")
class TestCreate:
    @pytest.mark.parametrize("n", [1, 2])
    def test_creates(self, n: int) -> None:
        pass

    def helper(self) -> None:
        pass
"""

UNMARKED = """
def test_nothing_in_particular() -> None:
    pass
"""

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites errors="0" failures="1" skipped="0" tests="2" time="1.0">
  <testsuite name="schemathesis" errors="0" failures="1" skipped="0" tests="2" time="1.0">
    <testcase name="GET /tasks" time="0.5"/>
    <testcase name="POST /tasks" time="0.5">
      <failure type="failure" message="not_a_server_error">500 on a long title</failure>
    </testcase>
  </testsuite>
</testsuites>
"""


@pytest.fixture
def traced(project: Project) -> Project:
    write(project.contract_path, CONTRACT)
    write(project.specs_dir / "001-tasks" / "spec.md", SPEC)
    write(project.root / "src" / "app" / "router.py", ROUTER)
    write(project.root / "tests" / "test_tasks.py", TESTS)
    write(project.root / "tests" / "test_other.py", UNMARKED)
    return project


def rows(project: Project) -> dict[str, dict[str, object]]:
    return {row["requirement"]: row for row in build_trace(project).to_json()["rows"]}


def test_one_row_per_requirement_with_its_operations(traced: Project) -> None:
    found = rows(traced)
    assert list(found) == ["FR-001", "FR-002", "FR-003", "FR-004", "FR-005"]
    assert found["FR-002"]["text"] == (
        "The system MUST create a task from a body that may contain <script>alert(1)</script>."
    )
    assert found["FR-002"]["spec"] == "specs/001-tasks/spec.md:11"
    assert [op["operation_id"] for op in found["FR-001"]["operations"]] == ["listTasks"]
    assert found["FR-003"]["operations"] == []


@pytest.mark.fr("010-contract-gates/FR-008")
def test_handlers_are_found_from_decorators_and_add_api_route(traced: Project) -> None:
    found = rows(traced)
    (list_op,) = found["FR-001"]["operations"]
    assert list_op["handlers"] == ["src/app/router.py:8"]
    (create_op,) = found["FR-002"]["operations"]
    assert create_op["handlers"] == ["src/app/router.py:12"]


@pytest.mark.fr("010-contract-gates/FR-009")
def test_tests_are_linked_by_function_class_and_module_markers(traced: Project) -> None:
    found = rows(traced)
    assert [t["id"] for t in found["FR-001"]["tests"]] == ["tests/test_tasks.py::test_lists"]
    assert [t["id"] for t in found["FR-002"]["tests"]] == [
        "tests/test_tasks.py::TestCreate::test_creates"
    ]
    assert [t["id"] for t in found["FR-003"]["tests"]] == [
        "tests/test_tasks.py::test_lists",
        "tests/test_tasks.py::TestCreate::test_creates",
    ]


@pytest.mark.fr("010-contract-gates/FR-009")
def test_markers_naming_no_requirement_and_unmarked_tests_are_listed(traced: Project) -> None:
    trace = build_trace(traced).to_json()
    assert trace["unknown_requirements"] == [
        {
            "test": "tests/test_tasks.py::TestCreate::test_creates",
            "where": "tests/test_tasks.py:15",
            "requirement": "001-tasks/FR-009",
        }
    ]
    assert trace["unmarked_tests"] == ["tests/test_other.py::test_nothing_in_particular"]
    assert trace["unclaimed_operations"] == ["unclaimedOp"]


@pytest.mark.fr("010-contract-gates/FR-011")
def test_each_gap_is_named(traced: Project) -> None:
    found = rows(traced)
    assert {key: row["status"] for key, row in found.items()} == {
        "FR-001": "traced",
        "FR-002": "traced",
        "FR-003": "traced",
        "FR-004": "gap",
        "FR-005": "gap",
    }
    assert found["FR-004"]["gaps"] == [
        "no test names this requirement",
        "no handler found for deleteTask",
    ]
    assert found["FR-005"]["gaps"] == [
        "no test names this requirement",
        "archiveTask is not in the contract",
    ]


@pytest.mark.fr("010-contract-gates/FR-010", "010-contract-gates/FR-011")
def test_a_fuzz_report_gives_each_operation_its_outcome(traced: Project) -> None:
    write(traced.root / "var" / "fuzz" / "junit.xml", JUNIT)
    found = rows(traced)
    assert found["FR-001"]["operations"][0]["fuzz"] == {
        "state": "passed",
        "detail": "1 scenario(s) passed",
    }
    assert found["FR-002"]["operations"][0]["fuzz"]["state"] == "failed"
    assert "POST /tasks: not_a_server_error" in found["FR-002"]["operations"][0]["fuzz"]["detail"]
    assert "createTask: fuzz failed" in found["FR-002"]["gaps"]
    assert "deleteTask: fuzz not in report" in found["FR-004"]["gaps"]


@pytest.mark.fr("010-contract-gates/FR-010")
def test_without_a_report_the_fuzzed_contract_counts(traced: Project) -> None:
    assert rows(traced)["FR-001"]["operations"][0]["fuzz"]["state"] == "none"
    write(traced.root / "tests" / "test_fuzz.py", "import schemathesis\n")
    write(
        traced.root / "tests" / "schemathesis.toml",
        '[[operations]]\ninclude-operation-id = "listTasks"\nenabled = false\n',
    )
    found = rows(traced)
    assert found["FR-001"]["operations"][0]["fuzz"]["state"] == "disabled"
    assert "listTasks: fuzz disabled" in found["FR-001"]["gaps"]
    assert found["FR-002"]["operations"][0]["fuzz"]["state"] == "in fuzzed contract"
    assert found["FR-002"]["status"] == "traced"


@pytest.mark.fr("010-contract-gates/FR-012")
def test_the_page_is_self_contained_escaped_and_highlights_gaps(traced: Project) -> None:
    page = render_html(build_trace(traced))
    assert page.count('<tr class="gap"') == 2
    assert page.count('<tr class="traced"') == 3
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<title>Traceability · Little &lt;Tasks&gt;</title>" in page
    assert "default-src 'none'" in page
    assert not re.search(r"""(src|href)=|url\(|@import|https?://""", page)
    assert "<code>TASKS_*</code>" in page


@pytest.mark.fr("010-contract-gates/FR-012")
def test_cli_writes_the_page_creating_its_folder(traced: Project, cli: Cli) -> None:
    result = cli("trace", "--html", "out/deep/trace.html")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("out/deep/trace.html: 5 requirements, 3 traced, 2 with gaps")
    page = (traced.root / "out" / "deep" / "trace.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert not [p for p in files_under(traced.root / "out") if p != "deep/trace.html"]


@pytest.mark.fr("010-contract-gates/FR-012")
def test_an_unwritable_target_exits_2_and_leaves_nothing(traced: Project, cli: Cli) -> None:
    write(traced.root / "blocker", "a file where a folder should be\n")
    before = files_under(traced.root)
    result = cli("trace", "--html", "blocker/trace.html")
    assert result.exit_code == 2
    assert result.stderr.startswith("sdd: error: cannot write blocker/trace.html")
    assert len(result.stderr.strip().splitlines()) == 1
    assert files_under(traced.root) == before


def test_json_and_strict(traced: Project, cli: Cli) -> None:
    result = cli("trace", "--json")
    assert result.exit_code == 0
    assert result.json()["data"]["summary"] == {
        "requirements": 5,
        "traced": 3,
        "gaps": 2,
        "tests": 3,
        "unmarked_tests": 1,
        "unknown_requirements": 1,
    }
    strict = cli("trace", "--strict", "--json")
    assert strict.exit_code == 1
    assert strict.json()["ok"] is False


def test_a_missing_source_folder_is_a_usage_error(traced: Project, cli: Cli) -> None:
    result = cli("trace", "--source", "nowhere", "--html", "trace.html")
    assert result.exit_code == 2
    assert not (traced.root / "trace.html").exists()


class TestThisRepository:
    def test_every_marker_names_a_requirement_of_a_spec(self) -> None:
        trace = build_trace(load_project(REPO_ROOT))
        assert trace.unknown == []
        assert len(trace.rows) >= 80

    @staticmethod
    def planned(target: str) -> str:
        """The commands `make TARGET` would run here."""
        return subprocess.run(
            ["make", "-n", target], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout

    @pytest.mark.fr("010-contract-gates/FR-012")
    def test_make_trace_writes_the_page(self) -> None:
        assert "sdd trace --html var/trace.html" in self.planned("trace")

    @pytest.mark.fr("010-contract-gates/FR-006")
    def test_make_check_runs_the_breaking_change_gate(self) -> None:
        assert "sdd contract diff" in self.planned("check")

    def test_the_real_cli_answers_in_json(self, tmp_path: Path) -> None:
        result = run_sdd_process("trace", "--json", cwd=REPO_ROOT)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["data"]["summary"]["requirements"] >= 80
