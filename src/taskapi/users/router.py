"""HTTP for the signed-in user."""

from __future__ import annotations

from fastapi import APIRouter

from taskapi.auth.dependencies import CurrentUser
from taskapi.contract.models import UserResponse

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("/me", operation_id="getCurrentUser", response_model=UserResponse)
async def read_current_user(user: CurrentUser) -> UserResponse:
    return user
