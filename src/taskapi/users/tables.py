"""The users table."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Column, String, true
from sqlmodel import Field, SQLModel

from taskapi.core.db import UTCDateTime, utcnow

ROLES = ("user", "admin")


class UserRow(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('user', 'admin')", name="role"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # Stored lower-cased, so the unique constraint is case-insensitive on every engine.
    email: str = Field(sa_column=Column(String(254), nullable=False, unique=True))
    full_name: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    role: str = Field(
        default="user", sa_column=Column(String(10), nullable=False, server_default="user")
    )
    # False while an administrator has suspended the account.
    is_active: bool = Field(
        default=True, sa_column=Column(Boolean(), nullable=False, server_default=true())
    )
