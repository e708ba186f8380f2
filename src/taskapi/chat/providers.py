"""Settings to an assistant: the builtin interpreter by default, or an OpenAI-compatible model.

The app builds one assistant at start-up and closes it at shutdown; the openai one keeps one
`AsyncOpenAI` client (and so one connection pool) for every turn.
"""

from __future__ import annotations

from datetime import UTC, datetime

from openai import AsyncOpenAI

from taskapi.chat.builtin import BuiltinAssistant, Clock
from taskapi.chat.openai_provider import OpenAIAssistant
from taskapi.chat.protocol import Assistant
from taskapi.core.config import Settings


def _utc_now() -> datetime:
    return datetime.now(UTC)


def build_assistant(settings: Settings, *, clock: Clock = _utc_now) -> Assistant:
    """The assistant TASKAPI_CHAT_PROVIDER names, configured from the settings."""
    if settings.chat_provider == "builtin":
        return BuiltinAssistant(clock=clock)
    # The settings refuse to load without these when the provider is openai.
    assert settings.chat_openai_model is not None
    assert settings.chat_openai_api_key is not None
    client = AsyncOpenAI(
        base_url=settings.chat_openai_base_url,
        api_key=settings.chat_openai_api_key.get_secret_value(),
        timeout=settings.chat_provider_timeout_seconds,
        # No retries: a turn holds its transaction while the model thinks, and the timeout
        # setting is the whole wait a client accepts; the client may send the message again.
        max_retries=0,
    )
    return OpenAIAssistant(
        client=client,
        model=settings.chat_openai_model,
        timeout_seconds=settings.chat_provider_timeout_seconds,
        stream=settings.chat_openai_stream,
        clock=clock,
    )


async def close_assistant(assistant: Assistant) -> None:
    """Release what the assistant holds (the openai client's connections)."""
    if isinstance(assistant, OpenAIAssistant):
        await assistant.close()
