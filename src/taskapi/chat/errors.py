"""Chat problems."""

from __future__ import annotations

from typing import ClassVar

from taskapi.core.errors import DomainError


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
