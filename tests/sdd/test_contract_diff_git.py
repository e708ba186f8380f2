"""sdd contract diff in real git repositories: the gate, the base it picks, and what it says.

Every test drives the real ``sdd`` in a child process against a throwaway repository made with
the real ``git``: a contract committed on ``main``, then edited on a branch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sdd_helpers import CliResult, run_sdd_process, write

from sdd.scaffold import init_project

pytestmark = [
    pytest.mark.fr("010-contract-gates/FR-001", "010-contract-gates/FR-005"),
    pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed"),
]

CONTRACT = """openapi: 3.1.0
info:
  title: Tasks
  version: 1.4.0
paths:
  /tasks:
    post:
      operationId: createTask
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: "#/components/schemas/TaskCreate"
      responses:
        "201":
          description: Created.
components:
  schemas:
    Priority:
      type: string
      enum: [low, medium, high]
    TaskCreate:
      type: object
      required: [title]
      properties:
        title:
          type: string
        priority:
          $ref: "#/components/schemas/Priority"
"""
BREAKING = CONTRACT.replace("enum: [low, medium, high]", "enum: [low, high]")
HARMLESS = CONTRACT.replace("enum: [low, medium, high]", "enum: [low, medium, high, urgent]")
POINTER = (
    "/paths/~1tasks/post/requestBody/content/application~1json/schema/properties/priority/enum"
)


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    completed = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, check=True, text=True
    )
    return completed.stdout.strip()


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A project whose contract is committed on main, checked out on a feature branch."""
    root = tmp_path / "project"
    init_project(root)
    write(root / "openapi" / "openapi.yaml", CONTRACT)
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "contract 1.4.0")
    git(root, "checkout", "-q", "-b", "feature")
    return root


def diff(repo: Path, *args: str) -> CliResult:
    return run_sdd_process("contract", "diff", *args, cwd=repo)


def test_a_breaking_edit_fails_the_gate(repo: Path) -> None:
    write(repo / "openapi" / "openapi.yaml", BREAKING)
    commit_all(repo, "drop medium")
    result = diff(repo)
    assert result.exit_code == 1, result.stderr
    assert f"BREAKING  enum-value-removed  {POINTER}" in result.stdout
    assert "createTask (POST /tasks), request" in result.stdout
    assert "the merge base of HEAD and main" in result.stderr
    assert "needs a major version bump (to 2.0.0)" in result.stderr


def test_an_uncommitted_breaking_edit_fails_too(repo: Path) -> None:
    write(repo / "openapi" / "openapi.yaml", BREAKING)
    assert diff(repo).exit_code == 1


def test_a_major_version_bump_lets_the_same_edit_through(repo: Path) -> None:
    write(repo / "openapi" / "openapi.yaml", BREAKING.replace("version: 1.4.0", "version: 2.0.0"))
    result = diff(repo)
    assert result.exit_code == 0, result.stderr
    assert f"BREAKING  enum-value-removed  {POINTER}" in result.stdout
    assert "allowed by the major version bump (info.version 1.4.0 → 2.0.0)" in result.stderr


def test_a_minor_version_bump_does_not(repo: Path) -> None:
    write(repo / "openapi" / "openapi.yaml", BREAKING.replace("version: 1.4.0", "version: 1.5.0"))
    assert diff(repo).exit_code == 1


def test_a_compatible_edit_passes(repo: Path) -> None:
    write(repo / "openapi" / "openapi.yaml", HARMLESS)
    result = diff(repo)
    assert result.exit_code == 0, result.stderr
    assert f"ok        enum-value-added  {POINTER}" in result.stdout


def test_json_lists_every_change_with_its_pointer(repo: Path) -> None:
    write(repo / "openapi" / "openapi.yaml", BREAKING)
    result = diff(repo, "--json")
    assert result.exit_code == 1
    assert result.stderr == ""
    envelope = result.json()
    assert (envelope["ok"], envelope["command"], envelope["problems"]) == (
        False,
        "contract diff",
        [],
    )
    report = envelope["data"]
    assert report["breaking"] == 1
    (change,) = report["changes"]
    assert change == {
        "breaking": True,
        "kind": "enum-value-removed",
        "reason": '"medium" no longer allowed: requests that were valid may now be refused',
        "pointer": POINTER,
        "base": "/components/schemas/Priority/enum",
        "head": "/components/schemas/Priority/enum",
        "operation": "createTask (POST /tasks)",
        "direction": "request",
    }


def test_on_main_itself_only_uncommitted_changes_count(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    result = diff(repo)
    assert result.exit_code == 0
    assert "HEAD itself: only uncommitted changes count" in result.stderr
    assert "no changes (info.version 1.4.0 → 1.4.0)" in result.stderr


def test_an_explicit_base_ref_is_used(repo: Path) -> None:
    write(repo / "openapi" / "openapi.yaml", BREAKING)
    commit_all(repo, "drop medium")
    write(repo / "openapi" / "openapi.yaml", BREAKING.replace("version: 1.4.0", "version: 1.4.1"))
    result = diff(repo, "--base", "HEAD")
    assert result.exit_code == 0, result.stdout
    assert "at HEAD (" in result.stderr


def test_two_refs_can_be_compared_without_touching_the_working_tree(repo: Path) -> None:
    write(repo / "openapi" / "openapi.yaml", BREAKING)
    commit_all(repo, "drop medium")
    write(repo / "openapi" / "openapi.yaml", CONTRACT)
    result = diff(repo, "--base", "main", "--head", "feature")
    assert result.exit_code == 1
    assert "at feature (" in result.stderr


def test_without_main_the_latest_tag_is_the_base(tmp_path: Path, repo: Path) -> None:
    git(repo, "tag", "v1.4.0", "main")
    git(repo, "branch", "-q", "-D", "main")
    write(repo / "openapi" / "openapi.yaml", BREAKING)
    commit_all(repo, "drop medium")
    result = diff(repo)
    assert result.exit_code == 1
    assert "the latest tag v1.4.0" in result.stderr
    assert "there is no main branch" in result.stderr


def test_a_shallow_tagless_clone_says_it_compares_with_head(tmp_path: Path, repo: Path) -> None:
    write(repo / "openapi" / "openapi.yaml", HARMLESS)
    commit_all(repo, "add urgent")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--depth", "1", "--branch", "feature", repo.as_uri(), str(clone))
    clean = diff(clone)
    assert clean.exit_code == 0, clean.stderr
    assert "HEAD (" in clean.stderr
    assert "a shallow clone" in clean.stderr
    assert "only uncommitted changes count" in clean.stderr
    write(clone / "openapi" / "openapi.yaml", BREAKING)
    assert diff(clone).exit_code == 1


def test_an_unknown_base_is_a_usage_error(repo: Path) -> None:
    result = diff(repo, "--base", "no-such-branch")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "sdd: error: --base 'no-such-branch' is not a commit in this repository"
    ]


def test_a_contract_new_since_the_base_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / "project"
    init_project(root)
    (root / "openapi" / "openapi.yaml").unlink()
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "no contract yet")
    write(root / "openapi" / "openapi.yaml", CONTRACT)
    result = diff(root)
    assert result.exit_code == 0
    assert "does not exist at the merge base" in result.stderr


def test_outside_git_the_gate_is_skipped_with_a_notice(tmp_path: Path) -> None:
    root = tmp_path / "exported"
    init_project(root)
    result = run_sdd_process(
        "contract", "diff", cwd=root, env={"GIT_CEILING_DIRECTORIES": str(tmp_path)}
    )
    assert result.exit_code == 0, result.stderr
    assert "skipped:" in result.stderr
    assert "not inside a git work tree" in result.stderr


def test_a_base_file_needs_no_git(tmp_path: Path) -> None:
    root = tmp_path / "exported"
    init_project(root)
    write(root / "openapi" / "openapi.yaml", BREAKING)
    write(tmp_path / "published.yaml", CONTRACT)
    result = run_sdd_process(
        "contract",
        "diff",
        "--base-file",
        str(tmp_path / "published.yaml"),
        cwd=root,
        env={"GIT_CEILING_DIRECTORIES": str(tmp_path)},
    )
    assert result.exit_code == 1
    assert POINTER in result.stdout
