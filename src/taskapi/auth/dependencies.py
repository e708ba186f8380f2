"""Who is calling: the bearer token → the user row, or 401."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from taskapi.auth.errors import InvalidToken, NotAuthenticated
from taskapi.contract.models import User
from taskapi.core.db import SessionDep
from taskapi.core.security import InvalidTokenError, PasswordHasher, TokenService
from taskapi.users.repository import UserRepository

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


async def get_current_user(
    token: Annotated[str | None, Depends(_bearer)],
    tokens: TokenServiceDep,
    session: SessionDep,
) -> User:
    if not token:
        raise NotAuthenticated("Send a bearer access token in the Authorization header.")
    try:
        user_id = tokens.user_id_from_access_token(token)
    except InvalidTokenError as exc:
        raise InvalidToken(str(exc)) from exc
    account = await UserRepository(session).get_account(user_id)
    if account is None:
        raise InvalidToken("The user this token was issued to no longer exists.")
    return User.model_validate(account)


CurrentUser = Annotated[User, Depends(get_current_user)]
