"""HTTP for the signed-in user: who am I, my sessions, my password, deleting my account."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from taskapi.auth.dependencies import (
    CallerClaimsDep,
    CurrentUser,
    PasswordHasherDep,
    PasswordPolicyDep,
    SettingsDep,
    guard_password_confirmation,
    require_hashing_capacity,
)
from taskapi.contract.models import AccountDeletion, PasswordChange, SessionList, User
from taskapi.core.db import ReadPoolDep, SessionDep
from taskapi.users import service

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("/me", operation_id="getCurrentUser", response_model=User)
async def read_current_user(claims: CallerClaimsDep, reads: ReadPoolDep) -> User:
    return await service.get_profile(reads=reads, claims=claims)


# Both check a password with Argon2: like sign-in, they wait for a hashing place or get 503.
@router.delete(
    "/me",
    operation_id="deleteCurrentUser",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[
        Depends(require_hashing_capacity),
        Depends(guard_password_confirmation, scope="function"),
    ],
)
async def delete_current_user(
    data: AccountDeletion,
    caller: CurrentUser,
    session: SessionDep,
    reads: ReadPoolDep,
    hasher: PasswordHasherDep,
) -> Response:
    await service.delete_account(
        session=session, reads=reads, hasher=hasher, caller=caller, password=data.password
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/me/password",
    operation_id="changePassword",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[
        Depends(require_hashing_capacity),
        Depends(guard_password_confirmation, scope="function"),
    ],
)
async def change_password(
    data: PasswordChange,
    caller: CurrentUser,
    session: SessionDep,
    reads: ReadPoolDep,
    hasher: PasswordHasherDep,
    policy: PasswordPolicyDep,
) -> Response:
    await service.change_password(
        session=session,
        reads=reads,
        hasher=hasher,
        policy=policy,
        caller=caller,
        current_password=data.current_password,
        new_password=data.new_password,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/sessions", operation_id="listSessions", response_model=SessionList)
async def list_sessions(
    caller: CurrentUser, session: SessionDep, settings: SettingsDep
) -> SessionList:
    items = await service.list_sessions(session=session, settings=settings, caller=caller)
    return SessionList(items=items)


@router.delete(
    "/me/sessions/{session_id}",
    operation_id="deleteSession",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def delete_session(
    session_id: Annotated[uuid.UUID, Path()], caller: CurrentUser, session: SessionDep
) -> Response:
    await service.end_session(session=session, caller=caller, session_id=session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
