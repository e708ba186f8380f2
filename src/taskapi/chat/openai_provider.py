"""The openai assistant: chat-completions tool calling through the official `openai` SDK.

It works with OpenAI and with any OpenAI-compatible server (Ollama, vLLM, llama.cpp server):
the tool definitions come from the `ToolBox`, the conversation's history is mapped to chat
messages, and the model may call tools for at most `max_steps` rounds; one more request then
asks it for the reply with tools switched off. Each model request must finish within the
configured timeout (streamed or not), else the turn fails with `ProviderTimedOut` (504); any
other failure of the provider, or an answer that is not a turn, is `ProviderFailed` (502).
Arguments a model sends that are not a JSON object go back to it as a structured tool
error, so it can correct itself; they never fail the turn.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import httpx2
import openai
from openai import AsyncOpenAI
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionChunk,
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageFunctionToolCallParam,
    ChatCompletionMessageParam,
    ChatCompletionToolMessageParam,
)

from taskapi.chat.errors import ProviderFailed, ProviderTimedOut
from taskapi.chat.protocol import (
    AssistantEvent,
    HistoryMessage,
    JsonObject,
    TextDelta,
    ToolBox,
    ToolCall,
    ToolDefinition,
)

Clock = Callable[[], datetime]
# How much of a provider's error body or of unreadable tool arguments is quoted back.
QUOTE_CHARS = 300

SYSTEM_PROMPT = (
    "You manage the user's task list with the tools you are given; you act as the user. "
    "Call a tool whenever the user asks to add, find, change, complete or delete tasks; "
    "never claim a change you did not make with a tool. Due dates are ISO 8601 date-times "
    "in UTC. Today is {today} (UTC). Answer briefly, in the user's language."
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _quote(text: str) -> str:
    return text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS] + "…"


@dataclass(slots=True)
class _RequestedCall:
    """A tool call as the model asked for it, assembled from stream deltas if need be."""

    id: str = ""
    name: str = ""
    arguments: str = ""


@dataclass(slots=True)
class _Answer:
    text: list[str] = field(default_factory=list)
    calls: dict[int, _RequestedCall] = field(default_factory=dict)

    def call_at(self, index: int) -> _RequestedCall:
        return self.calls.setdefault(index, _RequestedCall())


def tool_parameters(definitions: Sequence[ToolDefinition]) -> list[ChatCompletionFunctionToolParam]:
    return [
        {
            "type": "function",
            "function": {
                "name": d.name,
                "description": d.description,
                "parameters": d.parameters,
            },
        }
        for d in definitions
    ]


def _tool_call_param(
    call_id: str, name: str, arguments: str
) -> ChatCompletionMessageFunctionToolCallParam:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _result_text(result: JsonObject) -> str:
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"), default=str)


def history_messages(history: Sequence[HistoryMessage]) -> list[ChatCompletionMessageParam]:
    """Stored messages as chat messages: an assistant turn's tool calls, their results, reply.

    Stored tool calls have no provider ids (any provider may have made them), so each gets a
    stable one from its place in the history.
    """
    messages: list[ChatCompletionMessageParam] = []
    for n, message in enumerate(history):
        if message.role == "user":
            messages.append({"role": "user", "content": message.content})
            continue
        if message.tool_calls:
            ids = [f"history_{n}_{k}" for k in range(len(message.tool_calls))]
            requested: ChatCompletionAssistantMessageParam = {
                "role": "assistant",
                "tool_calls": [
                    _tool_call_param(i, c.name, json.dumps(c.arguments, ensure_ascii=False))
                    for i, c in zip(ids, message.tool_calls, strict=True)
                ],
            }
            messages.append(requested)
            for i, call in zip(ids, message.tool_calls, strict=True):
                answered: ChatCompletionToolMessageParam = {
                    "role": "tool",
                    "tool_call_id": i,
                    "content": _result_text(call.result),
                }
                messages.append(answered)
        messages.append({"role": "assistant", "content": message.content})
    return messages


def malformed_arguments(raw: str, problem: str) -> JsonObject:
    """The structured error a model gets back for arguments that are not a JSON object."""
    return {
        "ok": False,
        "error": {
            "type": "invalid-arguments",
            "title": "The tool arguments are not a JSON object",
            "detail": f"{problem}; send the arguments as one JSON object. Received: {_quote(raw)}",
        },
    }


async def run_requested(tools: ToolBox, requested: _RequestedCall) -> ToolCall:
    try:
        arguments = json.loads(requested.arguments or "{}")
    except json.JSONDecodeError as exc:
        result = malformed_arguments(requested.arguments, f"Invalid JSON ({exc.msg})")
        return ToolCall(requested.name, {"unparsed": _quote(requested.arguments)}, result)
    if not isinstance(arguments, dict):
        result = malformed_arguments(requested.arguments, "Not an object")
        return ToolCall(requested.name, {"unparsed": _quote(requested.arguments)}, result)
    return await tools.call(requested.name, arguments)


class OpenAIAssistant:
    """An assistant backed by a chat-completions model, through `AsyncOpenAI`."""

    def __init__(
        self,
        *,
        client: AsyncOpenAI,
        model: str,
        timeout_seconds: float,
        stream: bool = True,
        clock: Clock = _utc_now,
    ) -> None:
        self._client = client
        self._model = model
        self._timeout = timeout_seconds
        self._stream = stream
        self._clock = clock

    async def close(self) -> None:
        await self._client.close()

    async def run(
        self,
        *,
        history: Sequence[HistoryMessage],
        message: str,
        tools: ToolBox,
        max_steps: int,
    ) -> AsyncIterator[AssistantEvent]:
        today = self._clock().astimezone(UTC).date().isoformat()
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": SYSTEM_PROMPT.format(today=today)},
            *history_messages(history),
            {"role": "user", "content": message},
        ]
        definitions = tool_parameters(tools.definitions())
        for step in range(max_steps + 1):
            # After max_steps rounds of tools the model must answer: tools are switched off.
            choice: Literal["auto", "none"] = "none" if step == max_steps else "auto"
            answer = _Answer()
            async for delta in self._ask(messages, definitions, choice, answer):
                yield delta
            if not answer.calls:
                return
            if choice == "none":
                # A server that ignores tool_choice still gets no more tool rounds.
                if not answer.text:
                    yield TextDelta(f"I stopped after {max_steps} rounds of tool calls.")
                return
            requested = [answer.calls[i] for i in sorted(answer.calls)]
            for n, call in enumerate(requested):
                call.id = call.id or f"call_{step}_{n}"
            messages.append(
                {
                    "role": "assistant",
                    "content": "".join(answer.text) or None,
                    "tool_calls": [_tool_call_param(c.id, c.name, c.arguments) for c in requested],
                }
            )
            for call in requested:
                done = await run_requested(tools, call)
                yield done
                messages.append(
                    {"role": "tool", "tool_call_id": call.id, "content": _result_text(done.result)}
                )

    async def _ask(
        self,
        messages: list[ChatCompletionMessageParam],
        definitions: list[ChatCompletionFunctionToolParam],
        choice: Literal["auto", "none"],
        answer: _Answer,
    ) -> AsyncIterator[TextDelta]:
        """One model request; text is yielded as it comes, tool calls land in `answer`."""
        deadline = asyncio.get_running_loop().time() + self._timeout
        arguments: dict[str, Any] = {"model": self._model, "messages": messages}
        if definitions:
            arguments |= {"tools": definitions, "tool_choice": choice}
        if not self._stream:
            async with _provider_errors(self._timeout, deadline):
                completion = await self._client.chat.completions.create(**arguments)
            if not completion.choices:
                raise ProviderFailed("The model provider answered without a choice.")
            reply = completion.choices[0].message
            if reply.content:
                answer.text.append(reply.content)
                yield TextDelta(reply.content)
            for index, call in enumerate(reply.tool_calls or ()):
                if call.type != "function":
                    raise ProviderFailed(f"The model asked for a {call.type!r} tool call.")
                answer.calls[index] = _RequestedCall(
                    call.id, call.function.name, call.function.arguments
                )
            return
        async with _provider_errors(self._timeout, deadline):
            stream = await self._client.chat.completions.create(**arguments, stream=True)
        try:
            received = False
            while True:
                async with _provider_errors(self._timeout, deadline):
                    try:
                        chunk = await anext(stream)
                    except StopAsyncIteration:
                        if not received:
                            raise ProviderFailed(
                                "The model provider's stream ended without a chunk."
                            ) from None
                        return
                received = True
                text = _take(chunk, answer)
                if text:
                    yield TextDelta(text)
        finally:
            await stream.close()


def _take(chunk: ChatCompletionChunk, answer: _Answer) -> str:
    """Fold one streamed chunk into the answer; the text it adds."""
    if not chunk.choices:
        return ""
    delta = chunk.choices[0].delta
    for part in delta.tool_calls or ():
        call = answer.call_at(part.index)
        call.id = part.id or call.id
        if part.function is not None:
            call.name += part.function.name or ""
            call.arguments += part.function.arguments or ""
    if delta.content:
        answer.text.append(delta.content)
        return delta.content
    return ""


@asynccontextmanager
async def _provider_errors(limit_seconds: float, deadline: float) -> AsyncIterator[None]:
    """Turn what the SDK and the transport raise into the chat problems, within a deadline."""
    try:
        async with asyncio.timeout_at(deadline):
            yield
    except (TimeoutError, openai.APITimeoutError, httpx2.TimeoutException) as exc:
        msg = f"The model provider did not answer within {limit_seconds:g} seconds."
        raise ProviderTimedOut(msg) from exc
    except openai.APIStatusError as exc:
        msg = f"The model provider answered {exc.status_code}: {_quote(_error_text(exc))}"
        raise ProviderFailed(msg) from exc
    except (openai.APIConnectionError, httpx2.HTTPError) as exc:
        raise ProviderFailed(f"The model provider could not be reached: {exc}") from exc
    except (openai.OpenAIError, ValueError) as exc:
        # ValueError: a body that is not the JSON of a completion (or of a chunk).
        raise ProviderFailed(f"The model provider's answer was unusable: {exc}") from exc


def _error_text(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return error.message
