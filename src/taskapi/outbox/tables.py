"""The outbox table."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from taskapi.core.db import UTCDateTime, utcnow


class OutboxRow(SQLModel, table=True):
    """One unit of work; deleted when done, kept with `failed_at` set when it never succeeded."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_next_attempt_at", "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    kind: str = Field(sa_column=Column(String(50), nullable=False))
    payload: dict[str, Any] = Field(sa_column=Column(JSON(), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    attempts: int = Field(default=0, sa_column=Column(Integer(), nullable=False))
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    # A worker that claimed the entry holds it until then; after that another may retry it.
    locked_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )
    last_error: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    failed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
