"""The task tools over MCP: the SDK's own client, over real HTTP, against the production server
on loopback, with the same bearer tokens as the REST API."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import httpx2
import mcp_types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from taskapi.chat.tools import tool_definitions
from taskapi.core.errors import PROBLEM_TYPE_PREFIX
from tests.api_helpers import PROBLEM, TASKS
from tests.support_server import live_server

pytestmark = [pytest.mark.anyio, pytest.mark.fr("006-chat/FR-033", "006-chat/FR-034")]

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Account:
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def base_url(database_url: str) -> Iterator[str]:
    with live_server(database_url) as url:
        yield url


@pytest.fixture
async def http(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        yield client


async def sign_up(http: httpx.AsyncClient) -> Account:
    email = f"mcp-{uuid.uuid4().hex[:10]}@example.com"
    registered = await http.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    issued = await http.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert issued.status_code == 200, issued.text
    return Account(token=issued.json()["access_token"])


@asynccontextmanager
async def mcp_client(base_url: str, token: str) -> AsyncIterator[Client]:
    """The SDK's client over Streamable HTTP, sending the token on every request."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as transport_client,
        Client(streamable_http_client(f"{base_url}/mcp", http_client=transport_client)) as client,
    ):
        yield client


async def call(client: Client, name: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
    result = await client.call_tool(name, arguments)
    # The text content and the structured content are the same result.
    assert result.structured_content is not None
    text = result.content[0]
    assert isinstance(text, mcp_types.TextContent)
    assert json.loads(text.text) == result.structured_content
    assert result.is_error is (result.structured_content["ok"] is not True)
    return result


def refusal(result: mcp_types.CallToolResult, status: int, slug: str) -> dict[str, Any]:
    assert result.is_error is True
    assert result.structured_content is not None
    error: dict[str, Any] = result.structured_content["error"]
    assert (error["status"], error["type"]) == (status, PROBLEM_TYPE_PREFIX + slug)
    return error


async def test_lists_the_tools_with_the_chat_tools_schemas(
    base_url: str, http: httpx.AsyncClient
) -> None:
    account = await sign_up(http)
    async with mcp_client(base_url, account.token) as client:
        listed = await client.list_tools()
    served = {tool.name: tool for tool in listed.tools}
    assert list(served) == [d.name for d in tool_definitions()]
    for definition in tool_definitions():
        assert served[definition.name].input_schema == definition.parameters
        assert served[definition.name].description == definition.description
    assert served["list_tasks"].annotations is not None
    assert served["list_tasks"].annotations.read_only_hint is True


async def test_a_task_added_over_mcp_is_seen_over_rest(
    base_url: str, http: httpx.AsyncClient
) -> None:
    account = await sign_up(http)
    async with mcp_client(base_url, account.token) as client:
        added = await call(client, "add_task", {"title": "Renew passport", "priority": "high"})
        refused = await call(client, "add_task", {"title": "", "tags": ["a", "a"]})
    assert added.structured_content is not None
    task = added.structured_content["task"]
    error = refusal(refused, 422, "validation-failed")
    assert {tuple(issue["loc"]) for issue in error["errors"]} == {("title",)}

    over_rest = await http.get(TASKS, headers=account.headers)
    assert over_rest.status_code == 200
    assert over_rest.json()["items"] == [task]
    one = await http.get(f"{TASKS}/{task['id']}", headers=account.headers)
    assert one.headers["etag"] == added.structured_content["etag"]


async def test_one_users_token_reaches_no_other_users_task(
    base_url: str, http: httpx.AsyncClient
) -> None:
    owner, intruder = await sign_up(http), await sign_up(http)
    created = await http.post(
        TASKS, json={"title": "private", "tags": ["team-a"]}, headers=owner.headers
    )
    assert created.status_code == 201
    task_id, etag = created.json()["id"], created.headers["etag"]

    async with mcp_client(base_url, intruder.token) as client:
        for arguments in ({}, {"tag": "team-a"}, {"q": "private"}):
            listed = await call(client, "list_tasks", arguments)
            assert listed.structured_content == {"ok": True, "items": [], "next_cursor": None}
        for name, extra in (
            ("get_task", {}),
            ("update_task", {"title": "mine now"}),
            ("update_task", {"title": "mine now", "if_match": etag}),
            ("complete_task", {}),
            ("complete_task", {"if_match": etag}),
            ("delete_task", {}),
            ("delete_task", {"if_match": etag}),
        ):
            result = await call(client, name, {"task_id": task_id, **extra})
            refusal(result, 404, "task-not-found")
        added = await call(client, "add_task", {"title": "the intruder's own"})
        assert added.structured_content is not None

    unchanged = await http.get(f"{TASKS}/{task_id}", headers=owner.headers)
    assert unchanged.status_code == 200
    assert (unchanged.json(), unchanged.headers["etag"]) == (created.json(), etag)
    owners_list = await http.get(TASKS, headers=owner.headers)
    assert [t["id"] for t in owners_list.json()["items"]] == [task_id]


async def test_a_stale_etag_is_refused_and_changes_nothing(
    base_url: str, http: httpx.AsyncClient
) -> None:
    account = await sign_up(http)
    created = await http.post(TASKS, json={"title": "v1"}, headers=account.headers)
    task_id, stale = created.json()["id"], created.headers["etag"]
    await http.patch(f"{TASKS}/{task_id}", json={"title": "v2"}, headers=account.headers)
    async with mcp_client(base_url, account.token) as client:
        refused = await call(client, "delete_task", {"task_id": task_id, "if_match": stale})
    refusal(refused, 412, "precondition-failed")
    still_there = await http.get(f"{TASKS}/{task_id}", headers=account.headers)
    assert still_there.json()["title"] == "v2"


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "probe", "version": "0"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


class TestRefused:
    """Without a valid token of a live session, nothing reaches the MCP server."""

    async def assert_refused(
        self, http: httpx.AsyncClient, headers: dict[str, str], challenge: str
    ) -> None:
        response = await http.post("/mcp", json=INITIALIZE, headers={**MCP_HEADERS, **headers})
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["www-authenticate"] == challenge
        problem = response.json()
        assert problem["type"] == PROBLEM_TYPE_PREFIX + "unauthorized"
        assert problem["instance"] == "/mcp"
        assert problem["detail"]

    async def test_without_a_token(self, http: httpx.AsyncClient) -> None:
        await self.assert_refused(http, {}, "Bearer")

    async def test_with_an_invalid_token(self, http: httpx.AsyncClient) -> None:
        await self.assert_refused(
            http, {"Authorization": "Bearer not.a.token"}, 'Bearer error="invalid_token"'
        )

    async def test_with_the_token_of_an_ended_session(
        self, base_url: str, http: httpx.AsyncClient
    ) -> None:
        account = await sign_up(http)
        async with mcp_client(base_url, account.token) as client:
            assert (await call(client, "list_tasks", {})).is_error is False
            signed_out = await http.post("/api/v1/auth/logout", headers=account.headers)
            assert signed_out.status_code == 204
            # The SDK's client reports the HTTP 401 as a failed request (what the server sent
            # is asserted on the wire below).
            with pytest.raises(MCPError):
                await client.call_tool("list_tasks", {})
        await self.assert_refused(http, account.headers, 'Bearer error="invalid_token"')

    async def test_the_sdk_client_cannot_connect_without_a_valid_token(self, base_url: str) -> None:
        with pytest.raises(Exception):  # noqa: B017, PT011 - the SDK's error type
            async with mcp_client(base_url, "not.a.token") as client:
                await client.list_tools()

    async def test_with_a_token_the_server_answers(
        self, base_url: str, http: httpx.AsyncClient
    ) -> None:
        account = await sign_up(http)
        response = await http.post(
            "/mcp", json=INITIALIZE, headers={**MCP_HEADERS, **account.headers}
        )
        assert response.status_code == 200, response.text
        assert response.json()["result"]["serverInfo"]["name"] == "taskapi"
