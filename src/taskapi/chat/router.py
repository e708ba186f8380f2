"""HTTP for chat: a turn as JSON or as Server-Sent Events, and browsing conversations."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import MISSING
from sse_starlette import EventSourceResponse, ServerSentEvent

from taskapi.auth.dependencies import CallerClaimsDep, CurrentUser
from taskapi.chat import service
from taskapi.chat.dependencies import ChatTurnsDep, spend_chat_budget
from taskapi.chat.protocol import TextDelta, ToolCall
from taskapi.chat.service import ChatTurns, StartedTurn, TurnDone
from taskapi.contract.models import (
    ApiV1ConversationsConversationIdMessagesGetParametersQuery as ListMessagesQuery,
)
from taskapi.contract.models import (
    ApiV1ConversationsGetParametersQuery as ListConversationsQuery,
)
from taskapi.contract.models import ChatMessagePage, ChatReply, ChatRequest, ConversationPage
from taskapi.core.db import ReadPoolDep, SessionDep
from taskapi.core.errors import PROBLEM_TYPE_PREFIX, DomainError, instance_of, request_id_of
from taskapi.core.representation import json_response
from taskapi.tasks.dependencies import CursorCodecDep

logger = logging.getLogger("taskapi.chat")

router = APIRouter(tags=["chat"])
EVENT_STREAM = "text/event-stream"

ConversationIdPath = Annotated[uuid.UUID, Path()]


def wants_event_stream(accept: str | None) -> bool:
    """True when the client lists text/event-stream as acceptable (q > 0)."""
    for member in (accept or "").split(","):
        media_type, *parameters = (part.strip() for part in member.split(";"))
        if media_type.lower() != EVENT_STREAM:
            continue
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q" and value.strip() in ("0", "0.0", "0.00", "0.000"):
                return False
        return True
    return False


def _tool_call(call: ToolCall) -> dict[str, Any]:
    return {"name": call.name, "arguments": call.arguments, "result": call.result}


@router.post(
    "/api/v1/chat",
    operation_id="sendChatMessage",
    response_model=ChatReply,
    dependencies=[Depends(spend_chat_budget)],
)
async def send_chat_message(data: ChatRequest, request: Request, turns: ChatTurnsDep) -> Response:
    conversation_id = None if data.conversation_id is MISSING else data.conversation_id
    started = await turns.start(conversation_id=conversation_id, message=data.message)
    if wants_event_stream(request.headers.get("accept")):
        return EventSourceResponse(_stream(request, turns, started), ping=10)
    done: TurnDone | None = None
    async for event in turns.run(started):
        if isinstance(event, TurnDone):
            done = event
    assert done is not None  # run() ends with TurnDone or raises
    return json_response(
        {
            "conversation_id": done.conversation_id,
            "message_id": done.message_id,
            "reply": done.reply,
            "tool_calls": [_tool_call(call) for call in done.tool_calls],
        }
    )


async def _stream(
    request: Request, turns: ChatTurns, started: StartedTurn
) -> AsyncIterator[ServerSentEvent]:
    """The turn as events. An error after the stream started can only be an event."""
    try:
        # Closed explicitly when the response closes this stream (the client went away while
        # an event was being sent), so the turn stores what finished now, not at collection.
        async with aclosing(turns.run(started)) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    yield _event("delta", {"text": event.text})
                elif isinstance(event, ToolCall):
                    yield _event("tool_call", _tool_call(event))
                else:
                    yield _event(
                        "done",
                        {
                            "conversation_id": str(event.conversation_id),
                            "message_id": str(event.message_id),
                        },
                    )
    except DomainError as exc:
        yield _event("error", _problem(request, exc.status, exc.slug, exc.title, exc.detail))
    except Exception:
        logger.exception("a streamed chat turn failed")
        detail = "The turn failed on the server; nothing of it was stored. Try again."
        yield _event("error", _problem(request, 500, "internal-error", "Internal error", detail))


def _event(name: str, data: dict[str, Any]) -> ServerSentEvent:
    return ServerSentEvent(
        event=name, data=json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    )


def _problem(request: Request, status: int, slug: str, title: str, detail: str) -> dict[str, Any]:
    return {
        "type": PROBLEM_TYPE_PREFIX + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance_of(request.scope),
        "request_id": request_id_of(request.scope),
    }


@router.get(
    "/api/v1/conversations", operation_id="listConversations", response_model=ConversationPage
)
async def list_conversations(
    query: Annotated[ListConversationsQuery, Query()],
    claims: CallerClaimsDep,
    reads: ReadPoolDep,
    codec: CursorCodecDep,
) -> Response:
    listing = await service.list_conversations(
        reads=reads,
        claims=claims,
        limit=query.limit,
        cursor=None if query.cursor is MISSING else query.cursor,
        codec=codec,
    )
    return json_response(listing)


@router.delete(
    "/api/v1/conversations/{conversation_id}",
    operation_id="deleteConversation",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def delete_conversation(
    conversation_id: ConversationIdPath, caller: CurrentUser, session: SessionDep
) -> Response:
    await service.delete_conversation(
        session=session, owner_id=caller.id, conversation_id=conversation_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/v1/conversations/{conversation_id}/messages",
    operation_id="listConversationMessages",
    response_model=ChatMessagePage,
)
async def list_conversation_messages(
    conversation_id: ConversationIdPath,
    query: Annotated[ListMessagesQuery, Query()],
    claims: CallerClaimsDep,
    reads: ReadPoolDep,
    codec: CursorCodecDep,
) -> Response:
    listing = await service.list_messages(
        reads=reads,
        claims=claims,
        conversation_id=conversation_id,
        limit=query.limit,
        cursor=None if query.cursor is MISSING else query.cursor,
        codec=codec,
    )
    return json_response(listing)
