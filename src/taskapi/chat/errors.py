"""Chat problems."""

from __future__ import annotations

import uuid
from typing import ClassVar

from taskapi.core.errors import Conflict, DomainError, NotFound, ValidationFailed


class ProviderFailed(DomainError):
    """The model provider answered with an error, or with something that is not a turn."""

    status: ClassVar[int] = 502
    slug: ClassVar[str] = "chat-provider-failed"
    title: ClassVar[str] = "The assistant's model provider failed"


class ProviderTimedOut(DomainError):
    """The model provider did not answer within the configured timeout."""

    status: ClassVar[int] = 504
    slug: ClassVar[str] = "chat-provider-timeout"
    title: ClassVar[str] = "The assistant's model provider did not answer in time"


class ConversationNotFound(NotFound):
    slug = "conversation-not-found"
    title = "Conversation not found"

    def __init__(self, conversation_id: uuid.UUID) -> None:
        super().__init__(f"There is no conversation {conversation_id}.")


class TurnInProgress(Conflict):
    """Another turn holds the conversation's lease (on this instance or any other)."""

    slug = "chat-turn-in-progress"
    title = "A turn of this conversation is running"

    def __init__(self, conversation_id: uuid.UUID) -> None:
        super().__init__(
            f"Another turn of conversation {conversation_id} is running; "
            "send the message again when it has finished."
        )


class MessageTooLong(ValidationFailed):
    """Longer than this server's configured limit (the contract's bound may be higher)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            loc=["body", "message"],
            message=f"This server accepts messages of at most {limit} characters",
            type="string_too_long",
        )
