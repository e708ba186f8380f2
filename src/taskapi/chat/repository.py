"""All SQL about conversations and messages, every statement scoped to one owner.

Listing reads run on the read pool with the caller check folded in (`ConversationReads`);
a turn's reads and writes run in a session (`ConversationRepository`), bound to its owner.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskapi.chat.protocol import HistoryMessage, ToolCall
from taskapi.chat.tables import ConversationRow, MessageRow
from taskapi.core.db import ColumnKind, Engine, ReadPool, ReadStatement, Row, SqlParameters
from taskapi.users.repository import (
    CALLER_KINDS,
    Caller,
    CallerClaims,
    caller_from_row,
    caller_values,
    scoped_to_caller,
)

C = ConversationRow.__table__.c  # type: ignore[attr-defined]
M = MessageRow.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    """A conversation as the contract shows it, field for field."""

    id: uuid.UUID
    title: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A message as the contract shows it, field for field, plus its position."""

    id: uuid.UUID
    role: str
    content: str
    tool_calls: list[dict[str, Any]]
    interrupted: bool
    created_at: datetime
    seq: int


@dataclass(frozen=True, slots=True)
class CallerConversations:
    caller: Caller | None
    conversations: list[ConversationRecord]


@dataclass(frozen=True, slots=True)
class CallerMessages:
    """No caller (401); the caller but no such conversation (404); or a page of messages."""

    caller: Caller | None
    found: bool
    messages: list[MessageRecord]


# ---------------------------------------------------------------------------------------------
# Reads for listing: SQL text per engine, the caller check folded in
# ---------------------------------------------------------------------------------------------

_CONVERSATION_KINDS: tuple[ColumnKind, ...] = ("uuid", "plain", "datetime", "datetime")
_MESSAGE_KINDS: tuple[ColumnKind, ...] = (
    *("uuid", "uuid", "plain", "plain", "json", "plain", "datetime", "plain"),
)
_START = len(CALLER_KINDS)


@cache
def _conversations_statement(engine: Engine, *, after: bool) -> ReadStatement:
    order = "updated_at DESC, id DESC"

    def rows(p: SqlParameters) -> str:
        sql = (
            "SELECT id, title, created_at, updated_at FROM conversations "
            f"WHERE owner_id = {p('caller_id')}"
        )
        if after:
            sql += f" AND (updated_at, id) < ({p('after_value')}, {p('after_id')})"
        return f"{sql} ORDER BY {order} LIMIT {p('limit')}"

    return ReadStatement.build(engine, lambda p: scoped_to_caller(p, rows, order_by=order))


@cache
def _messages_statement(engine: Engine, *, after: bool) -> ReadStatement:
    """The conversation (when it is the caller's) left-joined with one page of its messages.

    A row with no conversation id: not the caller's (or gone). A conversation id with no
    message: the page is empty.
    """

    def rows(p: SqlParameters) -> str:
        joined = "m.conversation_id = c.id"
        if after:
            joined += f" AND m.seq > {p('after_seq')}"
        return (
            "SELECT c.id AS found_id, m.id AS message_id, m.role, m.content, m.tool_calls, "
            "m.interrupted, m.created_at, m.seq "
            f"FROM conversations c LEFT JOIN messages m ON {joined} "
            f"WHERE c.id = {p('conversation_id')} AND c.owner_id = {p('caller_id')} "
            f"ORDER BY m.seq LIMIT {p('limit')}"
        )

    return ReadStatement.build(engine, lambda p: scoped_to_caller(p, rows, order_by="seq"))


class ConversationReads:
    """Reads of the caller's conversations, each one round trip with the caller check."""

    def __init__(self, reads: ReadPool) -> None:
        self._reads = reads

    async def page(
        self, claims: CallerClaims, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> CallerConversations:
        values: dict[str, Any] = {**caller_values(claims), "limit": limit}
        if after is not None:
            values["after_value"], values["after_id"] = after
        rows = await self._reads.fetch(
            _conversations_statement(self._reads.engine, after=after is not None),
            values,
            (*CALLER_KINDS, *_CONVERSATION_KINDS),
        )
        if not rows:
            return CallerConversations(caller=None, conversations=[])
        found = [ConversationRecord(*row[_START:]) for row in rows if row[_START] is not None]
        return CallerConversations(caller=caller_from_row(rows[0]), conversations=found)

    async def messages(
        self,
        claims: CallerClaims,
        conversation_id: uuid.UUID,
        *,
        after_seq: int | None,
        limit: int,
    ) -> CallerMessages:
        values: dict[str, Any] = {
            **caller_values(claims),
            "conversation_id": conversation_id,
            "limit": limit,
        }
        if after_seq is not None:
            values["after_seq"] = after_seq
        rows = await self._reads.fetch(
            _messages_statement(self._reads.engine, after=after_seq is not None),
            values,
            (*CALLER_KINDS, *_MESSAGE_KINDS),
        )
        if not rows:
            return CallerMessages(caller=None, found=False, messages=[])
        caller = caller_from_row(rows[0])
        if rows[0][_START] is None:
            return CallerMessages(caller=caller, found=False, messages=[])
        messages = [_message(row) for row in rows if row[_START + 1] is not None]
        return CallerMessages(caller=caller, found=True, messages=messages)


def _message(row: Row) -> MessageRecord:
    message_id, role, content, tool_calls, interrupted, created_at, seq = row[_START + 1 :]
    return MessageRecord(
        id=message_id,
        role=role,
        content=content,
        tool_calls=list(tool_calls),
        interrupted=bool(interrupted),
        created_at=created_at,
        seq=seq,
    )


# ---------------------------------------------------------------------------------------------
# A turn's reads and writes: SQLAlchemy Core in a session, for one owner
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewMessage:
    role: str
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    interrupted: bool = False


class ConversationRepository:
    """One owner's conversations in a session; no way to reach another's rows."""

    def __init__(self, session: AsyncSession, *, owner_id: uuid.UUID) -> None:
        self._session = session
        self._owner_id = owner_id

    def _owned(self, conversation_id: uuid.UUID) -> Any:
        return and_(C.id == conversation_id, C.owner_id == self._owner_id)

    async def exists(self, conversation_id: uuid.UUID) -> bool:
        result = await self._session.execute(select(C.id).where(self._owned(conversation_id)))
        return result.first() is not None

    async def take_lease(
        self, conversation_id: uuid.UUID, *, token: uuid.UUID, now: datetime, seconds: int
    ) -> bool:
        """Take the turn lease unless another turn holds one that has not expired.

        One conditional UPDATE, so two instances racing for it cannot both win.
        """
        statement = (
            update(ConversationRow)
            .where(
                self._owned(conversation_id),
                or_(C.lease_token.is_(None), C.lease_expires_at <= now),
            )
            .values(lease_token=token, lease_expires_at=now + timedelta(seconds=seconds))
            .returning(C.id)
        )
        result = await self._session.execute(statement)
        return result.first() is not None

    async def release_lease(
        self, conversation_id: uuid.UUID, *, token: uuid.UUID, touched_at: datetime | None
    ) -> bool:
        """Give the lease back; with `touched_at`, also record the turn as the latest activity.

        False when this turn no longer holds it (it outlived its lease and another turn took
        it over, or the conversation was deleted meanwhile).
        """
        values: dict[str, Any] = {"lease_token": None, "lease_expires_at": None}
        if touched_at is not None:
            values["updated_at"] = touched_at
        statement = (
            update(ConversationRow)
            .where(self._owned(conversation_id), C.lease_token == token)
            .values(**values)
            .returning(C.id)
        )
        result = await self._session.execute(statement)
        return result.first() is not None

    async def create(self, conversation_id: uuid.UUID, *, title: str, now: datetime) -> None:
        await self._session.execute(
            insert(ConversationRow).values(
                id=conversation_id,
                owner_id=self._owner_id,
                title=title,
                created_at=now,
                updated_at=now,
            )
        )

    async def history(
        self, conversation_id: uuid.UUID, *, max_messages: int, max_chars: int
    ) -> list[HistoryMessage]:
        """The most recent messages, oldest first: at most `max_messages`, and no more than
        `max_chars` characters of content and tool calls (the newest that fit, contiguous)."""
        if max_messages == 0:
            return []
        statement = (
            select(M.role, M.content, M.tool_calls)
            .select_from(MessageRow.__table__.join(ConversationRow.__table__))  # type: ignore[attr-defined]
            .where(self._owned(conversation_id))
            .order_by(M.seq.desc())
            .limit(max_messages)
        )
        result = await self._session.execute(statement)
        kept: list[HistoryMessage] = []
        used = 0
        for role, content, tool_calls in result.all():
            calls = tuple(
                ToolCall(name=c["name"], arguments=c["arguments"], result=c["result"])
                for c in tool_calls
            )
            size = len(content) + sum(
                len(json.dumps(c.arguments)) + len(json.dumps(c.result)) for c in calls
            )
            if used + size > max_chars:
                break
            used += size
            kept.append(HistoryMessage(role=role, content=content, tool_calls=calls))
        kept.reverse()
        return kept

    async def append(
        self, conversation_id: uuid.UUID, messages: list[NewMessage], *, now: datetime
    ) -> list[uuid.UUID]:
        """Store messages after the conversation's last one; their ids, in order.

        The caller holds the turn lease, so nobody else appends meanwhile; the unique
        (conversation_id, seq) constraint refuses an interleaving that slipped past it.
        """
        last = await self._session.execute(
            select(func.coalesce(func.max(M.seq), 0)).where(M.conversation_id == conversation_id)
        )
        seq = int(last.scalar_one())
        ids = []
        for offset, message in enumerate(messages, start=1):
            message_id = uuid.uuid4()
            ids.append(message_id)
            await self._session.execute(
                insert(MessageRow).values(
                    id=message_id,
                    conversation_id=conversation_id,
                    seq=seq + offset,
                    role=message.role,
                    content=message.content,
                    tool_calls=[
                        {"name": c.name, "arguments": c.arguments, "result": c.result}
                        for c in message.tool_calls
                    ],
                    interrupted=message.interrupted,
                    created_at=now,
                )
            )
        return ids

    async def delete(self, conversation_id: uuid.UUID) -> bool:
        """Delete the conversation; its messages go with it (ON DELETE CASCADE)."""
        statement = delete(ConversationRow).where(self._owned(conversation_id)).returning(C.id)
        result = await self._session.execute(statement)
        return result.first() is not None
