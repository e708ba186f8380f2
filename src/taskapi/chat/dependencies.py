"""Dependencies of the chat operations: the caller's chat budget and their turn runner."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from taskapi.auth.dependencies import CallerClaimsDep, CurrentUser
from taskapi.chat.protocol import Assistant
from taskapi.chat.service import ChatTurns, ToolBoxFactory, TurnLimits
from taskapi.core.db import Database
from taskapi.core.ratelimit import RateLimiter


async def spend_chat_budget(request: Request, caller: CurrentUser) -> None:
    """Turns spend the caller's chat budget on top of the API-wide one: a turn may run a
    model and several tools, so it gets a lower rate. (Called on the class so the
    conformance test can follow it to the 429 it raises.)"""
    limiter: RateLimiter = request.app.state.rate_limiter
    await RateLimiter.spend(limiter, request, limiter.budgets.chat, caller.id.hex)


async def get_chat_turns(
    request: Request, caller: CurrentUser, claims: CallerClaimsDep
) -> ChatTurns:
    """The caller's turns, with the app's assistant and task tools (the caller check has
    passed: `CurrentUser`)."""
    database: Database = request.app.state.database
    assistant: Assistant = request.app.state.chat_assistant
    tools: ToolBoxFactory = request.app.state.chat_tools
    limits: TurnLimits = request.app.state.chat_limits
    return ChatTurns(
        sessionmaker=database.sessionmaker,
        assistant=assistant,
        tools=tools,
        limits=limits,
        caller=claims,
    )


ChatTurnsDep = Annotated[ChatTurns, Depends(get_chat_turns)]
