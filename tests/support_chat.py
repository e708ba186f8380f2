"""Drive an assistant through turns with the real task tools, as a chat turn does.

Each turn opens one session on the app's database, binds the task tools to the signed-in
user, runs the assistant with the conversation's history so far, and commits (or, if the
assistant raised, rolls back). The history is kept here as the turn service keeps it in the
database: the user message, then the assistant's reply with the tool calls it made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fastapi import FastAPI

from taskapi.chat.protocol import Assistant, HistoryMessage, TextDelta, ToolCall
from taskapi.chat.tools import TaskTools
from taskapi.users.repository import CallerClaims
from tests.conftest import SignedInUser

DEFAULT_MAX_STEPS = 5


@dataclass(frozen=True)
class Turn:
    reply: str
    tool_calls: tuple[ToolCall, ...]
    deltas: tuple[str, ...]
    # Everything the assistant yielded, in order (text deltas and tool calls interleaved).
    events: tuple[TextDelta | ToolCall, ...]

    def calls_named(self, name: str) -> list[ToolCall]:
        return [call for call in self.tool_calls if call.name == name]


@dataclass
class Conversation:
    app: FastAPI
    user: SignedInUser
    assistant: Assistant
    max_steps: int = DEFAULT_MAX_STEPS
    history: list[HistoryMessage] = field(default_factory=list)

    async def say(self, message: str) -> Turn:
        events: list[TextDelta | ToolCall] = []
        async with self.app.state.database.sessionmaker() as session:
            tools = TaskTools(
                session=session,
                claims=CallerClaims(user_id=self.user.id, session_id=self.user.session_id),
                codec=self.app.state.cursor_codec,
                result_max_chars=self.app.state.settings.chat_tool_result_max_chars,
            )
            try:
                async for event in self.assistant.run(
                    history=tuple(self.history),
                    message=message,
                    tools=tools,
                    max_steps=self.max_steps,
                ):
                    events.append(event)
            except BaseException:
                await session.rollback()
                raise
            await session.commit()
        deltas = tuple(e.text for e in events if isinstance(e, TextDelta))
        calls = tuple(e for e in events if isinstance(e, ToolCall))
        turn = Turn(reply="".join(deltas), tool_calls=calls, deltas=deltas, events=tuple(events))
        self.history += [
            HistoryMessage(role="user", content=message),
            HistoryMessage(role="assistant", content=turn.reply, tool_calls=calls),
        ]
        return turn

    async def say_all(self, messages: Sequence[str]) -> list[Turn]:
        return [await self.say(message) for message in messages]
