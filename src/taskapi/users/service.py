"""The signed-in user's own account: profile, sessions, password change and deletion."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from taskapi.auth.errors import CallerGone
from taskapi.auth.repository import ResetTokenRepository, SessionRepository
from taskapi.contract.models import Session, User
from taskapi.core.config import Settings
from taskapi.core.db import ReadPool, utcnow
from taskapi.core.security import PasswordHasher
from taskapi.core.security_events import security_event
from taskapi.users.errors import (
    AccountChangedMeanwhile,
    LastAdmin,
    SessionNotFound,
    WeakPassword,
    WrongPassword,
)
from taskapi.users.passwords import PasswordPolicy
from taskapi.users.repository import (
    ADMIN,
    Account,
    Caller,
    CallerClaims,
    EmailTakenError,
    PasswordOwner,
    Profile,
    UserReads,
    UserRepository,
)
from taskapi.users.tables import UserRow


def to_contract(user: UserRow | Profile) -> User:
    return User(id=user.id, email=user.email, full_name=user.full_name, created_at=user.created_at)


async def get_profile(*, reads: ReadPool, claims: CallerClaims) -> User:
    """The caller's account; the caller check and the read are one statement."""
    profile = await UserReads(reads).profile(claims)
    if profile is None:
        raise CallerGone
    return to_contract(profile)


async def list_sessions(
    *, session: AsyncSession, settings: Settings, caller: Caller
) -> list[Session]:
    idle = timedelta(seconds=settings.refresh_idle_ttl_seconds)
    live = await SessionRepository(session, user_id=caller.id).list_live(now=utcnow())
    return [
        Session(
            id=row.id,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            # The newest refresh token was issued at last_used_at; unused, it dies idle later.
            expires_at=min(row.expires_at, row.last_used_at + idle),
            user_agent=row.user_agent,
            current=row.id == caller.session_id,
        )
        for row in live
    ]


async def end_session(*, session: AsyncSession, caller: Caller, session_id: uuid.UUID) -> None:
    if not await SessionRepository(session, user_id=caller.id).revoke(session_id, now=utcnow()):
        raise SessionNotFound(session_id)
    security_event("session.revoked", user_id=caller.id, session_id=session_id)


async def _verify_password(
    reads: ReadPool, hasher: PasswordHasher, caller: Caller, password: str
) -> PasswordOwner:
    """The caller's account if `password` is its password, else WrongPassword.

    The hash is read on the read pool, whose connection is back in the pool before Argon2
    starts: the request's write session has not begun yet, so nothing (not even SQLite's
    write lock) is held through the verification.
    """
    owner = await UserReads(reads).password_owner(caller.id)
    if owner is None:
        raise CallerGone
    if not await hasher.verify(password, owner.password_hash):
        security_event("password.confirmation_failed", user_id=caller.id)
        raise WrongPassword
    return owner


async def change_password(
    *,
    session: AsyncSession,
    reads: ReadPool,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    caller: Caller,
    current_password: str,
    new_password: str,
) -> None:
    """Set a new password and end every other session of the account."""
    owner = await _verify_password(reads, hasher, caller, current_password)
    if new_password == current_password:
        raise WeakPassword(
            loc=["body", "new_password"],
            message="The new password is the current one; choose a different one",
            type="password_unchanged",
        )
    await policy.check(
        new_password, email=owner.email, full_name=owner.full_name, loc=["body", "new_password"]
    )
    password_hash = await hasher.hash(new_password)
    await UserRepository(session).set_password_hash(caller.id, password_hash)
    # A reset link sent before the change must not undo it.
    await ResetTokenRepository(session).discard_for(caller.id)
    ended = await SessionRepository(session, user_id=caller.id).revoke_all(
        now=utcnow(), keep=caller.session_id
    )
    security_event("password.changed", user_id=caller.id, sessions_ended=ended)


async def delete_account(
    *,
    session: AsyncSession,
    reads: ReadPool,
    hasher: PasswordHasher,
    caller: Caller,
    password: str,
) -> None:
    """Delete the caller's account with everything it owns; the last active admin may not."""
    await _verify_password(reads, hasher, caller, password)
    users = UserRepository(session)
    if caller.is_admin:
        await ensure_another_active_admin(users, caller.id)
    await users.delete(caller.id)
    security_event("account.deleted", user_id=caller.id)


async def ensure_another_active_admin(users: UserRepository, user_id: uuid.UUID) -> None:
    """LastAdmin when `user_id` is the only active admin (it is about to stop being one).

    Locks the active admins' rows first (see UserRepository.lock_active_admin_ids), so two
    admins removing each other at the same time cannot both succeed.
    """
    admins = await users.lock_active_admin_ids()
    if admins == {user_id}:
        raise LastAdmin


async def promote_to_admin(*, session: AsyncSession, account: Account) -> Account:
    """Make an existing account an active admin; its password is left alone."""
    users = UserRepository(session)
    promoted = await users.set_role(account.id, ADMIN)
    promoted = await users.set_active(account.id, True)
    if promoted is None:
        raise AccountChangedMeanwhile(account.email)
    if account.role != ADMIN or not account.is_active:
        security_event(
            "user.role_changed", user_id=account.id, old_role=account.role, new_role=ADMIN
        )
    return promoted


async def create_admin(
    *,
    session: AsyncSession,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    email: str,
    password: str,
) -> Account:
    """A new account with the admin role (the first admin comes from the command line)."""
    await policy.check(password, email=email, loc=["password"])
    password_hash = await hasher.hash(password)
    users = UserRepository(session)
    try:
        row = await users.add(
            UserRow(email=email, password_hash=password_hash, role=ADMIN, is_active=True)
        )
    except EmailTakenError as exc:
        raise AccountChangedMeanwhile(email) from exc
    security_event("admin.created", user_id=row.id)
    return Account(
        id=row.id,
        email=row.email,
        full_name=row.full_name,
        role=row.role,
        is_active=row.is_active,
        created_at=row.created_at,
    )
