"""The contract lint (`make contract-lint`): the contract passes it, and each rule bites.

Redocly CLI is installed by `make contract-lint` into the virtualenv running these tests
(`<venv>/node`). Without it (or without Node.js) these tests are skipped with the reason on a
user's machine and fail under CI, where `make check` installs it first.

The rule test lints one copy of the contract into which every mutation below was written, and
checks that each mutation is reported by its rule at its place: a rule that stops firing, or
fires somewhere else, fails its own case.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.contract.conftest import CONTRACT_PATH, REPO_ROOT
from tests.support_ci import tool_unavailable

REDOCLY = Path(sys.prefix) / "node" / "node_modules" / ".bin" / "redocly"
TASKS = "#/paths/~1api~1v1~1tasks"
TASK = "#/paths/~1api~1v1~1tasks~1{task_id}"

Document = dict[str, Any]
Mutation = Callable[[Document], None]


def lint(path: Path) -> tuple[int, list[dict[str, Any]]]:
    if not os.access(REDOCLY, os.X_OK):
        tool_unavailable(f"Redocly CLI is not installed at {REDOCLY}: run `make contract-lint`")
    result = subprocess.run(
        [str(REDOCLY), "lint", str(path), "--config", "redocly.yaml", "--format", "json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true"},
    )
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"redocly printed no JSON report: {result.stderr[-2000:]}", pytrace=False)
    return result.returncode, report["problems"]


def query_parameter(document: Document, name: str) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = document["paths"]["/api/v1/tasks"]["get"]["parameters"]
    return next(p for p in parameters if p.get("name") == name)


def parameter_index(name: str) -> int:
    contract = yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8"))
    parameters = contract["paths"]["/api/v1/tasks"]["get"]["parameters"]
    return next(i for i, p in enumerate(parameters) if p.get("name") == name)


def _schemas(document: Document) -> dict[str, Any]:
    schemas: dict[str, Any] = document["components"]["schemas"]
    return schemas


def _security_schemes(document: Document) -> dict[str, Any]:
    schemes: dict[str, Any] = document["components"]["securitySchemes"]
    return schemes


# (what is broken, the mutation, the rule that must report it, where)
MUTATIONS: list[tuple[str, Mutation, str, str]] = [
    (
        "readOnly marks a response field",
        lambda d: _schemas(d)["User"]["properties"]["id"].update(readOnly=True),
        "rule/no-read-only-write-only",
        "#/components/schemas/User/properties/id/readOnly",
    ),
    (
        "a request string without maxLength",
        lambda d: _schemas(d)["Title"].pop("maxLength"),
        "taskapi/request-strings-bounded",
        "#/components/schemas/Title",
    ),
    (
        "a request array without maxItems",
        lambda d: _schemas(d)["Tags"].pop("maxItems"),
        "taskapi/request-arrays-bounded",
        "#/components/schemas/Tags",
    ),
    (
        "a request integer without maximum",
        lambda d: query_parameter(d, "limit")["schema"].pop("maximum"),
        "taskapi/request-numbers-bounded",
        f"{TASKS}/get/parameters/{parameter_index('limit')}/schema",
    ),
    (
        "a request object that accepts unknown members",
        lambda d: _schemas(d)["TaskUpdate"].pop("additionalProperties"),
        "taskapi/request-objects-closed",
        "#/components/schemas/TaskUpdate",
    ),
    (
        "a secured operation without its 401",
        lambda d: d["paths"]["/api/v1/tasks/{task_id}"]["get"]["responses"].pop("401"),
        "taskapi/secured-operations-document-401",
        f"{TASK}/get/responses",
    ),
    (
        "an operationId that is not camelCase",
        lambda d: d["paths"]["/api/v1/tasks/{task_id}"]["delete"].update(operationId="delete_task"),
        "rule/operation-id-camel-case",
        f"{TASK}/delete/operationId",
    ),
    (
        "a property name that is not snake_case",
        lambda d: _schemas(d)["Health"]["properties"].update(checkedAt={"type": "string"}),
        "rule/property-names-snake-case",
        "#/components/schemas/Health/properties/checkedAt",
    ),
    (
        "a query parameter that is not snake_case",
        lambda d: query_parameter(d, "due_before").update(name="dueBefore"),
        "rule/query-parameters-snake-case",
        f"{TASKS}/get/parameters/{parameter_index('due_before')}/name",
    ),
    (
        "HTTP Basic authentication",
        lambda d: _security_schemes(d).update(Basic={"type": "http", "scheme": "basic"}),
        "rule/no-http-basic-auth",
        "#/components/securitySchemes/Basic/scheme",
    ),
    (
        "an API key in the query string",
        lambda d: _security_schemes(d).update(Key={"type": "apiKey", "in": "query", "name": "key"}),
        "rule/no-api-key-in-query",
        "#/components/securitySchemes/Key/in",
    ),
    (
        "an operation without a description",
        lambda d: d["paths"]["/api/v1/auth/register"]["post"].pop("description"),
        "operation-description",
        "#/paths/~1api~1v1~1auth~1register/post/description",
    ),
    (
        "a 201 without Location",
        lambda d: d["paths"]["/api/v1/tasks"]["post"]["responses"]["201"]["headers"].pop(
            "Location"
        ),
        "response-contains-header",
        f"{TASKS}/post/responses/201/headers",
    ),
    (
        "an error that is not a problem document",
        lambda d: d["paths"]["/api/v1/users/me"]["get"]["responses"].update(
            {
                "403": {
                    "description": "Forbidden.",
                    "content": {"application/problem+xml": {"schema": {"type": "string"}}},
                }
            }
        ),
        "operation-4xx-problem-details-rfc7807",
        "#/paths/~1api~1v1~1users~1me/get/responses/403",
    ),
]


@pytest.fixture(scope="module")
def mutant_problems(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    document: Document = copy.deepcopy(yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8")))
    for _, mutate, _, _ in MUTATIONS:
        mutate(document)
    path = tmp_path_factory.mktemp("lint") / "mutant.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    status, problems = lint(path)
    assert status != 0
    return problems


@pytest.mark.fr("009-contract-product/FR-004")
def test_the_contract_passes_the_lint() -> None:
    status, problems = lint(CONTRACT_PATH)

    assert [(p["ruleId"], p["location"][0]["pointer"]) for p in problems] == []
    assert status == 0


@pytest.mark.fr("009-contract-product/FR-005")
@pytest.mark.parametrize(
    ("rule", "pointer"),
    [pytest.param(rule, pointer, id=name) for name, _, rule, pointer in MUTATIONS],
)
def test_rule_reports_what_it_is_for(
    mutant_problems: list[dict[str, Any]], rule: str, pointer: str
) -> None:
    reported = {
        location["pointer"]
        for problem in mutant_problems
        if problem["ruleId"] == rule
        for location in problem["location"]
    }

    assert pointer in reported, f"{rule} reported {sorted(reported)}"
