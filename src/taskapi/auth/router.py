"""HTTP for registration and tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response, status

from taskapi.auth import service
from taskapi.auth.dependencies import (
    PasswordHasherDep,
    TokenServiceDep,
    guard_sign_in,
    require_hashing_capacity,
    spend_registration_budget,
)
from taskapi.contract.models import Token, TokenRequest, TokenType, User, UserCreate
from taskapi.core.db import ReadPoolDep, SessionDep
from taskapi.users.service import to_contract

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/register",
    operation_id="registerUser",
    status_code=status.HTTP_201_CREATED,
    response_model=User,
    dependencies=[Depends(require_hashing_capacity), Depends(spend_registration_budget)],
)
async def register_user(
    data: UserCreate, session: SessionDep, hasher: PasswordHasherDep, response: Response
) -> User:
    user = await service.register_user(session=session, hasher=hasher, data=data)
    response.headers["Location"] = "/api/v1/users/me"
    return to_contract(user)


@router.post(
    "/token",
    operation_id="issueToken",
    response_model=Token,
    # Function scope: the guard sees the handler's outcome before the response is sent.
    dependencies=[Depends(require_hashing_capacity), Depends(guard_sign_in, scope="function")],
)
async def issue_token(
    form: Annotated[TokenRequest, Form()],
    reads: ReadPoolDep,
    hasher: PasswordHasherDep,
    tokens: TokenServiceDep,
    response: Response,
) -> Token:
    user_id = await service.authenticate(
        reads=reads, hasher=hasher, email=form.username, password=form.password
    )
    issued = tokens.issue_access_token(user_id=user_id)
    response.headers["Cache-Control"] = "no-store"
    return Token(
        access_token=issued.token, token_type=TokenType.bearer, expires_in=issued.expires_in
    )
