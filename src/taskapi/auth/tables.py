"""Sessions, their refresh tokens, and password-reset tokens. Tokens are stored only hashed."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, String, Uuid
from sqlmodel import Field, SQLModel

from taskapi.core.db import UTCDateTime, utcnow

# The hex SHA-256 of an opaque token (see core.security.hash_opaque_token).
TOKEN_HASH = String(64)


class SessionRow(SQLModel, table=True):
    """One sign-in of one user. The access token names it in its `sid` claim."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user_id_last_used_at", "user_id", "last_used_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    # Written at sign-in and at each refresh only, never by ordinary requests.
    last_used_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    # The absolute limit: no refresh extends it.
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    user_agent: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))


class RefreshTokenRow(SQLModel, table=True):
    """Every refresh token a session was given; a spent one presented again is theft."""

    __tablename__ = "refresh_tokens"

    token_hash: str = Field(sa_column=Column(TOKEN_HASH, primary_key=True))
    session_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid(), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    issued_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # The idle limit, never later than the session's absolute limit.
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class PasswordResetTokenRow(SQLModel, table=True):
    """A single-use token emailed to prove the mailbox is the account holder's."""

    __tablename__ = "password_reset_tokens"

    token_hash: str = Field(sa_column=Column(TOKEN_HASH, primary_key=True))
    user_id: uuid.UUID = Field(
        sa_column=Column(
            Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
