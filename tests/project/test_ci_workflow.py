""".github/workflows/ci.yml: a valid workflow that runs what CI here runs, with real services.

actionlint cannot be installed from the package indexes this project uses (its PyPI wrapper
downloads the binary from GitHub while building), so the file is validated against the GitHub
Actions workflow schema vendored by check-jsonschema, plus the checks below.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support_ci import made_with, make_targets
from tests.support_server import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")
SCHEMAS = ("vendor.github-workflows", "custom.github-workflows-require-timeout")


def check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def made(script: str) -> list[str]:
    """The make targets a shell script runs, in order."""
    return re.findall(r"^\s*make ([a-z][a-z0-9-]*)\s*$", script, flags=re.MULTILINE)


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def job(workflow: dict[Any, Any]) -> dict[str, Any]:
    (only,) = workflow["jobs"].values()
    assert isinstance(only, dict)
    return only


def run_scripts(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


@pytest.mark.fr("009-contract-product/FR-012")
@pytest.mark.parametrize("schema", SCHEMAS)
def test_the_workflow_matches_the_github_actions_schema(schema: str) -> None:
    result = check_jsonschema(schema, WORKFLOW)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.fr("009-contract-product/FR-012")
@pytest.mark.parametrize(
    ("broken", "schema"),
    [
        pytest.param("runs-on: ubuntu-24.04", "vendor.github-workflows", id="no runner"),
        pytest.param(
            "timeout-minutes: 40", "custom.github-workflows-require-timeout", id="no timeout"
        ),
    ],
)
def test_the_schema_check_rejects_a_broken_workflow(
    tmp_path: Path, broken: str, schema: str
) -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    assert broken in text
    mutant = tmp_path / "ci.yml"
    mutant.write_text(text.replace(broken, "steps-on: nothing"), encoding="utf-8")

    assert check_jsonschema(schema, mutant).returncode != 0


@pytest.mark.fr("009-contract-product/FR-012")
def test_it_runs_at_least_what_ci_here_runs(job: dict[str, Any]) -> None:
    here = made((REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8"))
    there = [target for script in run_scripts(job) for target in made(script)]

    assert here, "found no make target in .ci/run"
    assert [target for target in there if target in here] == here
    assert "fuzz" in there


@pytest.mark.fr("009-contract-product/FR-012")
def test_it_runs_every_gate_directly_or_through_make_check(job: dict[str, Any]) -> None:
    ran = {
        target
        for script in run_scripts(job)
        for named in made(script)
        for target in made_with(named)
    }

    assert {"check", "test", "fuzz", "contract-diff", "contract-lint", "trace"} <= ran


@pytest.mark.fr("009-contract-product/FR-012")
def test_every_make_target_it_runs_exists(job: dict[str, Any]) -> None:
    targets = make_targets()

    for script in run_scripts(job):
        for target in made(script):
            assert target in targets, f"`make {target}` is not a Makefile target"


@pytest.mark.fr("009-contract-product/FR-012")
def test_every_run_step_is_valid_bash(job: dict[str, Any]) -> None:
    for script in run_scripts(job):
        result = subprocess.run(
            ["bash", "-n"], input=script, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, f"{script!r}: {result.stderr}"


@pytest.mark.fr("009-contract-product/FR-012")
def test_postgresql_and_redis_are_service_containers_the_tests_use(job: dict[str, Any]) -> None:
    services = job["services"]
    env = job["env"]

    assert set(services) >= {"postgres", "redis"}
    for service in ("postgres", "redis"):
        assert "--health-cmd" in services[service]["options"], f"{service} has no health check"
    assert "5432:5432" in services["postgres"]["ports"]
    assert "6379:6379" in services["redis"]["ports"]
    assert env["TEST_DATABASE_URL"].startswith("postgresql+asyncpg://postgres@127.0.0.1:5432/")
    assert env["TASKAPI_TEST_REQUIRE_POSTGRES"] == "1"
    assert env["TEST_REDIS_URL"].startswith("redis://127.0.0.1:6379/")
    assert env["TASKAPI_TEST_REQUIRE_REDIS"] == "1"
    assert env["CI"] == "true"


@pytest.mark.fr("009-contract-product/FR-012")
def test_the_fuzz_report_is_uploaded_even_when_a_step_fails(job: dict[str, Any]) -> None:
    uploads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]

    paths = {upload["with"]["path"] for upload in uploads}
    assert "var/fuzz/junit.xml" in paths
    assert all(upload.get("if") == "always()" for upload in uploads)


@pytest.mark.fr("010-contract-gates/FR-012")
def test_the_traceability_page_is_written_after_fuzzing_and_uploaded(
    job: dict[str, Any],
) -> None:
    targets = [target for script in run_scripts(job) for target in made(script)]
    assert targets.index("trace") > targets.index("fuzz")
    (writes,) = [s for s in job["steps"] if "run" in s and "make trace" in s["run"]]
    assert writes.get("if") == "always()"
    uploads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    uploaded = {line.strip() for upload in uploads for line in upload["with"]["path"].splitlines()}
    assert {"var/trace.html", "var/trace.png"} <= uploaded


@pytest.mark.fr("009-contract-product/FR-012")
def test_every_action_is_pinned(job: dict[str, Any]) -> None:
    for step in job["steps"]:
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@(v\d+(\.\d+)*|[0-9a-f]{40})", step["uses"])
