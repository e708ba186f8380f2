"""Dependencies that validate: the caller's task by id (or 404), and the cursor codec."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Path, Request

from taskapi.auth.dependencies import CurrentUser
from taskapi.core.db import SessionDep
from taskapi.tasks import service
from taskapi.tasks.pagination import CursorCodec


async def valid_task_id(
    task_id: Annotated[uuid.UUID, Path()], user: CurrentUser, session: SessionDep
) -> service.StoredTask:
    return await service.get_task(session=session, owner_id=user.id, task_id=task_id)


async def get_cursor_codec(request: Request) -> CursorCodec:
    codec: CursorCodec = request.app.state.cursor_codec
    return codec


OwnedTask = Annotated[service.StoredTask, Depends(valid_task_id)]
CursorCodecDep = Annotated[CursorCodec, Depends(get_cursor_codec)]
