"""Registration, sign-in, refresh-token rotation, sign-out and password reset."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from taskapi.auth.errors import (
    AccountSuspended,
    EmailAlreadyRegistered,
    InvalidCredentials,
    InvalidRefreshToken,
    InvalidResetToken,
    RefreshTokenReused,
)
from taskapi.auth.password_reset import OUTBOX_KIND
from taskapi.auth.repository import (
    RefreshTokenRepository,
    RefreshTokenState,
    ResetTokenReads,
    ResetTokenRepository,
    SessionRepository,
)
from taskapi.contract.models import UserCreate
from taskapi.core.config import Settings
from taskapi.core.db import ReadPool, utcnow
from taskapi.core.middleware import current_client_address, current_request_id
from taskapi.core.security import (
    PasswordHasher,
    TokenService,
    hash_opaque_token,
    new_opaque_token,
)
from taskapi.core.security_events import security_event
from taskapi.outbox.repository import OutboxRepository
from taskapi.users.passwords import PasswordPolicy
from taskapi.users.repository import Caller, EmailTakenError, UserReads, UserRepository
from taskapi.users.tables import UserRow

# Longest User-Agent kept with a session (the column's size).
USER_AGENT_CHARACTERS = 300


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str


def normalise_email(email: str) -> str:
    return email.lower()


async def register_user(
    *, session: AsyncSession, hasher: PasswordHasher, policy: PasswordPolicy, data: UserCreate
) -> UserRow:
    email = normalise_email(data.email)
    full_name = data.full_name if isinstance(data.full_name, str) else None
    await policy.check(data.password, email=email, full_name=full_name, loc=["body", "password"])
    # Hash before touching the database: no connection (or SQLite write lock) is held while
    # Argon2 runs, and a taken email costs the same time as a free one.
    password_hash = await hasher.hash(data.password)
    users = UserRepository(session)
    if await users.get_by_email(email) is not None:
        raise EmailAlreadyRegistered
    try:
        return await users.add(
            UserRow(email=email, full_name=full_name, password_hash=password_hash)
        )
    except EmailTakenError as exc:  # lost a race with a concurrent registration
        raise EmailAlreadyRegistered from exc


async def sign_in(
    *,
    session: AsyncSession,
    reads: ReadPool,
    hasher: PasswordHasher,
    tokens: TokenService,
    settings: Settings,
    email: str,
    password: str,
    user_agent: str | None,
) -> TokenPair:
    """Check the credentials and start a new session; InvalidCredentials or AccountSuspended."""
    email = normalise_email(email)
    # Registration only accepts emails matching the contract's pattern, which excludes NUL;
    # PostgreSQL text cannot even hold one, so such a name is unknown without asking.
    credentials = None if "\x00" in email else await UserReads(reads).credentials(email)
    # The read has handed its connection back already, and the write session has not begun:
    # a sign-in burst holds no pooled connection (nor SQLite's lock) through Argon2.
    # Verify even when the user is unknown, so response time does not reveal which emails exist.
    ok = await hasher.verify(password, credentials.password_hash if credentials else None)
    if credentials is None or not ok:
        security_event(
            "signin.failed",
            user_id=credentials.id if credentials else None,
            reason="wrong_password" if credentials else "unknown_email",
        )
        raise InvalidCredentials
    if not credentials.is_active:
        security_event("signin.failed", user_id=credentials.id, reason="suspended")
        raise AccountSuspended
    now = utcnow()
    expires_at = now + timedelta(seconds=settings.session_absolute_ttl_seconds)
    sessions = SessionRepository(session, user_id=credentials.id)
    await sessions.purge_ended(now=now)
    await sessions.revoke_least_recently_used(now=now, keep=settings.max_sessions_per_user - 1)
    session_id = await sessions.create(
        now=now,
        expires_at=expires_at,
        user_agent=user_agent[:USER_AGENT_CHARACTERS] if user_agent else None,
    )
    pair = await _issue(
        session,
        tokens,
        settings,
        user_id=credentials.id,
        session_id=session_id,
        session_expires_at=expires_at,
        now=now,
    )
    security_event("signin.succeeded", user_id=credentials.id, session_id=session_id)
    return pair


async def refresh(
    *, session: AsyncSession, tokens: TokenService, settings: Settings, refresh_token: str
) -> TokenPair:
    """Spend a refresh token for a new pair (rotation).

    A spent token presented again revokes its whole session (RefreshTokenReused).
    """
    now = utcnow()
    token_hash = hash_opaque_token(refresh_token)
    refresh_tokens = RefreshTokenRepository(session)
    state = await refresh_tokens.find(token_hash)
    if state is None:
        raise InvalidRefreshToken("The refresh token is not one this server issued; sign in.")
    if state.used_at is not None:
        await _revoke_for_reuse(session, state, now)
    if state.session_revoked_at is not None or state.session_expires_at <= now:
        raise InvalidRefreshToken("The session of this refresh token has ended; sign in again.")
    if not state.user_active:
        raise InvalidRefreshToken("The account is suspended; its sessions have ended.")
    if state.expires_at <= now:
        raise InvalidRefreshToken("The refresh token has expired unused; sign in again.")
    if not await refresh_tokens.spend(token_hash, now=now):
        # Another request spent it between our read and this write: that is reuse too.
        await _revoke_for_reuse(session, state, now)
    await SessionRepository(session, user_id=state.user_id).touch(state.session_id, now=now)
    return await _issue(
        session,
        tokens,
        settings,
        user_id=state.user_id,
        session_id=state.session_id,
        session_expires_at=state.session_expires_at,
        now=now,
    )


async def _revoke_for_reuse(session: AsyncSession, state: RefreshTokenState, now: datetime) -> None:
    await SessionRepository(session, user_id=state.user_id).revoke(state.session_id, now=now)
    security_event("refresh.reuse_detected", user_id=state.user_id, session_id=state.session_id)
    raise RefreshTokenReused


async def _issue(
    session: AsyncSession,
    tokens: TokenService,
    settings: Settings,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    session_expires_at: datetime,
    now: datetime,
) -> TokenPair:
    """An access token for the session and its next refresh token (stored only as a hash)."""
    refresh_token = new_opaque_token()
    idle_expiry = now + timedelta(seconds=settings.refresh_idle_ttl_seconds)
    await SessionRepository(session, user_id=user_id).add_refresh_token(
        session_id,
        token_hash=hash_opaque_token(refresh_token),
        now=now,
        expires_at=min(idle_expiry, session_expires_at),
    )
    access = tokens.issue_access_token(user_id=user_id, session_id=session_id, now=now)
    return TokenPair(
        access_token=access.token, expires_in=access.expires_in, refresh_token=refresh_token
    )


async def logout(*, session: AsyncSession, caller: Caller) -> None:
    """End the caller's current session; its tokens are refused from the next request on."""
    await SessionRepository(session, user_id=caller.id).revoke(caller.session_id, now=utcnow())
    security_event("logout", user_id=caller.id, session_id=caller.session_id)


async def request_password_reset(*, session: AsyncSession, email: str) -> None:
    """Store the request; the same work whether or not the address has an account.

    Finding the account, minting the token and sending the mail happen after the response,
    in the outbox worker (see auth.password_reset), so neither the status, the body nor the
    time of this response depends on the address.
    """
    await OutboxRepository(session).add(
        kind=OUTBOX_KIND,
        payload={
            "email": normalise_email(email),
            "request_id": current_request_id.get(),
            "client": current_client_address.get(),
        },
        now=utcnow(),
    )


async def confirm_password_reset(
    *,
    session: AsyncSession,
    reads: ReadPool,
    hasher: PasswordHasher,
    policy: PasswordPolicy,
    token: str,
    new_password: str,
) -> None:
    """Set the password with an emailed token and end every session of the account."""
    token_hash = hash_opaque_token(token)
    # Read on the read pool: nothing is held while the policy and Argon2 run.
    target = await ResetTokenReads(reads).find_valid(token_hash, now=utcnow())
    if target is None:
        raise InvalidResetToken
    await policy.check(
        new_password,
        email=target.email,
        full_name=target.full_name,
        loc=["body", "new_password"],
    )
    password_hash = await hasher.hash(new_password)
    now = utcnow()
    resets = ResetTokenRepository(session)
    if not await resets.spend(token_hash, now=now):  # spent or expired meanwhile
        raise InvalidResetToken
    await UserRepository(session).set_password_hash(target.user_id, password_hash)
    await resets.discard_for(target.user_id)
    ended = await SessionRepository(session, user_id=target.user_id).revoke_all(now=now)
    security_event("password_reset.completed", user_id=target.user_id, sessions_ended=ended)
