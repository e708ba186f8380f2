"""HTTP for the signed-in user."""

from __future__ import annotations

from fastapi import APIRouter

from taskapi.auth.dependencies import CurrentUser
from taskapi.contract.models import User

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("/me", operation_id="getCurrentUser", response_model=User)
async def read_current_user(user: CurrentUser) -> User:
    return User(id=user.id, email=user.email, full_name=user.full_name, created_at=user.created_at)
