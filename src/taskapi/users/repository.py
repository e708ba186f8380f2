"""All SQL about users, and the one caller check that every authenticated request runs."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from taskapi.core.db import (
    ColumnKind,
    Engine,
    ReadPool,
    ReadStatement,
    Row,
    SqlParameters,
    utcnow,
)
from taskapi.users.tables import UserRow

U = UserRow.__table__.c  # type: ignore[attr-defined]
USERS = UserRow.__table__  # type: ignore[attr-defined]

ADMIN = "admin"


class EmailTakenError(Exception):
    """The unique constraint on email fired."""


@dataclass(frozen=True, slots=True)
class CallerClaims:
    """Who a verified access token says is calling; the database has not confirmed it yet."""

    user_id: uuid.UUID
    session_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class Caller:
    """What the caller check confirmed: the user may act now, with this role, in this session."""

    id: uuid.UUID
    role: str
    session_id: uuid.UUID

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


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
    is_active: bool


@dataclass(frozen=True, slots=True)
class PasswordOwner:
    """What confirming an action with the password needs, and a new password is judged by."""

    password_hash: str
    email: str
    full_name: str | None


@dataclass(frozen=True, slots=True)
class Account:
    """A user as the account operations need it (no password hash)."""

    id: uuid.UUID
    email: str
    full_name: str | None
    role: str
    is_active: bool
    created_at: datetime


ACCOUNT_COLUMNS = (U.id, U.email, U.full_name, U.role, U.is_active, U.created_at)

# The caller check's columns; every statement that folds the check in starts with them.
CALLER_KINDS: tuple[ColumnKind, ...] = ("uuid", "plain", "uuid")


def caller_check(p: SqlParameters) -> str:
    """The caller check: one row while the token's user may act, none otherwise.

    This is the only place that decides whether a token's subject is still allowed in. Every
    authenticated read runs it, alone or folded into the statement that reads the rows (see
    `scoped_to_caller`). The user must exist and be active (not suspended), and the token's
    session must be theirs, not revoked (sign-out, password change or reset, suspension,
    refresh-token reuse) and not past its absolute expiry. The role comes from the same row,
    so a demotion counts from the next request. Nothing here writes: `last_used_at` is
    recorded at sign-in and refresh only.
    """
    return (
        "SELECT u.id AS caller_id, u.role AS caller_role, s.id AS caller_session_id "
        "FROM users u JOIN sessions s ON s.user_id = u.id "
        f"WHERE u.id = {p('caller_id')} AND s.id = {p('caller_session_id')} "
        f"AND u.is_active AND s.revoked_at IS NULL AND s.expires_at > {p('caller_now')}"
    )


def caller_values(claims: CallerClaims) -> dict[str, Any]:
    return {
        "caller_id": claims.user_id,
        "caller_session_id": claims.session_id,
        "caller_now": utcnow(),
    }


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
    return Caller(row[0], row[1], row[2])


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
        engine,
        lambda p: f"SELECT id, password_hash, is_active FROM users WHERE email = {p('email')}",
    )


@cache
def _password_owner_statement(engine: Engine) -> ReadStatement:
    return ReadStatement.build(
        engine,
        lambda p: f"SELECT password_hash, email, full_name FROM users WHERE id = {p('user_id')}",
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
        """Id, password hash and active flag for a sign-in; nothing else is read."""
        kinds: Sequence[ColumnKind] = ("uuid", "plain", "plain")
        rows = await self._reads.fetch(
            _credentials_statement(self._reads.engine), {"email": email}, kinds
        )
        return Credentials(rows[0][0], rows[0][1], bool(rows[0][2])) if rows else None

    async def password_owner(self, user_id: uuid.UUID) -> PasswordOwner | None:
        """For confirming an action with the password; the connection is back in the pool
        before the (slow) verification starts."""
        rows = await self._reads.fetch(
            _password_owner_statement(self._reads.engine),
            {"user_id": user_id},
            ("plain", "plain", "plain"),
        )
        return PasswordOwner(*rows[0]) if rows else None


class UserRepository:
    """Writes about users (and the reads they decide on), in the request's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _one(self, statement: Select[Any]) -> Mapping[str, Any] | None:
        row: Mapping[str, Any] | None = (await self._session.execute(statement)).mappings().first()
        return row

    async def get_account(self, user_id: uuid.UUID) -> Account | None:
        row = await self._one(select(*ACCOUNT_COLUMNS).where(U.id == user_id))
        return Account(**row) if row is not None else None

    async def get_account_by_email(self, email: str) -> Account | None:
        row = await self._one(select(*ACCOUNT_COLUMNS).where(U.email == email))
        return Account(**row) if row is not None else None

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

    async def set_password_hash(self, user_id: uuid.UUID, password_hash: str) -> None:
        await self._session.execute(
            update(USERS).where(U.id == user_id).values(password_hash=password_hash)
        )

    async def set_active(self, user_id: uuid.UUID, active: bool) -> Account | None:
        return await self._update_account(user_id, is_active=active)

    async def set_role(self, user_id: uuid.UUID, role: str) -> Account | None:
        return await self._update_account(user_id, role=role)

    async def _update_account(self, user_id: uuid.UUID, **values: object) -> Account | None:
        result = await self._session.execute(
            update(USERS).where(U.id == user_id).values(**values).returning(*ACCOUNT_COLUMNS)
        )
        row = result.mappings().one_or_none()
        return Account(**row) if row is not None else None

    async def delete(self, user_id: uuid.UUID) -> bool:
        """Delete the user; the database cascades to their tasks, sessions and tokens."""
        result = await self._session.execute(delete(USERS).where(U.id == user_id).returning(U.id))
        return result.first() is not None

    async def lock_active_admin_ids(self) -> set[uuid.UUID]:
        """The active admins, with their rows locked until the transaction ends.

        Whoever wants to suspend, demote or delete an admin reads this first: on PostgreSQL the
        row locks make concurrent attempts wait and then see each other's result, so two
        admins cannot remove each other at once; SQLite serialises writers anyway (FOR UPDATE
        is not rendered there).
        """
        statement = select(U.id).where(U.role == ADMIN, U.is_active.is_(True)).with_for_update()
        result = await self._session.execute(statement)
        return {row.id for row in result}
