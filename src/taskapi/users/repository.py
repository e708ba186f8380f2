"""All SQL about users."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from taskapi.core.db import fetch_one
from taskapi.users.tables import UserRow

U = UserRow.__table__.c  # type: ignore[attr-defined]


class EmailTakenError(Exception):
    """The unique constraint on email fired."""


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_account(self, user_id: uuid.UUID) -> Mapping[str, Any] | None:
        """The public fields of one user (no password hash), as a plain row; a hot path."""
        return await fetch_one(
            self._session,
            select(U.id, U.email, U.full_name, U.created_at).where(U.id == user_id),
        )

    async def get_credentials(self, email: str) -> Mapping[str, Any] | None:
        """Id and password hash for a sign-in; nothing else is read."""
        return await fetch_one(self._session, select(U.id, U.password_hash).where(U.email == email))

    async def get_by_email(self, email: str) -> UserRow | None:
        result = await self._session.execute(select(UserRow).where(col(UserRow.email) == email))
        return result.scalar_one_or_none()

    async def add(self, user: UserRow) -> UserRow:
        """Insert and flush; a concurrent registration of the same email raises EmailTakenError."""
        try:
            async with self._session.begin_nested():
                self._session.add(user)
                await self._session.flush()
        except IntegrityError as exc:
            raise EmailTakenError from exc
        return user
