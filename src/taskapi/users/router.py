"""HTTP for the signed-in user."""

from __future__ import annotations

from fastapi import APIRouter

from taskapi.auth.dependencies import CallerClaimsDep
from taskapi.contract.models import User
from taskapi.core.db import ReadPoolDep
from taskapi.users import service

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("/me", operation_id="getCurrentUser", response_model=User)
async def read_current_user(claims: CallerClaimsDep, reads: ReadPoolDep) -> User:
    return await service.get_profile(reads=reads, claims=claims)
