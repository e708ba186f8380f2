"""HTTP for registration, sign-in, refresh, sign-out and password reset."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Header, Response, status

from taskapi.auth import service
from taskapi.auth.dependencies import (
    CurrentUser,
    OutboxWorkerDep,
    PasswordHasherDep,
    PasswordPolicyDep,
    SettingsDep,
    TokenServiceDep,
    guard_sign_in,
    require_hashing_capacity,
    spend_password_reset_budget,
    spend_refresh_budget,
    spend_registration_budget,
)
from taskapi.contract.models import (
    PasswordResetConfirmation,
    PasswordResetRequest,
    RefreshRequest,
    Token,
    TokenRequest,
    TokenType,
    User,
    UserCreate,
)
from taskapi.core.db import ReadPoolDep, SessionDep
from taskapi.users.service import to_contract

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _token(pair: service.TokenPair, response: Response) -> Token:
    response.headers["Cache-Control"] = "no-store"
    return Token(
        access_token=pair.access_token,
        token_type=TokenType.bearer,
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
    )


@router.post(
    "/register",
    operation_id="registerUser",
    status_code=status.HTTP_201_CREATED,
    response_model=User,
    dependencies=[Depends(require_hashing_capacity), Depends(spend_registration_budget)],
)
async def register_user(
    data: UserCreate,
    session: SessionDep,
    hasher: PasswordHasherDep,
    policy: PasswordPolicyDep,
    response: Response,
) -> User:
    user = await service.register_user(session=session, hasher=hasher, policy=policy, data=data)
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
    session: SessionDep,
    reads: ReadPoolDep,
    hasher: PasswordHasherDep,
    tokens: TokenServiceDep,
    settings: SettingsDep,
    response: Response,
    user_agent: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Token:
    pair = await service.sign_in(
        session=session,
        reads=reads,
        hasher=hasher,
        tokens=tokens,
        settings=settings,
        email=form.username,
        password=form.password,
        user_agent=user_agent,
    )
    return _token(pair, response)


@router.post(
    "/refresh",
    operation_id="refreshToken",
    response_model=Token,
    dependencies=[Depends(spend_refresh_budget)],
)
async def refresh_token(
    data: RefreshRequest,
    session: SessionDep,
    tokens: TokenServiceDep,
    settings: SettingsDep,
    response: Response,
) -> Token:
    pair = await service.refresh(
        session=session, tokens=tokens, settings=settings, refresh_token=data.refresh_token
    )
    return _token(pair, response)


@router.post("/logout", operation_id="logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(caller: CurrentUser, session: SessionDep) -> Response:
    await service.logout(session=session, caller=caller)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/password-reset",
    operation_id="requestPasswordReset",
    status_code=status.HTTP_202_ACCEPTED,
    # Per client address: nobody can flood a mailbox (or the outbox) with reset mail.
    dependencies=[Depends(spend_password_reset_budget)],
)
async def request_password_reset(
    data: PasswordResetRequest,
    session: SessionDep,
    worker: OutboxWorkerDep,
    background: BackgroundTasks,
) -> Response:
    await service.request_password_reset(session=session, email=data.email)
    # After the response: the entry is committed by then (SessionDep commits first).
    background.add_task(worker.drain)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/password-reset/confirm",
    operation_id="confirmPasswordReset",
    status_code=status.HTTP_204_NO_CONTENT,
    # It hashes the new password: like sign-in, it waits for a hashing place or gets 503. A
    # reset token cannot be guessed, so there is no budget to spend here.
    dependencies=[Depends(require_hashing_capacity)],
)
async def confirm_password_reset(
    data: PasswordResetConfirmation,
    session: SessionDep,
    reads: ReadPoolDep,
    hasher: PasswordHasherDep,
    policy: PasswordPolicyDep,
) -> Response:
    await service.confirm_password_reset(
        session=session,
        reads=reads,
        hasher=hasher,
        policy=policy,
        token=data.token,
        new_password=data.new_password,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
