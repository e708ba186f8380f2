"""All SQL about users."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from taskapi.users.tables import UserRow


class EmailTakenError(Exception):
    """The unique constraint on email fired."""


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_by_id(self, user_id: uuid.UUID) -> UserRow | None:
        return await self._session.get(UserRow, user_id)

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
