"""Mapping users to the contract."""

from __future__ import annotations

from taskapi.contract.models import User
from taskapi.users.tables import UserRow


def to_contract(user: UserRow) -> User:
    return User(id=user.id, email=user.email, full_name=user.full_name, created_at=user.created_at)
