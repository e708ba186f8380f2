"""Registration and password authentication."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from taskapi.auth.errors import EmailAlreadyRegistered, InvalidCredentials
from taskapi.contract.models import UserCreate
from taskapi.core.db import ReadPool
from taskapi.core.security import PasswordHasher
from taskapi.users.repository import EmailTakenError, UserReads, UserRepository
from taskapi.users.tables import UserRow


def normalise_email(email: str) -> str:
    return email.lower()


async def register_user(
    *, session: AsyncSession, hasher: PasswordHasher, data: UserCreate
) -> UserRow:
    # Hash before touching the database: no connection (or SQLite write lock) is held while
    # Argon2 runs, and a taken email costs the same time as a free one.
    password_hash = await hasher.hash(data.password)
    users = UserRepository(session)
    email = normalise_email(data.email)
    if await users.get_by_email(email) is not None:
        raise EmailAlreadyRegistered
    full_name = data.full_name if isinstance(data.full_name, str) else None
    try:
        return await users.add(
            UserRow(email=email, full_name=full_name, password_hash=password_hash)
        )
    except EmailTakenError as exc:  # lost a race with a concurrent registration
        raise EmailAlreadyRegistered from exc


async def authenticate(
    *, reads: ReadPool, hasher: PasswordHasher, email: str, password: str
) -> uuid.UUID:
    """The id of the user these credentials belong to, or InvalidCredentials."""
    email = normalise_email(email)
    # Registration only accepts emails matching the contract's pattern, which excludes NUL;
    # PostgreSQL text cannot even hold one, so such a name is unknown without asking.
    credentials = None if "\x00" in email else await UserReads(reads).credentials(email)
    # The read has handed its connection back already: a sign-in burst holds no pooled
    # connection (nor SQLite's lock) through Argon2.
    # Verify even when the user is unknown, so response time does not reveal which emails exist.
    ok = await hasher.verify(password, credentials.password_hash if credentials else None)
    if credentials is None or not ok:
        raise InvalidCredentials
    return credentials.id
