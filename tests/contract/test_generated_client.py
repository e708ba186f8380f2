"""A client generated from the contract by openapi-python-client works, end to end.

The client is generated into a temporary directory from `openapi/openapi.yaml` and imported
from there. The scenario talks to a live uvicorn on loopback, on SQLite and on PostgreSQL, only
through the generated functions and models: no request is written by hand.

The generator is installed by `make client-generator` (part of `make test`) into its own
virtualenv inside the one running these tests, so its pins never constrain the project's.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.contract.conftest import CONTRACT_PATH
from tests.support_ci import tool_unavailable
from tests.support_server import live_server

GENERATOR = Path(sys.prefix) / "tools" / "openapi-python-client" / "bin" / "openapi-python-client"
PACKAGE = "taskapi_client"
PASSWORD = "correct horse battery"

pytestmark = pytest.mark.anyio


class GeneratedClient:
    """The generated package's modules, by the names the scenario uses."""

    def __init__(self) -> None:
        def load(name: str) -> ModuleType:
            return importlib.import_module(f"{PACKAGE}.{name}")

        self.client = load("client")
        self.models = load("models")
        self.types = load("types")
        self.register_user = load("api.auth.register_user")
        self.issue_token = load("api.auth.issue_token")
        self.get_current_user = load("api.users.get_current_user")
        self.create_task = load("api.tasks.create_task")
        self.list_tasks = load("api.tasks.list_tasks")
        self.get_task = load("api.tasks.get_task")
        self.update_task = load("api.tasks.update_task")
        self.delete_task = load("api.tasks.delete_task")


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GeneratedClient]:
    if not os.access(GENERATOR, os.X_OK):
        tool_unavailable(f"openapi-python-client is not installed at {GENERATOR}: `make test`")
    root = tmp_path_factory.mktemp("generated-client")
    config = root / "config.yaml"
    config.write_text(
        f"project_name_override: taskapi-client\npackage_name_override: {PACKAGE}\n"
        "post_hooks: []\n",
        encoding="utf-8",
    )
    output = root / "taskapi-client"
    command = [str(GENERATOR), "generate", "--path", str(CONTRACT_PATH), "--config", str(config)]
    result = subprocess.run(
        [*command, "--output-path", str(output), "--fail-on-warning"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(output))
    try:
        yield GeneratedClient()
    finally:
        sys.path.remove(str(output))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


@pytest.fixture
def base_url(database_url: str) -> Iterator[str]:
    with live_server(database_url) as url:
        yield url


def assert_problem(response: Any, gen: GeneratedClient, status: int, kind: str) -> None:
    """A typed problem: parsed into the generated Problem model, with the contract's members."""
    assert response.status_code == HTTPStatus(status), response.content
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.parsed
    assert isinstance(problem, gen.models.Problem)
    assert problem.status == status
    assert problem.type_ == f"urn:taskapi:problem:{kind}"
    assert problem.detail
    assert problem.request_id == response.headers["x-request-id"]


@pytest.mark.fr(
    "009-contract-product/FR-001",
    "009-contract-product/FR-002",
    "009-contract-product/FR-003",
)
async def test_the_whole_scenario_through_the_generated_client(
    generated: GeneratedClient, base_url: str
) -> None:
    gen, models = generated, generated.models
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    anonymous = gen.client.Client(base_url=base_url, raise_on_unexpected_status=True)

    # Register: the request model has no id or created_at; the response model no password.
    registered = await gen.register_user.asyncio_detailed(
        client=anonymous,
        body=models.UserCreate(email=email, password=PASSWORD, full_name="Ada Lovelace"),
    )
    assert registered.status_code == HTTPStatus.CREATED, registered.content
    user = registered.parsed
    assert isinstance(user, models.User)
    assert user.email == email
    assert not hasattr(user, "password")
    assert isinstance(user.id, uuid.UUID)

    # Token, through the OAuth2 password form.
    issued = await gen.issue_token.asyncio_detailed(
        client=anonymous,
        body=models.TokenRequest(
            username=email, password=PASSWORD, grant_type=models.TokenRequestGrantType.PASSWORD
        ),
    )
    assert issued.status_code == HTTPStatus.OK, issued.content
    assert isinstance(issued.parsed, models.Token)
    signed_in = gen.client.AuthenticatedClient(
        base_url=base_url, token=issued.parsed.access_token, raise_on_unexpected_status=True
    )

    me = await gen.get_current_user.asyncio(client=signed_in)
    assert isinstance(me, models.User)
    assert (me.id, me.email, me.full_name) == (user.id, email, "Ada Lovelace")

    # Three tasks, each with its ETag.
    etags: dict[uuid.UUID, str] = {}
    for title, priority in [("Write", "high"), ("Review", "medium"), ("Ship", "low")]:
        created = await gen.create_task.asyncio_detailed(
            client=signed_in,
            body=models.TaskCreate(
                title=title, priority=models.TaskPriority(priority), tags=["release"]
            ),
        )
        assert created.status_code == HTTPStatus.CREATED, created.content
        assert isinstance(created.parsed, models.Task)
        etags[created.parsed.id] = created.headers["etag"]

    # Page through them two at a time with the cursor.
    first = await gen.list_tasks.asyncio(client=signed_in, limit=2, tag="release")
    assert isinstance(first, models.TaskPage)
    assert len(first.items) == 2
    assert isinstance(first.next_cursor, str)
    second = await gen.list_tasks.asyncio(
        client=signed_in, limit=2, tag="release", cursor=first.next_cursor
    )
    assert isinstance(second, models.TaskPage)
    assert len(second.items) == 1
    assert second.next_cursor is None
    assert {task.id for task in first.items + second.items} == set(etags)

    # PATCH with If-Match from the ETag.
    task_id, etag = next(iter(etags.items()))
    updated = await gen.update_task.asyncio_detailed(
        task_id,
        client=signed_in,
        body=models.TaskUpdate(status=models.TaskStatus.DONE),
        if_match=etag,
    )
    assert updated.status_code == HTTPStatus.OK, updated.content
    assert isinstance(updated.parsed, models.Task)
    assert updated.parsed.status == models.TaskStatus.DONE
    assert updated.headers["etag"] != etag

    # The old ETag is stale now: a typed 412 problem, and nothing changed.
    stale = await gen.update_task.asyncio_detailed(
        task_id, client=signed_in, body=models.TaskUpdate(title="Too late"), if_match=etag
    )
    assert_problem(stale, gen, 412, "precondition-failed")
    unchanged = await gen.get_task.asyncio(task_id, client=signed_in)
    assert isinstance(unchanged, models.Task)
    assert unchanged.title == "Write"

    # Delete with the current ETag; then the task is a 404 problem.
    deleted = await gen.delete_task.asyncio_detailed(
        task_id, client=signed_in, if_match=updated.headers["etag"]
    )
    assert deleted.status_code == HTTPStatus.NO_CONTENT, deleted.content
    gone = await gen.get_task.asyncio_detailed(task_id, client=signed_in)
    assert_problem(gone, gen, 404, "task-not-found")


@pytest.mark.fr("009-contract-product/FR-001", "009-contract-product/FR-003")
async def test_a_duplicate_registration_is_a_typed_409(
    generated: GeneratedClient, base_url: str
) -> None:
    gen, models = generated, generated.models
    anonymous = gen.client.Client(base_url=base_url, raise_on_unexpected_status=True)
    body = models.UserCreate(email="grace@example.com", password=PASSWORD)

    first = await gen.register_user.asyncio_detailed(client=anonymous, body=body)
    again = await gen.register_user.asyncio_detailed(client=anonymous, body=body)

    assert first.status_code == HTTPStatus.CREATED
    assert isinstance(first.parsed, models.User)
    assert first.parsed.full_name is None
    assert_problem(again, gen, 409, "email-already-registered")
