"""The outbox worker: turns stored entries into mail after the response, retrying failures.

Each entry is claimed with a conditional UPDATE that takes a lease, so several processes (or
the after-response drain and the periodic loop of one process) never work on the same entry
at once, on SQLite or PostgreSQL. An entry's handler does its database work and returns the
message; the worker commits that work first and only then sends, so a link never refers to a
token that was not stored. A failed attempt is logged and retried with exponential backoff; after
the last attempt the entry is kept, marked failed, and logged as an error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from taskapi.core.db import READ_ONLY, utcnow
from taskapi.mail.mailer import Mailer, PermanentMailError
from taskapi.outbox.repository import ClaimedEntry, OutboxRepository

logger = logging.getLogger("taskapi.outbox")

# What a handler gets: a session of its own, the entry's payload, and the time of the attempt.
Handler = Callable[[AsyncSession, Mapping[str, Any], datetime], Awaitable[EmailMessage | None]]

# How long a claimed entry stays taken: longer than one attempt can last.
LEASE = timedelta(minutes=2)
# Entries one drain claims at most, so one call never runs unbounded.
BATCH = 50


class OutboxWorker:
    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        mailer: Mailer,
        handlers: Mapping[str, Handler],
        max_attempts: int,
        retry_base_seconds: float,
        poll_seconds: float,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._mailer = mailer
        self._handlers = dict(handlers)
        self._max_attempts = max_attempts
        self._retry_base = retry_base_seconds
        self._poll_seconds = poll_seconds

    async def drain(self, *, now: datetime | None = None) -> int:
        """Attempt every entry due at `now` (default: the current time); returns how many."""
        at = now or utcnow()
        async with self._sessionmaker() as session:
            # A read: on SQLite it must not take the write lock (see core.db).
            await session.connection(execution_options={READ_ONLY: True})
            due = await OutboxRepository(session).due_ids(now=at, limit=BATCH)
        attempted = 0
        for entry_id in due:
            entry = await self._claim(entry_id, at)
            if entry is not None:
                await self._attempt(entry, at)
                attempted += 1
        return attempted

    async def run(self) -> None:
        """Drain now and then every poll interval, until cancelled (the app's lifespan)."""
        while True:
            try:
                await self.drain()
            except Exception:
                logger.exception("outbox: draining failed; trying again in %ss", self._poll_seconds)
            await asyncio.sleep(self._poll_seconds)

    async def _claim(self, entry_id: Any, now: datetime) -> ClaimedEntry | None:
        async with self._sessionmaker() as session, session.begin():
            return await OutboxRepository(session).claim(entry_id, now=now, lease_until=now + LEASE)

    async def _attempt(self, entry: ClaimedEntry, now: datetime) -> None:
        try:
            handler = self._handlers.get(entry.kind)
            if handler is None:
                msg = f"no handler for outbox entries of kind {entry.kind!r}"
                raise PermanentMailError(msg)
            async with self._sessionmaker() as session, session.begin():
                message = await handler(session, entry.payload, now)
            if message is not None:
                await self._mailer.send(message)
        except Exception as exc:
            await self._failed(entry, exc, now)
            return
        async with self._sessionmaker() as session, session.begin():
            await OutboxRepository(session).finish(entry.id)

    async def _failed(self, entry: ClaimedEntry, exc: Exception, now: datetime) -> None:
        error = f"{type(exc).__name__}: {exc}"[:500]
        permanent = isinstance(exc, PermanentMailError)
        async with self._sessionmaker() as session, session.begin():
            outbox = OutboxRepository(session)
            if permanent or entry.attempts >= self._max_attempts:
                await outbox.give_up(entry.id, now=now, error=error)
                logger.error(
                    "outbox: gave up on %s entry %s after %d attempt(s): %s",
                    entry.kind,
                    entry.id,
                    entry.attempts,
                    error,
                )
                return
            delay = timedelta(seconds=self._retry_base * 2 ** (entry.attempts - 1))
            await outbox.retry_later(entry.id, at=now + delay, error=error)
        logger.warning(
            "outbox: %s entry %s attempt %d of %d failed (%s); next attempt in %ds",
            entry.kind,
            entry.id,
            entry.attempts,
            self._max_attempts,
            error,
            delay.total_seconds(),
        )
