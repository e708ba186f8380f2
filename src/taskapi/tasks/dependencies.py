"""Dependencies that validate: the caller's task by id (or 401/404), and the cursor codec."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request

from taskapi.auth.dependencies import CallerClaimsDep
from taskapi.core.db import ReadPoolDep
from taskapi.tasks import service
from taskapi.tasks.pagination import CursorCodec


async def valid_task_id(
    task_id: Annotated[uuid.UUID, Path()], claims: CallerClaimsDep, reads: ReadPoolDep
) -> service.StoredTask:
    """The caller's task: the caller check and the task are read in one statement."""
    return await service.get_task(reads=reads, claims=claims, task_id=task_id)


async def get_cursor_codec(request: Request) -> CursorCodec:
    codec: CursorCodec = request.app.state.cursor_codec
    return codec


OwnedTask = Annotated[service.StoredTask, Depends(valid_task_id)]
CursorCodecDep = Annotated[CursorCodec, Depends(get_cursor_codec)]
