"""The users table."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from taskapi.core.db import UTCDateTime, utcnow


class UserRow(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # Stored lower-cased, so the unique constraint is case-insensitive on every engine.
    email: str = Field(sa_column=Column(String(254), nullable=False, unique=True))
    full_name: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
