"""Password reset by email: the outbox entry a request stores, and the message it becomes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from taskapi.auth.repository import ResetTokenRepository
from taskapi.core.config import Settings
from taskapi.core.security import hash_opaque_token, new_opaque_token
from taskapi.core.security_events import security_event
from taskapi.mail.mailer import compose
from taskapi.outbox.worker import Handler
from taskapi.users.repository import UserRepository

OUTBOX_KIND = "password_reset"
logger = logging.getLogger("taskapi.auth")


def reset_handler(settings: Settings) -> Handler:
    """The outbox handler for reset requests, bound to the link template and token lifetime."""
    ttl = timedelta(seconds=settings.password_reset_ttl_seconds)

    async def handle(
        session: AsyncSession, payload: Mapping[str, Any], now: datetime
    ) -> EmailMessage | None:
        email = str(payload["email"])
        # Events name the request that asked, not the drain that happens to run this.
        request_id, client = payload.get("request_id"), payload.get("client")
        account = await UserRepository(session).get_account_by_email(email)
        if account is None or not account.is_active:
            security_event(
                "password_reset.not_sent",
                user_id=account.id if account else None,
                reason="suspended" if account else "unknown_email",
                request_id=request_id,
                client=client,
            )
            return None
        # A new token per attempt: the raw token exists only in this message, so a retried
        # send cannot reuse the previous attempt's, and replacing it voids the old link.
        token = new_opaque_token()
        await ResetTokenRepository(session).replace(
            account.id, token_hash=hash_opaque_token(token), now=now, expires_at=now + ttl
        )
        security_event(
            "password_reset.requested", user_id=account.id, request_id=request_id, client=client
        )
        link = settings.password_reset_url.replace("{token}", token)
        minutes = settings.password_reset_ttl_seconds // 60
        greeting = f"Hello {account.full_name}," if account.full_name else "Hello,"
        return compose(
            sender=settings.smtp_sender,
            to=account.email,
            subject="Reset your password",
            text=(
                f"{greeting}\n\n"
                "Someone (hopefully you) asked to reset the password of this account.\n"
                f"Follow this link within {minutes} minutes to choose a new one:\n\n"
                f"{link}\n\n"
                "If your application asks for the reset token, it is:\n\n"
                f"{token}\n\n"
                "The link works once. If you did not ask for it, ignore this message: "
                "your password stays as it is.\n"
            ),
        )

    return handle
