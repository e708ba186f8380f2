"""The signed-in user's account, and mapping users to the contract."""

from __future__ import annotations

from taskapi.auth.errors import CallerGone
from taskapi.contract.models import User
from taskapi.core.db import ReadPool
from taskapi.users.repository import CallerClaims, Profile, UserReads
from taskapi.users.tables import UserRow


def to_contract(user: UserRow | Profile) -> User:
    return User(id=user.id, email=user.email, full_name=user.full_name, created_at=user.created_at)


async def get_profile(*, reads: ReadPool, claims: CallerClaims) -> User:
    """The caller's account; the caller check and the read are one statement."""
    profile = await UserReads(reads).profile(claims)
    if profile is None:
        raise CallerGone
    return to_contract(profile)
