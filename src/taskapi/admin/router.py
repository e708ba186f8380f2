"""HTTP for account administration. The router-wide dependency is the one admin guard."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from taskapi.admin import service
from taskapi.auth.dependencies import AdminCaller, require_admin
from taskapi.contract.models import AdminUser, AdminUserPage, RoleChange
from taskapi.contract.models import ApiV1AdminUsersGetParametersQuery as ListUsersQuery
from taskapi.core.db import SessionDep
from taskapi.tasks.dependencies import CursorCodecDep

# Every route below requires an admin before anything else is looked at: a plain user gets
# 403 whatever the path, query or body.
router = APIRouter(
    prefix="/api/v1/admin/users", tags=["admin"], dependencies=[Depends(require_admin)]
)
UserId = Annotated[uuid.UUID, Path()]


@router.get("", operation_id="listUsers", response_model=AdminUserPage)
async def list_users(
    query: Annotated[ListUsersQuery, Query()], session: SessionDep, codec: CursorCodecDep
) -> AdminUserPage:
    return await service.list_users(session=session, codec=codec, query=query)


@router.get("/{user_id}", operation_id="getUser", response_model=AdminUser)
async def get_user(user_id: UserId, session: SessionDep) -> AdminUser:
    return await service.get_user(session=session, user_id=user_id)


@router.post("/{user_id}/suspend", operation_id="suspendUser", response_model=AdminUser)
async def suspend_user(user_id: UserId, actor: AdminCaller, session: SessionDep) -> AdminUser:
    return await service.suspend_user(session=session, actor=actor, user_id=user_id)


@router.post("/{user_id}/reactivate", operation_id="reactivateUser", response_model=AdminUser)
async def reactivate_user(user_id: UserId, actor: AdminCaller, session: SessionDep) -> AdminUser:
    return await service.reactivate_user(session=session, actor=actor, user_id=user_id)


@router.put("/{user_id}/role", operation_id="changeUserRole", response_model=AdminUser)
async def change_user_role(
    user_id: UserId, data: RoleChange, actor: AdminCaller, session: SessionDep
) -> AdminUser:
    return await service.change_role(session=session, actor=actor, user_id=user_id, role=data.role)
