"""Chat over HTTP (spec 006, FR-001..012): turns as JSON and as events, the turn lease, the
limits, provider failures, and browsing and deleting conversations, on both engines.

Turns run the real assistants with the real task tools: the builtin interpreter, or the
openai provider (the official SDK over real HTTP) against the scripted OpenAI-compatible
server on loopback (tests/support_openai.py), the one fake, of a model provider that lives
off the machine.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from taskapi.chat.tables import ConversationRow, MessageRow
from tests.conftest import AppClientFactory, SignedInUser, UserFactory, sql
from tests.support_openai import API_KEY, ScriptedCall, ScriptedProvider
from tests.support_sse import parse_events

pytestmark = pytest.mark.anyio
CHAT = "/api/v1/chat"
CONVERSATIONS = "/api/v1/conversations"
TASKS = "/api/v1/tasks"
STREAM = {"Accept": "text/event-stream"}


async def say(
    client: httpx.AsyncClient,
    user: SignedInUser,
    message: str,
    conversation_id: str | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    response = await client.post(CHAT, json=body, headers={**user.headers, **(headers or {})})
    assert response.status_code == status, response.text
    return response


async def messages_of(
    client: httpx.AsyncClient, user: SignedInUser, conversation_id: str
) -> list[dict[str, Any]]:
    response = await client.get(
        f"{CONVERSATIONS}/{conversation_id}/messages", params={"limit": 100}, headers=user.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def tasks_of(client: httpx.AsyncClient, user: SignedInUser) -> list[dict[str, Any]]:
    response = await client.get(TASKS, params={"limit": 100}, headers=user.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def count_rows(app: FastAPI) -> tuple[int, int]:
    conversations = await sql(app, select(func.count()).select_from(ConversationRow))
    messages = await sql(app, select(func.count()).select_from(MessageRow))
    return next(iter(conversations[0].values())), next(iter(messages[0].values()))


def openai_settings(provider: ScriptedProvider, **overrides: Any) -> dict[str, Any]:
    return {
        "chat_provider": "openai",
        "chat_openai_base_url": provider.base_url,
        "chat_openai_model": "scripted-model",
        "chat_openai_api_key": API_KEY,
        **overrides,
    }


@pytest.mark.fr("006-chat/FR-001")
class TestSendChatMessage:
    async def test_a_turn_without_an_id_starts_a_conversation_and_runs_the_tools(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        body = (await say(client, user, "add 'renew passport' for friday, high priority")).json()

        assert set(body) == {"conversation_id", "message_id", "reply", "tool_calls"}
        assert [call["name"] for call in body["tool_calls"]] == ["add_task"]
        assert body["tool_calls"][0]["arguments"]["title"] == "renew passport"
        assert body["tool_calls"][0]["result"]["ok"] is True
        assert "renew passport" in body["reply"]
        [task] = await tasks_of(client, user)
        assert task["title"] == "renew passport"
        assert task["priority"] == "high"
        assert datetime.fromisoformat(task["due_at"]).weekday() == 4  # a Friday

        listed = await client.get(CONVERSATIONS, headers=user.headers)
        [conversation] = listed.json()["items"]
        assert conversation["id"] == body["conversation_id"]
        assert conversation["title"] == "add 'renew passport' for friday, high priority"

    async def test_a_turn_with_an_id_continues_the_conversation(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        first = (await say(client, user, "add 'renew passport' for friday, high priority")).json()
        second = (await say(client, user, "list my tasks", first["conversation_id"])).json()

        assert second["conversation_id"] == first["conversation_id"]
        assert [call["name"] for call in second["tool_calls"]] == ["list_tasks"]
        assert "renew passport" in second["reply"]
        stored = await messages_of(client, user, first["conversation_id"])
        assert [(m["role"], m["content"]) for m in stored] == [
            ("user", "add 'renew passport' for friday, high priority"),
            ("assistant", first["reply"]),
            ("user", "list my tasks"),
            ("assistant", second["reply"]),
        ]
        assert [m["id"] for m in stored if m["role"] == "assistant"] == [
            first["message_id"],
            second["message_id"],
        ]
        assert stored[3]["tool_calls"] == second["tool_calls"]
        assert not any(m["interrupted"] for m in stored)

    async def test_an_unknown_conversation_is_404_and_stores_nothing(
        self, client: httpx.AsyncClient, user: SignedInUser, app: FastAPI
    ) -> None:
        missing = str(uuid.uuid4())
        response = await say(client, user, "list my tasks", missing, status=404)

        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:taskapi:problem:conversation-not-found"
        assert missing in response.json()["detail"]
        assert await count_rows(app) == (0, 0)

    async def test_without_a_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.post(CHAT, json={"message": "list my tasks"})
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.fr("006-chat/FR-002")
class TestStreaming:
    async def test_events_carry_the_tool_calls_the_deltas_and_the_stored_ids(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await say(
            client, user, "add 'renew passport' for friday, high priority", headers=STREAM
        )

        assert response.headers["content-type"].startswith("text/event-stream")
        events = parse_events(response.text)
        names = [event.name for event in events]
        assert names[0] == "tool_call"
        assert names[-1] == "done"
        assert "delta" in names
        assert events[0].data["name"] == "add_task"
        assert events[0].data["result"]["ok"] is True
        done = events[-1].data
        reply = "".join(event.data["text"] for event in events if event.name == "delta")
        stored = await messages_of(client, user, done["conversation_id"])
        assert stored[-1]["id"] == done["message_id"]
        assert stored[-1]["content"] == reply
        assert stored[-1]["tool_calls"] == [events[0].data]

    async def test_a_problem_before_the_turn_starts_is_a_plain_problem_response(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await say(
            client, user, "list my tasks", str(uuid.uuid4()), status=404, headers=STREAM
        )
        assert response.headers["content-type"] == "application/problem+json"

    async def test_a_provider_failure_after_the_stream_started_is_an_error_event(
        self,
        make_client: AppClientFactory,
        user: SignedInUser,
        openai_server: ScriptedProvider,
    ) -> None:
        openai_server.call_tools(ScriptedCall("add_task", {"title": "half a turn"}))
        openai_server.fail(500, "the model is down")
        async with make_client(**openai_settings(openai_server)) as (chat, app):
            response = await say(chat, user, "add half a turn", headers=STREAM)
            events = parse_events(response.text)

            assert [event.name for event in events] == ["tool_call", "error"]
            problem = events[-1].data
            assert problem["status"] == 502
            assert problem["type"] == "urn:taskapi:problem:chat-provider-failed"
            assert problem["request_id"] == response.headers["X-Request-ID"]
            assert await tasks_of(chat, user) == []
            assert await count_rows(app) == (0, 0)

    async def test_accept_with_zero_quality_for_events_gets_json(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        response = await say(
            client,
            user,
            "list my tasks",
            headers={"Accept": "text/event-stream;q=0, application/json"},
        )
        assert response.headers["content-type"] == "application/json"


@pytest.mark.fr("006-chat/FR-003")
class TestStatelessTurns:
    @pytest.mark.fr("006-chat/FR-006")
    async def test_two_app_instances_alternate_turns_with_a_coherent_history(
        self, make_client: AppClientFactory, user: SignedInUser
    ) -> None:
        """Instance two resolves "the second one" from the listing instance one made."""
        async with make_client() as (one, _), make_client() as (two, _):
            started = (await say(one, user, "add 'water the plants'")).json()
            conversation = started["conversation_id"]
            await say(two, user, "add 'call the bank'", conversation)
            listing = (await say(one, user, "list my tasks", conversation)).json()
            titles = [t["title"] for t in listing["tool_calls"][0]["result"]["items"]]
            second = titles[1]

            deleted = (await say(two, user, "delete the second one", conversation)).json()

            assert [call["name"] for call in deleted["tool_calls"]] == ["delete_task"]
            assert deleted["tool_calls"][0]["result"]["ok"] is True
            remaining = [task["title"] for task in await tasks_of(one, user)]
            assert remaining == [titles[0]]
            assert second not in remaining
            stored = await messages_of(two, user, conversation)
            assert [m["role"] for m in stored] == ["user", "assistant"] * 4
            assert [m["content"] for m in stored[::2]] == [
                "add 'water the plants'",
                "add 'call the bank'",
                "list my tasks",
                "delete the second one",
            ]

    async def test_the_history_a_turn_reads_is_bounded_by_count(
        self, make_client: AppClientFactory, user: SignedInUser, openai_server: ScriptedProvider
    ) -> None:
        for n in range(4):
            openai_server.reply(f"reply {n}")
        settings = openai_settings(openai_server, chat_history_messages=3)
        async with make_client(**settings) as (chat, _):
            conversation = (await say(chat, user, "message 0")).json()["conversation_id"]
            for n in (1, 2, 3):
                await say(chat, user, f"message {n}", conversation)

        sent = [m for m in openai_server.requests[-1].body["messages"] if m["role"] != "system"]
        assert [m["content"] for m in sent] == ["reply 1", "message 2", "reply 2", "message 3"]

    async def test_the_history_a_turn_reads_is_bounded_by_size(
        self, make_client: AppClientFactory, user: SignedInUser, openai_server: ScriptedProvider
    ) -> None:
        for text in ("x" * 100, "short", "ok"):
            openai_server.reply(text)
        settings = openai_settings(openai_server, chat_history_chars=113)
        async with make_client(**settings) as (chat, _):
            conversation = (await say(chat, user, "first")).json()["conversation_id"]
            await say(chat, user, "second", conversation)
            await say(chat, user, "third", conversation)

        sent = [m for m in openai_server.requests[-1].body["messages"] if m["role"] != "system"]
        # The newest messages that fit: 5 + 6 + 100 characters; "first" (5 more) does not.
        assert [m["content"] for m in sent] == ["x" * 100, "second", "short", "third"]

    async def test_the_assistant_gets_at_most_the_configured_steps(
        self, make_client: AppClientFactory, user: SignedInUser, openai_server: ScriptedProvider
    ) -> None:
        for n in range(4):
            openai_server.call_tools(ScriptedCall("list_tasks", {}, id=f"call_{n}"))
        openai_server.reply("done")
        async with make_client(**openai_settings(openai_server, chat_max_steps=2)) as (chat, _):
            body = (await say(chat, user, "keep listing")).json()

        assert len(body["tool_calls"]) <= 2
        assert len(openai_server.requests) <= 3


@pytest.mark.fr("006-chat/FR-004")
class TestProviderFailures:
    @pytest.mark.fr("006-chat/FR-022")
    async def test_a_provider_error_is_502_and_stores_nothing_of_the_turn(
        self,
        make_client: AppClientFactory,
        user: SignedInUser,
        openai_server: ScriptedProvider,
    ) -> None:
        openai_server.reply("hello")
        openai_server.call_tools(ScriptedCall("add_task", {"title": "orphan"}))
        openai_server.fail(500, "the model is down")
        openai_server.reply("fine again")
        async with make_client(**openai_settings(openai_server)) as (chat, app):
            conversation = (await say(chat, user, "hi")).json()["conversation_id"]

            failed = await say(chat, user, "add orphan", conversation, status=502)

            assert failed.headers["content-type"] == "application/problem+json"
            assert failed.json()["type"] == "urn:taskapi:problem:chat-provider-failed"
            assert await tasks_of(chat, user) == []
            assert len(await messages_of(chat, user, conversation)) == 2
            # The lease was given back: the next turn runs at once.
            await say(chat, user, "still there?", conversation)
            assert await count_rows(app) == (1, 4)

    @pytest.mark.fr("006-chat/FR-022")
    async def test_a_provider_timeout_is_504_and_a_new_conversation_is_not_kept(
        self,
        make_client: AppClientFactory,
        user: SignedInUser,
        openai_server: ScriptedProvider,
    ) -> None:
        openai_server.call_tools(ScriptedCall("add_task", {"title": "too slow"}))
        openai_server.answer_slowly(10)
        settings = openai_settings(openai_server, chat_provider_timeout_seconds=1)
        async with make_client(**settings) as (chat, app):
            failed = await say(chat, user, "add too slow", status=504)

            assert failed.json()["type"] == "urn:taskapi:problem:chat-provider-timeout"
            assert await tasks_of(chat, user) == []
            assert await count_rows(app) == (0, 0)


@pytest.mark.fr("006-chat/FR-006")
class TestTurnLease:
    async def test_a_turn_while_another_runs_on_another_instance_is_409(
        self, make_client: AppClientFactory, user: SignedInUser, openai_server: ScriptedProvider
    ) -> None:
        openai_server.reply("hello")
        openai_server.answer_slowly(3, text="slow reply")
        settings = openai_settings(openai_server)
        async with make_client(**settings) as (one, _), make_client(**settings) as (two, _):
            conversation = (await say(one, user, "hi")).json()["conversation_id"]
            slow = asyncio.create_task(say(one, user, "think hard", conversation))
            for _ in range(250):  # until the slow turn, holding the lease, asks the model
                if len(openai_server.requests) == 2:
                    break
                await asyncio.sleep(0.02)

            refused = await say(two, user, "me too", conversation, status=409)

            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"] == "urn:taskapi:problem:chat-turn-in-progress"
            assert (await slow).json()["reply"] == "slow reply"
            stored = await messages_of(two, user, conversation)
            assert [m["content"] for m in stored] == ["hi", "hello", "think hard", "slow reply"]

    async def test_a_lease_held_elsewhere_is_409_until_it_expires(
        self, client: httpx.AsyncClient, user: SignedInUser, app: FastAPI
    ) -> None:
        conversation = (await say(client, user, "list my tasks")).json()["conversation_id"]
        conversation_id = uuid.UUID(conversation)

        async def lease_until(expires_at: datetime) -> None:
            await sql(
                app,
                update(ConversationRow)
                .where(ConversationRow.id == conversation_id)  # type: ignore[arg-type]
                .values(lease_token=uuid.uuid4(), lease_expires_at=expires_at),
            )

        # Another instance is running a turn (or crashed while running one).
        await lease_until(datetime.now(UTC) + timedelta(minutes=1))
        await say(client, user, "list my tasks", conversation, status=409)
        assert len(await messages_of(client, user, conversation)) == 2

        await lease_until(datetime.now(UTC) - timedelta(seconds=1))
        await say(client, user, "list my tasks", conversation)
        assert len(await messages_of(client, user, conversation)) == 4


@pytest.mark.fr("006-chat/FR-007")
class TestIsolation:
    async def test_another_users_conversation_is_404_on_every_operation(
        self, client: httpx.AsyncClient, user: SignedInUser, make_user: UserFactory
    ) -> None:
        conversation = (await say(client, user, "add 'private plans'")).json()["conversation_id"]
        other = await make_user()

        turn = await say(client, other, "list my tasks", conversation, status=404)
        read = await client.get(f"{CONVERSATIONS}/{conversation}/messages", headers=other.headers)
        deleted = await client.delete(f"{CONVERSATIONS}/{conversation}", headers=other.headers)
        listed = await client.get(CONVERSATIONS, headers=other.headers)

        missing = await say(client, other, "list my tasks", str(uuid.uuid4()), status=404)
        assert turn.json()["title"] == missing.json()["title"]
        assert read.status_code == 404
        assert deleted.status_code == 404
        assert listed.json()["items"] == []
        assert len(await messages_of(client, user, conversation)) == 2

    async def test_a_turn_sees_and_changes_only_the_callers_tasks(
        self, client: httpx.AsyncClient, user: SignedInUser, make_user: UserFactory
    ) -> None:
        await say(client, user, "add 'private plans'")
        other = await make_user()

        listing = (await say(client, other, "list my tasks")).json()
        deleting = (await say(client, other, "delete 'private plans'")).json()

        assert listing["tool_calls"][0]["result"]["items"] == []
        assert all(call["name"] != "delete_task" for call in deleting["tool_calls"]) or all(
            call["result"]["ok"] is False for call in deleting["tool_calls"]
        )
        assert [t["title"] for t in await tasks_of(client, user)] == ["private plans"]


@pytest.mark.fr("006-chat/FR-008")
class TestBrowsing:
    async def test_conversations_page_most_recently_active_first(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        ids = [
            (await say(client, user, f"list my tasks {n}")).json()["conversation_id"] for n in "abc"
        ]
        await say(client, user, "list my tasks", ids[0])  # now the most recently active

        first = await client.get(CONVERSATIONS, params={"limit": 2}, headers=user.headers)
        cursor = first.json()["next_cursor"]
        second = await client.get(
            CONVERSATIONS, params={"limit": 2, "cursor": cursor}, headers=user.headers
        )

        assert [c["id"] for c in first.json()["items"]] == [ids[0], ids[2]]
        assert [c["id"] for c in second.json()["items"]] == [ids[1]]
        assert second.json()["next_cursor"] is None

    async def test_messages_page_oldest_first(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        conversation = (await say(client, user, "add 'a'")).json()["conversation_id"]
        await say(client, user, "add 'b'", conversation)
        url = f"{CONVERSATIONS}/{conversation}/messages"

        first = (await client.get(url, params={"limit": 3}, headers=user.headers)).json()
        second = await client.get(
            url, params={"limit": 3, "cursor": first["next_cursor"]}, headers=user.headers
        )

        everything = await messages_of(client, user, conversation)
        assert first["items"] + second.json()["items"] == everything
        assert [m["content"] for m in everything[::2]] == ["add 'a'", "add 'b'"]
        assert second.json()["next_cursor"] is None

    async def test_a_cursor_from_another_list_is_422_naming_cursor(
        self, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        one = (await say(client, user, "add 'a'")).json()["conversation_id"]
        await say(client, user, "add 'b'", one)
        two = (await say(client, user, "add 'c'")).json()["conversation_id"]
        page = await client.get(
            f"{CONVERSATIONS}/{one}/messages", params={"limit": 1}, headers=user.headers
        )
        cursor = page.json()["next_cursor"]

        for url in (f"{CONVERSATIONS}/{two}/messages", CONVERSATIONS):
            response = await client.get(url, params={"cursor": cursor}, headers=user.headers)
            assert response.status_code == 422, url
            assert response.json()["errors"][0]["loc"] == ["query", "cursor"]
        forged = await client.get(CONVERSATIONS, params={"cursor": "abc"}, headers=user.headers)
        assert forged.status_code == 422


@pytest.mark.fr("006-chat/FR-009")
class TestDeleteConversation:
    async def test_deleting_removes_the_conversation_and_its_messages_but_not_the_tasks(
        self, client: httpx.AsyncClient, user: SignedInUser, app: FastAPI
    ) -> None:
        conversation = (await say(client, user, "add 'keep me'")).json()["conversation_id"]

        deleted = await client.delete(f"{CONVERSATIONS}/{conversation}", headers=user.headers)

        assert deleted.status_code == 204
        assert deleted.content == b""
        gone = await client.get(f"{CONVERSATIONS}/{conversation}/messages", headers=user.headers)
        assert gone.status_code == 404
        assert await count_rows(app) == (0, 0)
        assert [t["title"] for t in await tasks_of(client, user)] == ["keep me"]
        again = await client.delete(f"{CONVERSATIONS}/{conversation}", headers=user.headers)
        assert again.status_code == 404


@pytest.mark.fr("006-chat/FR-010")
class TestMessageLimits:
    @pytest.mark.parametrize("message", ["", "   \n\t", "x" * 4001])
    async def test_an_empty_blank_or_too_long_message_is_422_naming_message(
        self, client: httpx.AsyncClient, user: SignedInUser, app: FastAPI, message: str
    ) -> None:
        response = await say(client, user, message, status=422)
        assert response.json()["errors"][0]["loc"] == ["body", "message"]
        assert await count_rows(app) == (0, 0)

    async def test_the_configured_limit_can_be_lower_than_the_contracts(
        self, make_client: AppClientFactory, user: SignedInUser
    ) -> None:
        async with make_client(chat_message_max_chars=20) as (chat, app):
            await say(chat, user, "x" * 20)
            response = await say(chat, user, "x" * 21, status=422)

            assert response.json()["errors"] == [
                {
                    "loc": ["body", "message"],
                    "message": "This server accepts messages of at most 20 characters",
                    "type": "string_too_long",
                }
            ]
            assert await count_rows(app) == (1, 2)

    async def test_a_body_past_the_limit_is_413(
        self, make_client: AppClientFactory, user: SignedInUser
    ) -> None:
        async with make_client(max_body_bytes=1024) as (chat, _):
            response = await say(chat, user, "x" * 2000, status=413)
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.fr("006-chat/FR-011")
class TestChatBudget:
    async def test_turns_spend_their_own_lower_budget(
        self, make_client: AppClientFactory, user: SignedInUser
    ) -> None:
        async with make_client(rate_limit_chat="2/minute") as (chat, _):
            first = await say(chat, user, "list my tasks")
            await say(chat, user, "list my tasks")
            refused = await say(chat, user, "list my tasks", status=429)
            browsing = await chat.get(CONVERSATIONS, headers=user.headers)

        assert '"chat";q=2;w=60' in first.headers["RateLimit-Policy"]
        assert '"chat";r=1;' in first.headers["RateLimit"]
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["Retry-After"]) >= 1
        assert "chat budget" in refused.json()["detail"]
        assert browsing.status_code == 200  # other operations spend only the API-wide budget


@pytest.mark.fr("006-chat/FR-012")
class TestBoundedToolResults:
    async def test_a_long_tool_result_is_cut_and_says_so_in_the_reply_and_the_history(
        self, make_client: AppClientFactory, user: SignedInUser
    ) -> None:
        async with make_client(chat_tool_result_max_chars=600) as (chat, _):
            for n in range(8):
                created = await chat.post(
                    TASKS,
                    json={"title": f"task {n}", "description": "d" * 300},
                    headers=user.headers,
                )
                assert created.status_code == 201
            body = (await say(chat, user, "list my tasks")).json()
            stored = await messages_of(chat, user, body["conversation_id"])

        result = body["tool_calls"][0]["result"]
        assert result["truncated"] is True
        assert "Cut from" in result["truncation"]
        assert len(httpx.Response(200, json=result).content) <= 600
        assert stored[-1]["tool_calls"][0]["result"] == result
