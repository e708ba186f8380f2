"""A streamed chat turn whose client goes away (spec 006, FR-005), over real HTTP.

The production server runs the app on loopback (ASGITransport would read the whole stream
before the test saw any of it), with the openai provider pointed at the scripted
OpenAI-compatible server: the model asks for a tool, then stalls in the middle of its
streamed reply, and the client hangs up after the first text delta.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import TEST_JWT_SECRET, SignedInUser
from tests.support_openai import API_KEY, ScriptedCall, ScriptedProvider
from tests.support_server import live_server, server_environment
from tests.support_sse import Event, iter_events

pytestmark = [pytest.mark.anyio, pytest.mark.fr("006-chat/FR-005", "006-chat/FR-002")]
CHAT = "/api/v1/chat"


@pytest.fixture
def server(database_url: str, openai_server: ScriptedProvider) -> Iterator[str]:
    environment = server_environment(
        database_url,
        TASKAPI_JWT_SECRET=TEST_JWT_SECRET,  # the test's users sign in through the ASGI app
        TASKAPI_CHAT_PROVIDER="openai",
        TASKAPI_CHAT_OPENAI_BASE_URL=openai_server.base_url,
        TASKAPI_CHAT_OPENAI_MODEL="scripted-model",
        TASKAPI_CHAT_OPENAI_API_KEY=API_KEY,
        TASKAPI_CHAT_OPENAI_STREAM="true",
    )
    with live_server(database_url, environment) as base_url:
        yield base_url


async def messages_of(
    http: httpx.AsyncClient, user: SignedInUser, conversation_id: str
) -> list[dict[str, Any]]:
    response = await http.get(
        f"/api/v1/conversations/{conversation_id}/messages", headers=user.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_client_that_hangs_up_mid_stream_leaves_a_consistent_conversation(
    server: str, openai_server: ScriptedProvider, user: SignedInUser
) -> None:
    openai_server.reply("Hello there.")
    openai_server.call_tools(ScriptedCall("add_task", {"title": "survive the hang-up"}))
    openai_server.stall_stream("Added it. And now a long answer that never ends", after_chunks=2)
    openai_server.reply("Still here.")

    async with httpx.AsyncClient(base_url=server, timeout=30) as http:
        started = await http.post(CHAT, json={"message": "hi"}, headers=user.headers)
        assert started.status_code == 200, started.text
        conversation = started.json()["conversation_id"]

        seen: list[Event] = []
        body = {"conversation_id": conversation, "message": "add 'survive the hang-up'"}
        headers = {**user.headers, "Accept": "text/event-stream"}
        async with http.stream("POST", CHAT, json=body, headers=headers) as response:
            assert response.status_code == 200
            async for event in iter_events(response.aiter_lines()):
                seen.append(event)
                if event.name == "delta":
                    break  # hang up in the middle of the reply
        assert [event.name for event in seen] == ["tool_call", "delta"]

        stored: list[dict[str, Any]] = []
        for _ in range(200):  # the server notices the hang-up, then commits what finished
            stored = await messages_of(http, user, conversation)
            if len(stored) == 4:
                break
            await asyncio.sleep(0.05)

        assert [(m["role"], m["content"], m["interrupted"]) for m in stored] == [
            ("user", "hi", False),
            ("assistant", "Hello there.", False),
            ("user", "add 'survive the hang-up'", False),
            ("assistant", "", True),  # the tool call that finished, and no half-written reply
        ]
        assert stored[3]["tool_calls"] == [seen[0].data]
        tasks = await http.get("/api/v1/tasks", headers=user.headers)
        assert [task["title"] for task in tasks.json()["items"]] == ["survive the hang-up"]

        # The lease was given back with the commit: the conversation takes the next turn.
        after = await http.post(
            CHAT,
            json={"conversation_id": conversation, "message": "still there?"},
            headers=user.headers,
        )
        assert after.status_code == 200, after.text
        assert after.json()["reply"] == "Still here."
