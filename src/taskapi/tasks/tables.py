"""The tasks table."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from taskapi.core.db import UTCDateTime, utcnow

TAG_LIST = JSON().with_variant(JSONB(), "postgresql")
# Titles sort by code point on both engines (SQLite compares bytes), so a page boundary
# means the same thing everywhere and does not depend on the server's locale.
TITLE = String(200).with_variant(String(200, collation="C"), "postgresql")
# The largest version the INTEGER column holds on every engine (PostgreSQL's int4).
MAX_VERSION = 2**31 - 1


class TaskRow(SQLModel, table=True):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint("status IN ('todo', 'in_progress', 'done')", name="status"),
        CheckConstraint("priority IN ('low', 'medium', 'high')", name="priority"),
        CheckConstraint("version >= 1", name="version_positive"),
        # Keyset pagination walks (owner_id, sort key, id); one index per sortable key.
        Index("ix_tasks_owner_id_created_at", "owner_id", "created_at", "id"),
        Index("ix_tasks_owner_id_due_at", "owner_id", "due_at", "id"),
        Index("ix_tasks_owner_id_title", "owner_id", "title", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    title: str = Field(sa_column=Column(TITLE, nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))
    status: str = Field(sa_column=Column(String(20), nullable=False))
    priority: str = Field(sa_column=Column(String(10), nullable=False))
    due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    tags: list[Any] = Field(default_factory=list, sa_column=Column(TAG_LIST, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    # Bumped by every update; the ETag is derived from it.
    version: int = Field(default=1, sa_column=Column(Integer(), nullable=False))
