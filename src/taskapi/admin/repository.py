"""All SQL for listing accounts: keyset pages ordered by email, never a task column."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from taskapi.users.repository import ACCOUNT_COLUMNS, Account, U


@dataclass(frozen=True, slots=True)
class AccountFilters:
    email_prefix: str | None = None
    role: str | None = None
    active: bool | None = None


class AccountRepository:
    """Accounts as administrators see them. Emails are unique, so they alone order a page."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def list_page(
        self, *, filters: AccountFilters, after_email: str | None, limit: int
    ) -> list[Account]:
        statement = select(*ACCOUNT_COLUMNS)
        if filters.email_prefix is not None:
            statement = statement.where(U.email.startswith(filters.email_prefix, autoescape=True))
        if filters.role is not None:
            statement = statement.where(U.role == filters.role)
        if filters.active is not None:
            statement = statement.where(U.is_active.is_(filters.active))
        if after_email is not None:
            statement = statement.where(U.email > after_email)
        result = await self._session.execute(statement.order_by(U.email).limit(limit))
        return [Account(**row) for row in result.mappings()]
