"""The conversations and messages tables."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from taskapi.core.db import UTCDateTime, utcnow

TOOL_CALLS = JSON().with_variant(JSONB(), "postgresql")
TITLE_CHARS = 200


class ConversationRow(SQLModel, table=True):
    __tablename__ = "conversations"
    __table_args__ = (
        # Listing walks (owner_id, updated_at, id), most recently active first.
        Index("ix_conversations_owner_id_updated_at", "owner_id", "updated_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    title: str = Field(sa_column=Column(String(TITLE_CHARS), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    # The turn lease: which turn runs now, and until when (a crashed instance's lease expires).
    lease_token: uuid.UUID | None = Field(default=None, sa_column=Column(Uuid(), nullable=True))
    lease_expires_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime(), nullable=True)
    )


class MessageRow(SQLModel, table=True):
    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("role IN ('user', 'assistant')", name="role"),
        CheckConstraint("seq >= 1", name="seq_positive"),
        # Order within a conversation; also refuses two turns writing the same position.
        UniqueConstraint("conversation_id", "seq"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    conversation_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False)
    )
    seq: int = Field(sa_column=Column(Integer(), nullable=False))
    role: str = Field(sa_column=Column(String(10), nullable=False))
    content: str = Field(sa_column=Column(Text(), nullable=False))
    tool_calls: list[Any] = Field(
        default_factory=list, sa_column=Column(TOOL_CALLS, nullable=False)
    )
    interrupted: bool = Field(default=False, sa_column=Column(Boolean(), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
