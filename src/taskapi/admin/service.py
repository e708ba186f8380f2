"""Account administration. Every change that could remove an admin checks the last-admin rule."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from taskapi.admin.errors import UserNotFound
from taskapi.admin.repository import AccountFilters, AccountRepository
from taskapi.auth.repository import SessionRepository
from taskapi.contract.models import AdminUser, AdminUserPage, Role
from taskapi.contract.models import ApiV1AdminUsersGetParametersQuery as ListUsersQuery
from taskapi.core.db import utcnow
from taskapi.core.security_events import security_event
from taskapi.tasks.pagination import CursorCodec, Position, SortSpec, fingerprint
from taskapi.users.repository import ADMIN, Account, Caller, UserRepository
from taskapi.users.service import ensure_another_active_admin

# Pages are ordered by email; the cursor codec binds a cursor to this order and the filters.
_BY_EMAIL = SortSpec(key="email", descending=False)


def to_contract(account: Account) -> AdminUser:
    return AdminUser(
        id=account.id,
        email=account.email,
        full_name=account.full_name,
        role=Role(account.role),
        active=account.is_active,
        created_at=account.created_at,
    )


async def list_users(
    *, session: AsyncSession, codec: CursorCodec, query: ListUsersQuery
) -> AdminUserPage:
    filters = AccountFilters(
        email_prefix=query.email_prefix.lower() if isinstance(query.email_prefix, str) else None,
        role=query.role.value if isinstance(query.role, Role) else None,
        active=query.active if isinstance(query.active, bool) else None,
    )
    filters_fingerprint = fingerprint(
        {"email_prefix": filters.email_prefix, "role": filters.role, "active": filters.active}
    )
    after = None
    if isinstance(query.cursor, str):
        position = codec.decode(
            query.cursor, sort=_BY_EMAIL, filters_fingerprint=filters_fingerprint
        )
        after = str(position.value)
    rows = await AccountRepository(session).list_page(
        filters=filters, after_email=after, limit=query.limit + 1
    )
    items = [to_contract(row) for row in rows[: query.limit]]
    next_cursor = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        next_cursor = codec.encode(
            sort=_BY_EMAIL,
            filters_fingerprint=filters_fingerprint,
            position=Position(value=last.email, task_id=last.id),
        )
    return AdminUserPage(items=items, next_cursor=next_cursor)


async def get_user(*, session: AsyncSession, user_id: uuid.UUID) -> AdminUser:
    account = await UserRepository(session).get_account(user_id)
    if account is None:
        raise UserNotFound(user_id)
    return to_contract(account)


async def suspend_user(*, session: AsyncSession, actor: Caller, user_id: uuid.UUID) -> AdminUser:
    """Suspend the account and end every session of it, effective on its next request."""
    users = UserRepository(session)
    account = await users.get_account(user_id)
    if account is None:
        raise UserNotFound(user_id)
    if not account.is_active:
        return to_contract(account)
    if account.role == ADMIN:
        await ensure_another_active_admin(users, user_id)
    suspended = await users.set_active(user_id, False)
    if suspended is None:  # deleted meanwhile
        raise UserNotFound(user_id)
    ended = await SessionRepository(session, user_id=user_id).revoke_all(now=utcnow())
    security_event("user.suspended", user_id=user_id, actor_id=actor.id, sessions_ended=ended)
    return to_contract(suspended)


async def reactivate_user(*, session: AsyncSession, actor: Caller, user_id: uuid.UUID) -> AdminUser:
    users = UserRepository(session)
    account = await users.get_account(user_id)
    if account is None:
        raise UserNotFound(user_id)
    if account.is_active:
        return to_contract(account)
    reactivated = await users.set_active(user_id, True)
    if reactivated is None:
        raise UserNotFound(user_id)
    security_event("user.reactivated", user_id=user_id, actor_id=actor.id)
    return to_contract(reactivated)


async def change_role(
    *, session: AsyncSession, actor: Caller, user_id: uuid.UUID, role: Role
) -> AdminUser:
    """Effective on the account's next request: roles are read per request."""
    users = UserRepository(session)
    account = await users.get_account(user_id)
    if account is None:
        raise UserNotFound(user_id)
    if account.role == role.value:
        return to_contract(account)
    if account.role == ADMIN and account.is_active:
        await ensure_another_active_admin(users, user_id)
    changed = await users.set_role(user_id, role.value)
    if changed is None:
        raise UserNotFound(user_id)
    security_event(
        "user.role_changed",
        user_id=user_id,
        actor_id=actor.id,
        old_role=account.role,
        new_role=role.value,
    )
    return to_contract(changed)
