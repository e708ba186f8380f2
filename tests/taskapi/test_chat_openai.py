"""The openai assistant through the real SDK, over real HTTP, with the real task tools.

The model provider is the one part that lives off the machine, so it is a scripted
OpenAI-compatible server on loopback (tests/support_openai.py); everything between the
assistant and that server (the `openai` SDK, its HTTP client, SSE parsing) runs for real.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from taskapi.chat.builtin import BuiltinAssistant
from taskapi.chat.errors import ProviderFailed, ProviderTimedOut
from taskapi.chat.openai_provider import OpenAIAssistant
from taskapi.chat.protocol import Assistant, HistoryMessage, TextDelta, ToolCall
from taskapi.chat.providers import build_assistant, close_assistant
from taskapi.chat.tools import tool_definitions
from tests.conftest import SignedInUser, TaskFactory, make_settings
from tests.support_chat import Conversation
from tests.support_openai import API_KEY, ScriptedCall, ScriptedProvider
from tests.support_server import free_port

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
MODEL = "scripted-model"
NO_DATABASE = "sqlite+aiosqlite:///:memory:"  # settings only: nothing connects
OpenAIFactory = Callable[..., Assistant]


@pytest.fixture
async def openai_assistant(
    database_url: str, openai_server: ScriptedProvider
) -> AsyncIterator[OpenAIFactory]:
    """Build the openai assistant from settings pointing at the scripted server."""
    built: list[Assistant] = []

    def factory(**overrides: Any) -> Assistant:
        settings = make_settings(
            database_url,
            chat_provider="openai",
            chat_openai_base_url=openai_server.base_url,
            chat_openai_model=MODEL,
            chat_openai_api_key=API_KEY,
            **overrides,
        )
        assistant = build_assistant(settings, clock=lambda: NOW)
        built.append(assistant)
        return assistant

    yield factory
    for assistant in built:
        await close_assistant(assistant)


async def titles(client: httpx.AsyncClient, user: SignedInUser) -> list[str]:
    listed = await client.get("/api/v1/tasks", headers=user.headers)
    return [task["title"] for task in listed.json()["items"]]


@pytest.mark.fr("006-chat/FR-021")
class TestToolCalling:
    async def test_a_plain_reply_and_what_the_sdk_sent(
        self,
        app: FastAPI,
        user: SignedInUser,
        openai_server: ScriptedProvider,
        openai_assistant: OpenAIFactory,
    ) -> None:
        openai_server.reply("Nothing to do.")
        conversation = Conversation(app, user, openai_assistant(chat_openai_stream=False))
        turn = await conversation.say("hello")

        assert turn.reply == "Nothing to do."
        assert turn.tool_calls == ()
        (request,) = openai_server.requests
        assert request.path == "/v1/chat/completions"
        assert request.headers["authorization"] == f"Bearer {API_KEY}"
        body = request.body
        assert body["model"] == MODEL
        assert "stream" not in body
        assert body["tool_choice"] == "auto"
        assert [t["function"]["name"] for t in body["tools"]] == [
            d.name for d in tool_definitions()
        ]
        assert body["tools"][0]["function"]["parameters"] == tool_definitions()[0].parameters
        system, said = body["messages"]
        assert system["role"] == "system"
        assert "2026-11-25" in system["content"]
        assert said == {"role": "user", "content": "hello"}

    async def test_a_tool_call_round_trip(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: SignedInUser,
        openai_server: ScriptedProvider,
        openai_assistant: OpenAIFactory,
    ) -> None:
        arguments = {
            "title": "renew passport",
            "priority": "high",
            "due_at": "2026-11-27T00:00:00Z",
        }
        openai_server.call_tools(ScriptedCall("add_task", arguments, id="call_add"))
        openai_server.reply("Added “renew passport” for Friday.")
        conversation = Conversation(app, user, openai_assistant(chat_openai_stream=False))
        turn = await conversation.say("add 'renew passport' for Friday, high priority")

        (call,) = turn.tool_calls
        assert call.name == "add_task"
        assert call.arguments == arguments
        assert call.result["ok"] is True
        assert turn.reply == "Added “renew passport” for Friday."
        assert [type(e) for e in turn.events] == [ToolCall, TextDelta]
        assert await titles(client, user) == ["renew passport"]
        # The second request carries the model's tool call and the tool's result.
        _, second = openai_server.requests
        *_, asked, answered = second.body["messages"]
        assert asked["role"] == "assistant"
        assert asked["tool_calls"] == [
            {
                "id": "call_add",
                "type": "function",
                "function": {"name": "add_task", "arguments": json.dumps(arguments)},
            }
        ]
        assert answered["role"] == "tool"
        assert answered["tool_call_id"] == "call_add"
        assert json.loads(answered["content"]) == call.result

    async def test_a_streamed_tool_call_and_a_streamed_reply(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: SignedInUser,
        openai_server: ScriptedProvider,
        openai_assistant: OpenAIFactory,
        make_task: TaskFactory,
    ) -> None:
        await make_task(user, title="buy milk")
        openai_server.call_tools(
            ScriptedCall("list_tasks", {"q": "milk"}),
            ScriptedCall("add_task", {"title": "buy bread", "tags": ["home"]}),
        )
        openai_server.reply("You have milk on the list; I added bread.")
        conversation = Conversation(app, user, openai_assistant())  # streams by default
        turn = await conversation.say("is milk on my list? add bread too")

        listed, added = turn.tool_calls
        assert listed.arguments == {"q": "milk"}
        assert [t["title"] for t in listed.result["items"]] == ["buy milk"]
        assert added.arguments == {"title": "buy bread", "tags": ["home"]}
        assert added.result["ok"] is True
        assert len(turn.deltas) > 5  # the reply arrived in pieces, in order
        assert turn.reply == "You have milk on the list; I added bread."
        assert sorted(await titles(client, user)) == ["buy bread", "buy milk"]
        assert all(request.body["stream"] is True for request in openai_server.requests)
        assert [m["role"] for m in openai_server.requests[1].body["messages"][-3:]] == [
            "assistant",
            "tool",
            "tool",
        ]

    async def test_the_history_is_sent_with_its_tool_calls(
        self,
        app: FastAPI,
        user: SignedInUser,
        openai_server: ScriptedProvider,
        openai_assistant: OpenAIFactory,
    ) -> None:
        earlier = ToolCall("list_tasks", {"status": "todo"}, {"ok": True, "items": []})
        history = [
            HistoryMessage(role="user", content="what is open?"),
            HistoryMessage(role="assistant", content="Nothing is open.", tool_calls=(earlier,)),
        ]
        openai_server.reply("Still nothing.")
        conversation = Conversation(app, user, openai_assistant(), history=history)
        await conversation.say("and now?")

        (request,) = openai_server.requests
        _, *past, now = request.body["messages"]
        assert past == [
            {"role": "user", "content": "what is open?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "history_1_0",
                        "type": "function",
                        "function": {"name": "list_tasks", "arguments": '{"status": "todo"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "history_1_0", "content": '{"ok":true,"items":[]}'},
            {"role": "assistant", "content": "Nothing is open."},
        ]
        assert now == {"role": "user", "content": "and now?"}

    @pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
    async def test_malformed_arguments_go_back_to_the_model_as_a_tool_error(
        self,
        stream: bool,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: SignedInUser,
        openai_server: ScriptedProvider,
        openai_assistant: OpenAIFactory,
    ) -> None:
        openai_server.call_tools(ScriptedCall("add_task", '{"title": "unfinished'))
        openai_server.call_tools(ScriptedCall("add_task", "[1, 2]"))
        openai_server.call_tools(ScriptedCall("add_task", {"title": "fixed"}))
        openai_server.reply("Added it at the third attempt.")
        conversation = Conversation(app, user, openai_assistant(chat_openai_stream=stream))
        turn = await conversation.say("add something")

        broken, not_an_object, fixed = turn.tool_calls
        for call in (broken, not_an_object):
            assert call.result["ok"] is False
            assert call.result["error"]["type"] == "invalid-arguments"
        assert "Invalid JSON" in broken.result["error"]["detail"]
        assert broken.arguments == {"unparsed": '{"title": "unfinished'}
        assert "Not an object" in not_an_object.result["error"]["detail"]
        assert fixed.result["ok"] is True
        assert await titles(client, user) == ["fixed"]
        told = json.loads(openai_server.requests[1].body["messages"][-1]["content"])
        assert told == broken.result

    async def test_an_unknown_tool_is_answered_with_a_structured_error(
        self,
        app: FastAPI,
        user: SignedInUser,
        openai_server: ScriptedProvider,
        openai_assistant: OpenAIFactory,
    ) -> None:
        openai_server.call_tools(ScriptedCall("drop_database", {}))
        openai_server.reply("I cannot do that.")
        turn = await Conversation(app, user, openai_assistant()).say("drop everything")
        (call,) = turn.tool_calls
        assert call.result["ok"] is False
        assert json.loads(openai_server.requests[1].body["messages"][-1]["content"]) == call.result

    async def test_at_most_max_steps_rounds_of_tools_then_a_reply_without_tools(
        self,
        app: FastAPI,
        user: SignedInUser,
        openai_server: ScriptedProvider,
        openai_assistant: OpenAIFactory,
    ) -> None:
        for _ in range(4):  # a model that never stops calling tools
            openai_server.call_tools(ScriptedCall("list_tasks", {}))
        conversation = Conversation(app, user, openai_assistant(), max_steps=2)
        turn = await conversation.say("loop forever")

        assert [call.name for call in turn.tool_calls] == ["list_tasks", "list_tasks"]
        assert len(openai_server.requests) == 3
        assert [r.body["tool_choice"] for r in openai_server.requests] == ["auto", "auto", "none"]
        assert turn.reply == "I stopped after 2 rounds of tool calls."
        assert openai_server.unanswered == 1

    async def test_the_reply_of_the_last_round_is_kept(
        self,
        app: FastAPI,
        user: SignedInUser,
        openai_server: ScriptedProvider,
        openai_assistant: OpenAIFactory,
    ) -> None:
        openai_server.call_tools(ScriptedCall("list_tasks", {}))
        openai_server.reply("Your list is empty.")
        turn = await Conversation(app, user, openai_assistant(), max_steps=1).say("list")
        assert [r.body["tool_choice"] for r in openai_server.requests] == ["auto", "none"]
        assert turn.reply == "Your list is empty."


@pytest.mark.fr("006-chat/FR-022")
class TestProviderProblems:
    @pytest.mark.parametrize("status", [400, 401, 429, 500, 503])
    async def test_an_error_status_is_provider_failed_and_the_turn_keeps_nothing(
        self,
        status: int,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: SignedInUser,
        openai_server: ScriptedProvider,
        openai_assistant: OpenAIFactory,
    ) -> None:
        openai_server.call_tools(ScriptedCall("add_task", {"title": "half a turn"}))
        openai_server.fail(status, "the model is having a bad day")
        conversation = Conversation(app, user, openai_assistant())
        with pytest.raises(ProviderFailed) as failed:
            await conversation.say("add half a turn")
        assert failed.value.status == 502
        assert failed.value.detail == (
            f"The model provider answered {status}: the model is having a bad day"
        )
        assert await titles(client, user) == []  # the tool's write was rolled back
        assert len(openai_server.requests) == 2  # no retries

    @pytest.mark.parametrize(
        ("stream", "complaint"),
        [(False, "answer was unusable"), (True, "stream ended without a chunk")],
        ids=["json", "streamed"],
    )
    async def test_a_body_that_is_not_a_completion_is_provider_failed(
        self,
        stream: bool,
        complaint: str,
        app: FastAPI,
        user: SignedInUser,
        openai_server: ScriptedProvider,
        openai_assistant: OpenAIFactory,
    ) -> None:
        openai_server.answer_garbage()
        assistant = openai_assistant(chat_openai_stream=stream)
        with pytest.raises(ProviderFailed, match=complaint):
            await Conversation(app, user, assistant).say("hi")

    async def test_an_unreachable_provider_is_provider_failed(
        self, app: FastAPI, user: SignedInUser, database_url: str
    ) -> None:
        settings = make_settings(
            database_url,
            chat_provider="openai",
            chat_openai_base_url=f"http://127.0.0.1:{free_port()}/v1",
            chat_openai_model=MODEL,
            chat_openai_api_key=API_KEY,
        )
        assistant = build_assistant(settings)
        try:
            with pytest.raises(ProviderFailed, match="could not be reached"):
                await Conversation(app, user, assistant).say("hi")
        finally:
            await close_assistant(assistant)

    @pytest.mark.parametrize("stream", [False, True], ids=["json", "streamed"])
    async def test_a_slow_answer_is_provider_timed_out(
        self,
        stream: bool,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: SignedInUser,
        openai_server: ScriptedProvider,
        openai_assistant: OpenAIFactory,
    ) -> None:
        openai_server.call_tools(ScriptedCall("add_task", {"title": "half a turn"}))
        openai_server.answer_slowly(30)
        assistant = openai_assistant(chat_openai_stream=stream, chat_provider_timeout_seconds=0.5)
        started = time.monotonic()
        with pytest.raises(ProviderTimedOut) as timed_out:
            await Conversation(app, user, assistant).say("add half a turn")
        assert time.monotonic() - started < 5
        assert timed_out.value.status == 504
        assert timed_out.value.detail == "The model provider did not answer within 0.5 seconds."
        assert await titles(client, user) == []

    async def test_a_stream_that_stalls_is_provider_timed_out(
        self,
        app: FastAPI,
        user: SignedInUser,
        openai_server: ScriptedProvider,
        openai_assistant: OpenAIFactory,
    ) -> None:
        # Two pieces of text arrive, then nothing: the timeout bounds the whole answer.
        openai_server.stall_stream("This answer never ends", after_chunks=3)
        assistant = openai_assistant(chat_provider_timeout_seconds=0.5)
        started = time.monotonic()
        with pytest.raises(ProviderTimedOut):
            await Conversation(app, user, assistant).say("hi")
        assert time.monotonic() - started < 5


@pytest.mark.fr("006-chat/FR-020", "006-chat/FR-021")
class TestSettings:
    def test_the_default_is_the_builtin_interpreter(self) -> None:
        assistant = build_assistant(make_settings(NO_DATABASE))
        assert isinstance(assistant, BuiltinAssistant)

    def test_openai_builds_the_sdk_client_from_settings(self) -> None:
        settings = make_settings(
            NO_DATABASE,
            chat_provider="openai",
            chat_openai_model=MODEL,
            chat_openai_api_key=API_KEY,
        )
        assert isinstance(build_assistant(settings), OpenAIAssistant)

    @pytest.mark.parametrize(
        ("overrides", "named"),
        [
            ({"chat_openai_api_key": API_KEY}, "TASKAPI_CHAT_OPENAI_MODEL"),
            ({"chat_openai_model": MODEL}, "TASKAPI_CHAT_OPENAI_API_KEY"),
            (
                {"chat_openai_model": MODEL, "chat_openai_api_key": ""},
                "TASKAPI_CHAT_OPENAI_API_KEY",
            ),
        ],
    )
    def test_openai_without_a_model_or_key_refuses_to_start(
        self, overrides: dict[str, Any], named: str
    ) -> None:
        with pytest.raises(ValidationError, match=named):
            make_settings(NO_DATABASE, chat_provider="openai", **overrides)

    def test_a_base_url_must_be_http(self) -> None:
        with pytest.raises(ValidationError, match="http"):
            make_settings(NO_DATABASE, chat_openai_base_url="ftp://example.com/v1")
