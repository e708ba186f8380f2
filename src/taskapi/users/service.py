"""Mapping users to the contract."""

from __future__ import annotations

from taskapi.contract.models import UserResponse
from taskapi.users.tables import UserRow


def to_contract(user: UserRow) -> UserResponse:
    return UserResponse(
        id=user.id, email=user.email, full_name=user.full_name, created_at=user.created_at
    )
