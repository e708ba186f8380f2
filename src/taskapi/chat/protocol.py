"""What the chat turn, the assistants and the tools agree on. No HTTP and no SQL in here.

A turn (`chat/service.py`) loads the conversation's bounded history, hands it with the new
message and a `ToolBox` to an `Assistant`, and stores what the assistant produced. The
assistant decides which tools to call; the tool box runs them as the signed-in user. The
same tool box is what the MCP server (`chat/mcp.py`) offers to outside agents.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """One tool as a model or an MCP client sees it: JSON Schema derived from the contract."""

    name: str
    description: str
    parameters: JsonObject


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool that ran: what was asked, and the structured result the assistant saw.

    `result` is either the tool's data (`{"ok": true, ...}`) or a structured error
    (`{"ok": false, "error": {"type", "title", "detail", ...}}`), never an exception.
    """

    name: str
    arguments: JsonObject
    result: JsonObject


@dataclass(frozen=True, slots=True)
class HistoryMessage:
    """One stored message of the conversation, oldest first when handed to an assistant.

    `role` is `user` or `assistant`; an assistant message carries the tool calls its turn
    made, in order, so an assistant can refer back to them (the builtin interpreter reads
    the last `list_tasks` result to resolve "delete the second one").
    """

    role: Literal["user", "assistant"]
    content: str
    tool_calls: tuple[ToolCall, ...] = field(default=())


class ToolBox(Protocol):
    """The task tools, bound to one caller. Defined once; used by chat turns and by MCP."""

    def definitions(self) -> Sequence[ToolDefinition]:
        """Every tool, in a stable order."""
        ...

    async def call(self, name: str, arguments: Mapping[str, Any]) -> ToolCall:
        """Run one tool as the bound caller; failures come back as a structured result."""
        ...


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the reply, in order; the reply is the concatenation of every delta."""

    text: str


AssistantEvent = TextDelta | ToolCall


class Assistant(Protocol):
    """Runs one turn. Yields reply text and the tool calls it made, as they happen.

    It calls at most `max_steps` rounds of tools. It raises `ProviderFailed` when a model
    provider answers with an error or nonsense, and `ProviderTimedOut` when the provider
    does not answer in time (both in `chat/errors.py`); the turn then stores nothing.
    """

    def run(
        self,
        *,
        history: Sequence[HistoryMessage],
        message: str,
        tools: ToolBox,
        max_steps: int,
    ) -> AsyncIterator[AssistantEvent]: ...
