"""A scripted OpenAI-compatible server on loopback: the fake of an off-machine model provider.

A model provider (OpenAI, or an Ollama/vLLM/llama.cpp server) lives off this machine, so it
is the one part the tests fake, and they fake it behind its real protocol: this is an HTTP
server (Starlette under uvicorn, in a thread of its own) that answers
`POST /v1/chat/completions` exactly as the chat-completions API does, as JSON or as
Server-Sent Events in OpenAI's chunk format. The app under test talks to it through the
official `openai` SDK over TCP, so the SDK's request building, streaming parser and error
handling all run for real.

Each test scripts the answers, in order: a reply, tool calls, an HTTP error, a body that is
not JSON, a slow answer, or a stream that stalls. Text and tool calls are streamed (text in
pieces, tool-call arguments in fragments) when the request asks for `stream`, as the API
does. The server
keeps every request it received (headers and JSON body) for the test to inspect. A request
with no scripted answer left gets a 500 whose message says so.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.support_server import free_port

API_KEY = "sk-test-" + "k" * 24
STARTUP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class ScriptedCall:
    """A tool call the scripted model asks for; `arguments` is sent verbatim when a str."""

    name: str
    arguments: dict[str, Any] | str
    id: str = ""

    def arguments_text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)


@dataclass(frozen=True)
class Answer:
    """One scripted answer to one request."""

    text: str | None = None
    calls: tuple[ScriptedCall, ...] = ()
    # Streamed text is cut into pieces of this many characters, one chunk each.
    chunk_chars: int = 4
    status: int = 200
    error_body: Any = None
    raw_body: str | None = None
    delay_seconds: float = 0.0
    # Streamed answers: stop sending (but keep the connection) after this many chunks.
    stall_after_chunks: int | None = None


@dataclass(frozen=True)
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class ScriptedProvider:
    """The server's script and record. Thread-safe: the server runs in a thread of its own."""

    base_url: str = ""
    requests: list[ReceivedRequest] = field(default_factory=list)
    _script: list[Answer] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)

    # --- scripting ---------------------------------------------------------------------

    def reply(self, text: str) -> None:
        self._push(Answer(text=text))

    def call_tools(self, *calls: ScriptedCall, text: str | None = None) -> None:
        self._push(Answer(text=text, calls=tuple(calls)))

    def fail(self, status: int, message: str = "scripted failure") -> None:
        body = {"error": {"message": message, "type": "server_error", "code": None}}
        self._push(Answer(status=status, error_body=body))

    def answer_garbage(self, body: str = "<html>not a completion</html>") -> None:
        self._push(Answer(raw_body=body))

    def answer_slowly(self, delay_seconds: float, text: str = "too late") -> None:
        self._push(Answer(text=text, delay_seconds=delay_seconds))

    def stall_stream(self, text: str, *, after_chunks: int) -> None:
        self._push(Answer(text=text, stall_after_chunks=after_chunks))

    def push(self, answer: Answer) -> None:
        self._push(answer)

    def _push(self, answer: Answer) -> None:
        with self._lock:
            self._script.append(answer)

    def stop(self) -> None:
        """Wake every slow answer: the server is about to shut down."""
        self._stopping.set()

    @property
    def unanswered(self) -> int:
        with self._lock:
            return len(self._script)

    # --- serving -----------------------------------------------------------------------

    async def completions(self, request: Request) -> Response:
        body = await request.json()
        with self._lock:
            self.requests.append(
                ReceivedRequest(request.url.path, dict(request.headers.items()), body)
            )
            answer = self._script.pop(0) if self._script else None
        if answer is None:
            error = {"error": {"message": "no scripted answer left", "type": "test_script"}}
            return JSONResponse(error, status_code=500)
        await self._wait(answer.delay_seconds)
        if answer.status != 200:
            return JSONResponse(answer.error_body, status_code=answer.status)
        if answer.raw_body is not None:
            return Response(answer.raw_body, media_type="application/json")
        model = str(body.get("model", ""))
        if body.get("stream") is True:  # as the API does: SSE when the request asks for it
            return StreamingResponse(self._events(answer, model), media_type="text/event-stream")
        return JSONResponse(completion(answer, model))

    async def _wait(self, seconds: float) -> None:
        """Sleep, but wake up when the server stops, so a slow answer never delays a test."""
        deadline = time.monotonic() + seconds
        # The stop signal comes from the test's thread, so poll it rather than await it.
        while time.monotonic() < deadline and not self._stopping.is_set():  # noqa: ASYNC110
            await asyncio.sleep(0.05)

    async def _events(self, answer: Answer, model: str) -> AsyncIterator[str]:
        for n, chunk in enumerate(chunks(answer, model)):
            if answer.stall_after_chunks is not None and n >= answer.stall_after_chunks:
                await self._wait(3600)
                return
            yield f"data: {json.dumps(chunk)}\n\n"
        yield "data: [DONE]\n\n"


def _call_id(call: ScriptedCall, n: int) -> str:
    return call.id or f"call_{n}"


def completion(answer: Answer, model: str) -> dict[str, Any]:
    """A `chat.completion` object as the API returns it."""
    message: dict[str, Any] = {"role": "assistant", "content": answer.text}
    if answer.calls:
        message["tool_calls"] = [
            {
                "id": _call_id(call, n),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_text()},
            }
            for n, call in enumerate(answer.calls)
        ]
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if answer.calls else "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }


def _pieces(text: str, size: int) -> Sequence[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def chunks(answer: Answer, model: str) -> Iterator[dict[str, Any]]:
    """The answer as OpenAI streams it: role, text pieces, tool calls in fragments, finish."""
    yield _chunk(model, {"role": "assistant", "content": ""})
    for piece in _pieces(answer.text or "", answer.chunk_chars) if answer.text else ():
        yield _chunk(model, {"content": piece})
    for n, call in enumerate(answer.calls):
        opening = {"index": n, "id": _call_id(call, n), "type": "function"}
        yield _chunk(
            model,
            {"tool_calls": [{**opening, "function": {"name": call.name, "arguments": ""}}]},
        )
        for piece in _pieces(call.arguments_text(), answer.chunk_chars):
            yield _chunk(model, {"tool_calls": [{"index": n, "function": {"arguments": piece}}]})
    yield _chunk(model, {}, "tool_calls" if answer.calls else "stop")


@contextmanager
def scripted_openai_server() -> Iterator[ScriptedProvider]:
    """Serve a fresh script on a free loopback port; `base_url` ends in /v1 as OpenAI's does."""
    provider = ScriptedProvider()
    app = Starlette(routes=[Route("/v1/chat/completions", provider.completions, methods=["POST"])])
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="scripted-openai", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            msg = "the scripted OpenAI-compatible server did not start"
            raise RuntimeError(msg)
        time.sleep(0.01)
    provider.base_url = f"http://127.0.0.1:{port}/v1"
    try:
        yield provider
    finally:
        provider.stop()
        server.should_exit = True
        thread.join(timeout=10)
