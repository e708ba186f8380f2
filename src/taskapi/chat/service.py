"""A chat turn, stateless: lease the conversation, read its bounded history, run the assistant
with the task tools, and store the turn with the tools' changes in one transaction.

A turn owns two transactions, which is why it takes the sessionmaker instead of the request's
session (see the ADR "stateless chat turns"):

1. the turn lease, a conditional UPDATE committed on its own before the assistant runs, so
   that a second turn of the conversation on any instance sees it and gets a 409;
2. the turn itself: every tool writes and reads through it, the messages are stored in it,
   the lease is given back in it, and it commits once at the end. A streamed response
   outlives the request's dependencies, so this transaction cannot be the request's
   `SessionDep`; it is opened here, for the JSON and the streamed answer alike.

A provider failure or timeout rolls the turn back whole (nothing of it is stored, not even a
conversation it would have started) and gives the lease back. A client that goes away
mid-stream gets the user message and the tool calls that finished committed, marked
interrupted; a tool call cut off mid-way is rolled back to its savepoint.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskapi.auth.errors import CallerGone
from taskapi.chat.errors import ConversationNotFound, MessageTooLong, TurnInProgress
from taskapi.chat.protocol import (
    Assistant,
    HistoryMessage,
    TextDelta,
    ToolBox,
    ToolCall,
    ToolDefinition,
)
from taskapi.chat.repository import (
    ConversationReads,
    ConversationRecord,
    ConversationRepository,
    NewMessage,
)
from taskapi.chat.tables import TITLE_CHARS
from taskapi.core.config import Settings
from taskapi.core.db import DatabaseBusy, DatabaseUnavailable, ReadPool, utcnow
from taskapi.tasks.errors import InvalidCursor
from taskapi.tasks.pagination import CursorCodec, Position, SortSpec, fingerprint
from taskapi.users.repository import CallerClaims

logger = logging.getLogger("taskapi.chat")

# The task tools for one caller (their verified token claims), working in the turn's session.
ToolBoxFactory = Callable[[AsyncSession, CallerClaims], ToolBox]


@dataclass(frozen=True, slots=True)
class TurnLimits:
    history_messages: int
    history_chars: int
    max_steps: int
    message_max_chars: int
    lease_seconds: int

    @classmethod
    def from_settings(cls, settings: Settings) -> TurnLimits:
        return cls(
            history_messages=settings.chat_history_messages,
            history_chars=settings.chat_history_chars,
            max_steps=settings.chat_max_steps,
            message_max_chars=settings.chat_message_max_chars,
            lease_seconds=settings.chat_turn_lease_seconds,
        )


@dataclass(frozen=True, slots=True)
class StartedTurn:
    """A turn that may run: its conversation (leased, or new) and the history it reads."""

    owner_id: uuid.UUID
    conversation_id: uuid.UUID
    is_new: bool
    lease: uuid.UUID | None
    message: str
    history: tuple[HistoryMessage, ...]


@dataclass(frozen=True, slots=True)
class TurnDone:
    """The turn is stored: the assistant message's id, the reply and the tool calls."""

    conversation_id: uuid.UUID
    message_id: uuid.UUID
    reply: str
    tool_calls: tuple[ToolCall, ...]


TurnEvent = TextDelta | ToolCall | TurnDone


def title_for(message: str) -> str:
    """A conversation's title: the start of its first message, on one line."""
    line = " ".join(message.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1] + "…"


@dataclass
class _FinishingToolBox:
    """The tool box the assistant gets: each call in a savepoint, and what finished, in order.

    A call cut off mid-way (the client went away) is rolled back to its savepoint, so a
    commit after it keeps only the effects of the calls that finished.
    """

    tools: ToolBox
    session: AsyncSession
    finished: list[ToolCall] = field(default_factory=list)

    def definitions(self) -> Sequence[ToolDefinition]:
        return self.tools.definitions()

    async def call(self, name: str, arguments: Mapping[str, Any]) -> ToolCall:
        savepoint = await self.session.begin_nested()
        try:
            call = await self.tools.call(name, arguments)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await savepoint.rollback()
            raise
        with anyio.CancelScope(shield=True):
            await savepoint.commit()
            self.finished.append(call)
        return call


class ChatTurns:
    """Runs turns for one caller with one assistant and their task tools."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        assistant: Assistant,
        tools: ToolBoxFactory,
        limits: TurnLimits,
        caller: CallerClaims,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._assistant = assistant
        self._tools = tools
        self._limits = limits
        self._caller = caller
        self._owner_id = caller.user_id

    async def start(self, *, conversation_id: uuid.UUID | None, message: str) -> StartedTurn:
        """Check the message, take the conversation's lease and read its history (404, 409,
        422 here, before anything is streamed)."""
        if len(message) > self._limits.message_max_chars:
            raise MessageTooLong(self._limits.message_max_chars)
        if conversation_id is None:
            return StartedTurn(
                owner_id=self._owner_id,
                conversation_id=uuid.uuid4(),
                is_new=True,
                lease=None,
                message=message,
                history=(),
            )
        lease = uuid.uuid4()
        with _database_problems():
            return await self._lease(conversation_id, message=message, lease=lease)

    async def _lease(
        self, conversation_id: uuid.UUID, *, message: str, lease: uuid.UUID
    ) -> StartedTurn:
        async with self._sessionmaker() as session, session.begin():
            conversations = ConversationRepository(session, owner_id=self._owner_id)
            taken = await conversations.take_lease(
                conversation_id, token=lease, now=utcnow(), seconds=self._limits.lease_seconds
            )
            if not taken:
                if await conversations.exists(conversation_id):
                    raise TurnInProgress(conversation_id)
                raise ConversationNotFound(conversation_id)
            history = await conversations.history(
                conversation_id,
                max_messages=self._limits.history_messages,
                max_chars=self._limits.history_chars,
            )
        return StartedTurn(
            owner_id=self._owner_id,
            conversation_id=conversation_id,
            is_new=False,
            lease=lease,
            message=message,
            history=tuple(history),
        )

    async def run(self, turn: StartedTurn) -> AsyncGenerator[TurnEvent]:
        """Run a started turn: the assistant's deltas and tool calls as they happen, then
        `TurnDone` once everything is committed. Closing the iterator early (the client went
        away) stores what finished; an error stores nothing."""
        stored = False
        try:
            async with self._sessionmaker() as session:
                tools = _FinishingToolBox(self._tools(session, self._caller), session)
                reply: list[str] = []
                events = self._assistant.run(
                    history=turn.history,
                    message=turn.message,
                    tools=tools,
                    max_steps=self._limits.max_steps,
                )
                try:
                    try:
                        async for event in events:
                            if isinstance(event, TextDelta):
                                reply.append(event.text)
                            yield event
                    finally:
                        # Stop the assistant (and its provider call) before storing anything.
                        with anyio.CancelScope(shield=True):
                            await _close(events)
                    with _database_problems():
                        done = await self._store(
                            session, turn, reply="".join(reply), calls=tools.finished
                        )
                        await session.commit()
                    stored = True
                except (anyio.get_cancelled_exc_class(), GeneratorExit):
                    with anyio.CancelScope(shield=True):
                        stored = await self._store_interrupted(session, turn, tools.finished)
                    raise
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        await session.rollback()
                    raise
            yield done
        finally:
            if not stored:
                with anyio.CancelScope(shield=True):
                    await self._give_back(turn)

    async def _store(
        self, session: AsyncSession, turn: StartedTurn, *, reply: str, calls: list[ToolCall]
    ) -> TurnDone:
        conversations = ConversationRepository(session, owner_id=turn.owner_id)
        now = utcnow()
        if turn.is_new:
            await conversations.create(turn.conversation_id, title=title_for(turn.message), now=now)
        elif turn.lease is None or not await conversations.release_lease(
            turn.conversation_id, token=turn.lease, touched_at=now
        ):
            # The conversation was deleted while the turn ran, or the turn outlived its
            # lease and another took it over: storing now could interleave with that one.
            if await conversations.exists(turn.conversation_id):
                raise TurnInProgress(turn.conversation_id)
            raise ConversationNotFound(turn.conversation_id)
        _, message_id = await conversations.append(
            turn.conversation_id,
            [
                NewMessage(role="user", content=turn.message),
                NewMessage(role="assistant", content=reply, tool_calls=tuple(calls)),
            ],
            now=now,
        )
        return TurnDone(
            conversation_id=turn.conversation_id,
            message_id=message_id,
            reply=reply,
            tool_calls=tuple(calls),
        )

    async def _store_interrupted(
        self, session: AsyncSession, turn: StartedTurn, calls: list[ToolCall]
    ) -> bool:
        """The client went away: keep the user message and the tool calls that finished
        (with their effects), with no reply. False when nothing could be stored."""
        try:
            conversations = ConversationRepository(session, owner_id=turn.owner_id)
            now = utcnow()
            if turn.is_new:
                await conversations.create(
                    turn.conversation_id, title=title_for(turn.message), now=now
                )
            elif turn.lease is None or not await conversations.release_lease(
                turn.conversation_id, token=turn.lease, touched_at=now
            ):
                await session.rollback()
                return False
            messages = [NewMessage(role="user", content=turn.message)]
            if calls:
                messages.append(
                    NewMessage(
                        role="assistant", content="", tool_calls=tuple(calls), interrupted=True
                    )
                )
            await conversations.append(turn.conversation_id, messages, now=now)
            await session.commit()
        except Exception:
            logger.exception("storing the interrupted turn of %s failed", turn.conversation_id)
            await session.rollback()
            return False
        return True

    async def _give_back(self, turn: StartedTurn) -> None:
        """Release the lease of a turn that stored nothing, in a transaction of its own."""
        if turn.lease is None:
            return
        try:
            async with self._sessionmaker() as session, session.begin():
                await ConversationRepository(session, owner_id=turn.owner_id).release_lease(
                    turn.conversation_id, token=turn.lease, touched_at=None
                )
        except Exception:
            # It expires by itself (chat_turn_lease_seconds); the turn's own error matters more.
            logger.exception("releasing the turn lease of %s failed", turn.conversation_id)


@contextmanager
def _database_problems() -> Iterator[None]:
    """The 503s `get_session` gives a request, for the turn's own sessions: no connection
    free within the pool timeout, or a database that cannot be reached."""
    try:
        yield
    except PoolTimeout as exc:
        raise DatabaseBusy from exc
    except (OSError, DBAPIError) as exc:
        if isinstance(exc, DBAPIError) and not exc.connection_invalidated:
            raise
        raise DatabaseUnavailable from exc


async def _close(events: AsyncIterator[Any]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()


async def delete_conversation(
    *, session: AsyncSession, owner_id: uuid.UUID, conversation_id: uuid.UUID
) -> None:
    if not await ConversationRepository(session, owner_id=owner_id).delete(conversation_id):
        raise ConversationNotFound(conversation_id)


# ---------------------------------------------------------------------------------------------
# Browsing: conversations and their messages, keyset-paginated with signed cursors
# ---------------------------------------------------------------------------------------------

_CONVERSATION_ORDER = SortSpec(key="updated_at", descending=True)
_MESSAGE_ORDER = SortSpec(key="seq", descending=False)


@dataclass(frozen=True, slots=True)
class ConversationListing:
    items: list[ConversationRecord]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class MessageView:
    """A message as the contract shows it, field for field."""

    id: uuid.UUID
    role: str
    content: str
    tool_calls: list[dict[str, Any]]
    interrupted: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MessageListing:
    items: list[MessageView]
    next_cursor: str | None


async def list_conversations(
    *, reads: ReadPool, claims: CallerClaims, limit: int, cursor: str | None, codec: CursorCodec
) -> ConversationListing:
    bound = fingerprint({"list": "conversations"})
    after = None
    if cursor is not None:
        position = codec.decode(cursor, sort=_CONVERSATION_ORDER, filters_fingerprint=bound)
        value = position.value
        if not isinstance(value, str):
            raise InvalidCursor("The cursor is not one this server issued.")
        after = (datetime.fromisoformat(value), position.task_id)
    page = await ConversationReads(reads).page(claims, after=after, limit=limit + 1)
    if page.caller is None:
        raise CallerGone
    shown = page.conversations[:limit]
    next_cursor = None
    if len(page.conversations) > limit:
        last = shown[-1]
        next_cursor = codec.encode(
            sort=_CONVERSATION_ORDER,
            filters_fingerprint=bound,
            position=Position(value=last.updated_at, task_id=last.id),
        )
    return ConversationListing(items=shown, next_cursor=next_cursor)


async def list_messages(
    *,
    reads: ReadPool,
    claims: CallerClaims,
    conversation_id: uuid.UUID,
    limit: int,
    cursor: str | None,
    codec: CursorCodec,
) -> MessageListing:
    # A cursor belongs to one conversation's messages: replayed on another, it is refused.
    bound = fingerprint({"conversation_id": conversation_id.hex})
    after_seq = None
    if cursor is not None:
        position = codec.decode(cursor, sort=_MESSAGE_ORDER, filters_fingerprint=bound)
        if not isinstance(position.value, int) or position.task_id != conversation_id:
            raise InvalidCursor("The cursor is not one this server issued.")
        after_seq = position.value
    page = await ConversationReads(reads).messages(
        claims, conversation_id, after_seq=after_seq, limit=limit + 1
    )
    if page.caller is None:
        raise CallerGone
    if not page.found:
        raise ConversationNotFound(conversation_id)
    shown = page.messages[:limit]
    next_cursor = None
    if len(page.messages) > limit:
        next_cursor = codec.encode(
            sort=_MESSAGE_ORDER,
            filters_fingerprint=bound,
            position=Position(value=shown[-1].seq, task_id=conversation_id),
        )
    items = [
        MessageView(
            id=m.id,
            role=m.role,
            content=m.content,
            tool_calls=m.tool_calls,
            interrupted=m.interrupted,
            created_at=m.created_at,
        )
        for m in shown
    ]
    return MessageListing(items=items, next_cursor=next_cursor)
