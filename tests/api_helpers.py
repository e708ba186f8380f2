"""Helpers shared by the API tests: the problem-document assertion and small task factories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import jsonschema
import yaml

from tests.conftest import SignedInUser

PROBLEM = "application/problem+json"
TASKS = "/api/v1/tasks"
CONTRACT = Path(__file__).resolve().parents[1] / "openapi" / "openapi.yaml"


def _problem_validator() -> jsonschema.protocols.Validator:
    contract = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    schema = {"$ref": "#/components/schemas/Problem", "components": contract["components"]}
    return jsonschema.Draft202012Validator(schema)


PROBLEM_SCHEMA = _problem_validator()


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The one error shape: RFC 9457 members, the contract's schema, the request id twice."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    PROBLEM_SCHEMA.validate(body)
    assert {"type", "title", "status", "detail", "instance", "request_id"} <= set(body)
    assert body["status"] == status
    assert body["instance"] == response.request.url.path
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["detail"]
    return body


async def create_task(client: httpx.AsyncClient, user: SignedInUser, **body: Any) -> httpx.Response:
    """POST a task for `user` (title defaults to "A task"); fails the test unless it is 201."""
    response = await client.post(TASKS, json={"title": "A task", **body}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response
