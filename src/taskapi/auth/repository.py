"""All SQL about sessions, refresh tokens and password-reset tokens.

Session statements are scoped to one user; refresh and reset tokens are found by the hash of
the token itself, which is the credential.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from taskapi.auth.tables import PasswordResetTokenRow, RefreshTokenRow, SessionRow
from taskapi.core.db import ColumnKind, Engine, ReadPool, ReadStatement
from taskapi.users.tables import UserRow

S = SessionRow.__table__.c  # type: ignore[attr-defined]
R = RefreshTokenRow.__table__.c  # type: ignore[attr-defined]
P = PasswordResetTokenRow.__table__.c  # type: ignore[attr-defined]
U = UserRow.__table__.c  # type: ignore[attr-defined]
SESSIONS = SessionRow.__table__  # type: ignore[attr-defined]
REFRESH_TOKENS = RefreshTokenRow.__table__  # type: ignore[attr-defined]
RESET_TOKENS = PasswordResetTokenRow.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class LiveSession:
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class RefreshTokenState:
    """A presented refresh token and everything that decides whether it may be exchanged."""

    session_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime
    used_at: datetime | None
    session_revoked_at: datetime | None
    session_expires_at: datetime
    user_active: bool


@dataclass(frozen=True, slots=True)
class ResetTarget:
    user_id: uuid.UUID
    email: str
    full_name: str | None


def _live(now: datetime) -> ColumnElement[bool]:
    return and_(S.revoked_at.is_(None), S.expires_at > now)


async def _rows(session: AsyncSession, statement: Select[Any]) -> list[dict[str, Any]]:
    return [dict(row) for row in (await session.execute(statement)).mappings()]


class SessionRepository:
    """Sessions of one user."""

    def __init__(self, session: AsyncSession, *, user_id: uuid.UUID) -> None:
        self._session = session
        self._user_id = user_id

    async def create(
        self, *, now: datetime, expires_at: datetime, user_agent: str | None
    ) -> uuid.UUID:
        session_id = uuid.uuid4()
        await self._session.execute(
            insert(SESSIONS).values(
                id=session_id,
                user_id=self._user_id,
                created_at=now,
                last_used_at=now,
                expires_at=expires_at,
                user_agent=user_agent,
            )
        )
        return session_id

    async def add_refresh_token(
        self, session_id: uuid.UUID, *, token_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        await self._session.execute(
            insert(REFRESH_TOKENS).values(
                token_hash=token_hash, session_id=session_id, issued_at=now, expires_at=expires_at
            )
        )

    async def touch(self, session_id: uuid.UUID, *, now: datetime) -> None:
        """Record that the session obtained tokens (sign-in, refresh); never per request."""
        await self._session.execute(
            update(SESSIONS)
            .where(S.id == session_id, S.user_id == self._user_id)
            .values(last_used_at=now)
        )

    async def list_live(self, *, now: datetime) -> list[LiveSession]:
        rows = await _rows(
            self._session,
            select(S.id, S.created_at, S.last_used_at, S.expires_at, S.user_agent)
            .where(S.user_id == self._user_id, _live(now))
            .order_by(S.last_used_at.desc(), S.id),
        )
        return [LiveSession(**row) for row in rows]

    async def revoke(self, session_id: uuid.UUID, *, now: datetime) -> bool:
        """End one live session of this user; False when there is none with this id."""
        result = await self._session.execute(
            update(SESSIONS)
            .where(S.id == session_id, S.user_id == self._user_id, _live(now))
            .values(revoked_at=now)
            .returning(S.id)
        )
        return result.first() is not None

    async def revoke_all(self, *, now: datetime, keep: uuid.UUID | None = None) -> int:
        """End every live session of this user (but `keep`); returns how many ended."""
        condition = and_(S.user_id == self._user_id, _live(now))
        if keep is not None:
            condition = and_(condition, S.id != keep)
        result = await self._session.execute(
            update(SESSIONS).where(condition).values(revoked_at=now).returning(S.id)
        )
        return len(result.all())

    async def revoke_least_recently_used(self, *, now: datetime, keep: int) -> int:
        """End the live sessions beyond the `keep` most recently used ones."""
        newest = (
            select(S.id)
            .where(S.user_id == self._user_id, _live(now))
            .order_by(S.last_used_at.desc(), S.id)
            .limit(keep)
        )
        result = await self._session.execute(
            update(SESSIONS)
            .where(S.user_id == self._user_id, _live(now), S.id.not_in(newest.scalar_subquery()))
            .values(revoked_at=now)
            .returning(S.id)
        )
        return len(result.all())

    async def purge_ended(self, *, now: datetime) -> None:
        """Delete this user's sessions that have ended (their refresh tokens go with them)."""
        await self._session.execute(
            delete(SESSIONS).where(
                S.user_id == self._user_id, or_(S.revoked_at.is_not(None), S.expires_at <= now)
            )
        )


class RefreshTokenRepository:
    """Refresh tokens, found by their hash."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def find(self, token_hash: str) -> RefreshTokenState | None:
        rows = await _rows(
            self._session,
            select(
                R.session_id,
                S.user_id,
                R.expires_at,
                R.used_at,
                S.revoked_at.label("session_revoked_at"),
                S.expires_at.label("session_expires_at"),
                U.is_active.label("user_active"),
            )
            .select_from(
                REFRESH_TOKENS.join(SESSIONS, S.id == R.session_id).join(
                    UserRow.__table__,  # type: ignore[attr-defined]
                    U.id == S.user_id,
                )
            )
            .where(R.token_hash == token_hash),
        )
        return RefreshTokenState(**rows[0]) if rows else None

    async def spend(self, token_hash: str, *, now: datetime) -> bool:
        """Mark the token used, if nobody did first; the UPDATE is the arbiter of races."""
        result = await self._session.execute(
            update(REFRESH_TOKENS)
            .where(R.token_hash == token_hash, R.used_at.is_(None))
            .values(used_at=now)
            .returning(R.token_hash)
        )
        return result.first() is not None


@cache
def _valid_reset_statement(engine: Engine) -> ReadStatement:
    return ReadStatement.build(
        engine,
        lambda p: (
            "SELECT t.user_id, u.email, u.full_name FROM password_reset_tokens t "
            "JOIN users u ON u.id = t.user_id "
            f"WHERE t.token_hash = {p('token_hash')} AND t.used_at IS NULL "
            f"AND t.expires_at > {p('now')}"
        ),
    )


_RESET_TARGET_KINDS: tuple[ColumnKind, ...] = ("uuid", "plain", "plain")


class ResetTokenReads:
    """Reads of reset tokens, on the read pool (nothing is held while a password is hashed)."""

    def __init__(self, reads: ReadPool) -> None:
        self._reads = reads

    async def find_valid(self, token_hash: str, *, now: datetime) -> ResetTarget | None:
        """The account a valid (known, unspent, unexpired) token resets, or None."""
        rows = await self._reads.fetch(
            _valid_reset_statement(self._reads.engine),
            {"token_hash": token_hash, "now": now},
            _RESET_TARGET_KINDS,
        )
        return ResetTarget(*rows[0]) if rows else None


class ResetTokenRepository:
    """Password-reset tokens (writes)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def replace(
        self, user_id: uuid.UUID, *, token_hash: str, now: datetime, expires_at: datetime
    ) -> None:
        """Store a new token for the user; their earlier unused ones stop working."""
        await self.discard_for(user_id)
        await self._session.execute(
            insert(RESET_TOKENS).values(
                token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires_at
            )
        )

    async def spend(self, token_hash: str, *, now: datetime) -> bool:
        """Mark the token used if it still may be; one of two racing confirmations wins."""
        result = await self._session.execute(
            update(RESET_TOKENS)
            .where(P.token_hash == token_hash, P.used_at.is_(None), P.expires_at > now)
            .values(used_at=now)
            .returning(P.token_hash)
        )
        return result.first() is not None

    async def discard_for(self, user_id: uuid.UUID) -> None:
        await self._session.execute(delete(RESET_TOKENS).where(P.user_id == user_id))
