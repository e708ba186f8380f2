"""Who is calling: the bearer token → its claims (no database), then the caller check
(user and live session) or 401; the budgets callers spend; the one guard of the admin
operations."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from taskapi.auth.errors import (
    AdminRequired,
    CallerGone,
    InvalidCredentials,
    InvalidToken,
    NotAuthenticated,
)
from taskapi.auth.service import normalise_email
from taskapi.core.config import Settings
from taskapi.core.db import Database, ReadPoolDep
from taskapi.core.ratelimit import RateLimiter
from taskapi.core.security import InvalidTokenError, PasswordHasher, TokenService
from taskapi.outbox.worker import OutboxWorker
from taskapi.users.errors import WrongPassword
from taskapi.users.passwords import PasswordPolicy
from taskapi.users.repository import Caller, CallerClaims, UserReads

# auto_error=False: a missing token must become our 401 problem, not FastAPI's plain 401.
_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


# Plain lookups are `async def` on purpose: FastAPI runs sync dependencies in a thread.
async def get_token_service(request: Request) -> TokenService:
    service: TokenService = request.app.state.token_service
    return service


async def get_password_hasher(request: Request) -> PasswordHasher:
    hasher: PasswordHasher = request.app.state.password_hasher
    return hasher


async def get_rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


async def get_password_policy(request: Request) -> PasswordPolicy:
    policy: PasswordPolicy = request.app.state.password_policy
    return policy


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_outbox_worker(request: Request) -> OutboxWorker:
    worker: OutboxWorker = request.app.state.outbox_worker
    return worker


TokenServiceDep = Annotated[TokenService, Depends(get_token_service)]
RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]
PasswordHasherDep = Annotated[PasswordHasher, Depends(get_password_hasher)]
PasswordPolicyDep = Annotated[PasswordPolicy, Depends(get_password_policy)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
OutboxWorkerDep = Annotated[OutboxWorker, Depends(get_outbox_worker)]


async def get_caller_claims(
    token: Annotated[str | None, Depends(_bearer)], request: Request
) -> CallerClaims:
    """The verified token's claims. Reads that fold the caller check into their own statement
    start here; everything else uses CurrentUser. (Every authenticated request resolves it, so
    it takes the token service from the app itself rather than through one more dependency.)
    """
    tokens: TokenService = request.app.state.token_service
    if not token:
        raise NotAuthenticated("Send a bearer access token in the Authorization header.")
    try:
        verified = tokens.verify_access_token(token)
    except InvalidTokenError as exc:
        raise InvalidToken(str(exc)) from exc
    claims = CallerClaims(user_id=verified.user_id, session_id=verified.session_id)
    # The API-wide per-user budget, spent here because every authenticated operation starts
    # here: once per request, keyed by the verified subject, before any database work. (Called
    # on the class so the conformance test can follow it to the 429 it raises.)
    limiter: RateLimiter = request.app.state.rate_limiter
    await RateLimiter.spend(limiter, request, limiter.budgets.user, claims.user_id.hex)
    return claims


CallerClaimsDep = Annotated[CallerClaims, Depends(get_caller_claims)]


async def get_current_user(claims: CallerClaimsDep, reads: ReadPoolDep) -> Caller:
    """The caller check on its own, for requests that do not fold it into a read."""
    caller = await UserReads(reads).caller(claims)
    if caller is None:
        raise CallerGone
    return caller


CurrentUser = Annotated[Caller, Depends(get_current_user)]


async def authenticate_bearer(request: Request) -> CallerClaims:
    """CurrentUser's checks for a request no route handles (the MCP endpoint): the bearer
    token verified, the per-user budget spent, and the caller check run; or the same 401
    (or 429) problems."""
    claims = await get_caller_claims(await _bearer(request), request)
    database: Database = request.app.state.database
    await get_current_user(claims, database.reads)
    return claims


async def require_hashing_capacity(hasher: PasswordHasherDep) -> None:
    """503 at once when every password worker and waiting place is taken (a flood).

    First among the sign-in and registration dependencies: a refusal costs no database
    read and no rate-limit budget.
    """
    hasher.check_capacity()


async def spend_registration_budget(request: Request, limiter: RateLimiterDep) -> None:
    """Registrations are counted per client address."""
    address = limiter.client_address(request.scope)
    await limiter.spend(request, limiter.budgets.register, address)


async def spend_password_reset_budget(request: Request, limiter: RateLimiterDep) -> None:
    """Password-reset requests are counted per client address, so nobody can flood a
    mailbox (or the outbox) with reset mail, whichever addresses they name."""
    address = limiter.client_address(request.scope)
    await limiter.spend(request, limiter.budgets.password_reset, address)


async def spend_refresh_budget(request: Request, limiter: RateLimiterDep) -> None:
    """Refresh-token exchanges are counted per client address (the token is the credential,
    and there is no user to count by before it is checked)."""
    address = limiter.client_address(request.scope)
    await limiter.spend(request, limiter.budgets.refresh, address)


def account_key(email: str) -> str:
    """How an account is named in the rate-limit store: never the email itself.

    Known and unknown emails are keyed alike, so a refusal says nothing about which exist.
    """
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()[:32]


async def guard_sign_in(request: Request, limiter: RateLimiterDep) -> AsyncIterator[None]:
    """Budgets and back-off for sign-in, per client address and per account.

    Refusals happen before the password is verified, so a locked-out attacker costs no
    Argon2 work. The outcome of the attempt is seen here too: a failure extends the
    back-off, a success clears the account's failures.
    """
    form = await request.form()  # already parsed for the route; Starlette keeps it
    username = form.get("username")
    account = account_key(username if isinstance(username, str) else "")
    address = limiter.client_address(request.scope)
    await limiter.spend(request, limiter.budgets.sign_in_address, address)
    await limiter.check_back_off(limiter.address_failures, address)
    await limiter.check_back_off(limiter.account_failures, account)
    # Not advertised: the remaining count would show anyone how often this email was tried.
    await limiter.spend(request, limiter.budgets.sign_in_account, account, advertise=False)
    try:
        yield
    except InvalidCredentials:
        await limiter.record_failure(limiter.account_failures, account)
        await limiter.record_failure(limiter.address_failures, address)
        raise
    await limiter.forget_failures(limiter.account_failures, account)


async def guard_password_confirmation(
    caller: CurrentUser, limiter: RateLimiterDep
) -> AsyncIterator[None]:
    """The account's sign-in back-off, for operations that confirm the current password.

    Without it, anyone holding a stolen access token could guess the account's password
    through these operations at the pace of the per-user API budget. Wrong passwords here
    count as failed attempts of the account (by its id), with the same free failures and
    growing waits as sign-in; a refusal comes before any password is checked.
    """
    subject = f"user:{caller.id}"
    await limiter.check_back_off(limiter.account_failures, subject)
    try:
        yield
    except WrongPassword:
        await limiter.record_failure(limiter.account_failures, subject)
        raise
    await limiter.forget_failures(limiter.account_failures, subject)


async def require_admin(caller: CurrentUser) -> Caller:
    """The one guard of every admin operation: 403 for anyone whose role is not admin."""
    if not caller.is_admin:
        raise AdminRequired(caller.role)
    return caller


AdminCaller = Annotated[Caller, Depends(require_admin)]
