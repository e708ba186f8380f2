"""All SQL about users, and the one caller check that every authenticated request runs."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from taskapi.core.db import ColumnKind, Engine, ReadPool, ReadStatement, Row, SqlParameters
from taskapi.users.tables import UserRow


class EmailTakenError(Exception):
    """The unique constraint on email fired."""


@dataclass(frozen=True, slots=True)
class CallerClaims:
    """Who a verified access token says is calling; the database has not confirmed it yet."""

    user_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Caller:
    """What the caller check confirmed: the user may act now (later also their role)."""

    id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Profile:
    """The signed-in user's account, field for field the contract's User."""

    id: uuid.UUID
    email: str
    full_name: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Credentials:
    id: uuid.UUID
    password_hash: str


# The caller check's columns; every statement that folds the check in starts with them.
CALLER_KINDS: tuple[ColumnKind, ...] = ("uuid",)


def caller_check(p: SqlParameters) -> str:
    """The caller check: one row while the token's user may act, none otherwise.

    This is the only place that decides whether a token's subject is still allowed in. Every
    authenticated read runs it, alone or folded into the statement that reads the rows (see
    `scoped_to_caller`), so extending it (sessions, suspension, roles) is one edit here and
    in `caller_values`.
    """
    return f"SELECT id AS caller_id FROM users WHERE id = {p('caller_id')}"


def caller_values(claims: CallerClaims) -> dict[str, Any]:
    return {"caller_id": claims.user_id}


def scoped_to_caller(
    p: SqlParameters, rows: Callable[[SqlParameters], str], *, order_by: str = ""
) -> str:
    """The caller check and a read of the caller's rows, answered in one round trip.

    No row at all: the caller may not act (401). One row whose read columns are all NULL:
    the caller is fine and has nothing matching. `rows` receives the same parameters, so it
    scopes itself with `p("caller_id")` (see the domain repositories' readable statements).
    The check's columns are named `caller_*`, so `order_by` may name the read's columns
    as they are.
    """
    check = caller_check(p)
    read = rows(p)
    order = f" ORDER BY {order_by}" if order_by else ""
    return (
        f"SELECT caller.*, scoped.* FROM ({check}) AS caller "
        f"LEFT JOIN ({read}) AS scoped ON 1 = 1{order}"
    )


def caller_from_row(row: Row) -> Caller:
    return Caller(row[0])


@cache
def _caller_statement(engine: Engine) -> ReadStatement:
    return ReadStatement.build(engine, caller_check)


@cache
def _profile_statement(engine: Engine) -> ReadStatement:
    def own_row(p: SqlParameters) -> str:
        return f"SELECT id, email, full_name, created_at FROM users WHERE id = {p('caller_id')}"

    return ReadStatement.build(engine, lambda p: scoped_to_caller(p, own_row))


_PROFILE_KINDS: tuple[ColumnKind, ...] = (*CALLER_KINDS, "uuid", "plain", "plain", "datetime")


@cache
def _credentials_statement(engine: Engine) -> ReadStatement:
    return ReadStatement.build(
        engine, lambda p: f"SELECT id, password_hash FROM users WHERE email = {p('email')}"
    )


class UserReads:
    """Reads about users, on the read pool."""

    def __init__(self, reads: ReadPool) -> None:
        self._reads = reads

    async def caller(self, claims: CallerClaims) -> Caller | None:
        rows = await self._reads.fetch(
            _caller_statement(self._reads.engine), caller_values(claims), CALLER_KINDS
        )
        return caller_from_row(rows[0]) if rows else None

    async def profile(self, claims: CallerClaims) -> Profile | None:
        """The caller's own account, if the caller check passes (one round trip)."""
        rows = await self._reads.fetch(
            _profile_statement(self._reads.engine), caller_values(claims), _PROFILE_KINDS
        )
        start = len(CALLER_KINDS)
        return Profile(*rows[0][start : start + 4]) if rows else None

    async def credentials(self, email: str) -> Credentials | None:
        """Id and password hash for a sign-in; nothing else is read."""
        kinds: Sequence[ColumnKind] = ("uuid", "plain")
        rows = await self._reads.fetch(
            _credentials_statement(self._reads.engine), {"email": email}, kinds
        )
        return Credentials(rows[0][0], rows[0][1]) if rows else None


class UserRepository:
    """Writes about users, in the request's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

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
