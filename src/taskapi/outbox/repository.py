"""All SQL about the outbox: add, claim (a conditional UPDATE), finish, retry later, give up."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskapi.outbox.tables import OutboxRow

O = OutboxRow.__table__.c  # type: ignore[attr-defined]  # noqa: E741
OUTBOX = OutboxRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class ClaimedEntry:
    id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    attempts: int  # including the one just claimed


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, *, kind: str, payload: dict[str, Any], now: datetime) -> uuid.UUID:
        entry_id = uuid.uuid4()
        await self._session.execute(
            insert(OUTBOX).values(
                id=entry_id,
                kind=kind,
                payload=payload,
                created_at=now,
                attempts=0,
                next_attempt_at=now,
            )
        )
        return entry_id

    async def due_ids(self, *, now: datetime, limit: int) -> list[uuid.UUID]:
        result = await self._session.execute(
            select(O.id)
            .where(
                O.failed_at.is_(None),
                O.next_attempt_at <= now,
                or_(O.locked_until.is_(None), O.locked_until <= now),
            )
            .order_by(O.next_attempt_at, O.id)
            .limit(limit)
        )
        return [row.id for row in result]

    async def claim(
        self, entry_id: uuid.UUID, *, now: datetime, lease_until: datetime
    ) -> ClaimedEntry | None:
        """Take the entry for one attempt, unless another worker took it first."""
        result = await self._session.execute(
            update(OUTBOX)
            .where(
                O.id == entry_id,
                O.failed_at.is_(None),
                O.next_attempt_at <= now,
                or_(O.locked_until.is_(None), O.locked_until <= now),
            )
            .values(locked_until=lease_until, attempts=O.attempts + 1)
            .returning(O.id, O.kind, O.payload, O.attempts)
        )
        row = result.mappings().one_or_none()
        return ClaimedEntry(**row) if row is not None else None

    async def finish(self, entry_id: uuid.UUID) -> None:
        await self._session.execute(delete(OUTBOX).where(O.id == entry_id))

    async def retry_later(self, entry_id: uuid.UUID, *, at: datetime, error: str) -> None:
        await self._session.execute(
            update(OUTBOX)
            .where(O.id == entry_id)
            .values(next_attempt_at=at, locked_until=None, last_error=error)
        )

    async def give_up(self, entry_id: uuid.UUID, *, now: datetime, error: str) -> None:
        """Keep the entry, marked failed, for an operator to see; it is never tried again."""
        await self._session.execute(
            update(OUTBOX)
            .where(O.id == entry_id)
            .values(failed_at=now, locked_until=None, last_error=error)
        )
