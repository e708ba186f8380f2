"""Who is calling: the bearer token → its claims (no database), then the caller check, or 401."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from taskapi.auth.errors import CallerGone, InvalidToken, NotAuthenticated
from taskapi.core.db import ReadPoolDep
from taskapi.core.security import InvalidTokenError, PasswordHasher, TokenService
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


TokenServiceDep = Annotated[TokenService, Depends(get_token_service)]
PasswordHasherDep = Annotated[PasswordHasher, Depends(get_password_hasher)]


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
        return CallerClaims(user_id=tokens.user_id_from_access_token(token))
    except InvalidTokenError as exc:
        raise InvalidToken(str(exc)) from exc


CallerClaimsDep = Annotated[CallerClaims, Depends(get_caller_claims)]


async def get_current_user(claims: CallerClaimsDep, reads: ReadPoolDep) -> Caller:
    """The caller check on its own, for requests that do not fold it into a read."""
    caller = await UserReads(reads).caller(claims)
    if caller is None:
        raise CallerGone
    return caller


CurrentUser = Annotated[Caller, Depends(get_current_user)]
