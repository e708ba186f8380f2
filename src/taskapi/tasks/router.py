"""HTTP for tasks: thin handlers that map the contract onto the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from taskapi.auth.dependencies import CurrentUser
from taskapi.contract.models import (
    ApiV1TasksGetParametersQuery as ListTasksQuery,
)
from taskapi.contract.models import Task, TaskCreate, TaskPage, TaskUpdate
from taskapi.core.db import SessionDep
from taskapi.tasks import service
from taskapi.tasks.dependencies import CursorCodecDep, OwnedTask

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$",
    ),
]


@router.post(
    "", operation_id="createTask", status_code=status.HTTP_201_CREATED, response_model=Task
)
async def create_task(
    data: TaskCreate, user: CurrentUser, session: SessionDep, response: Response
) -> Task:
    stored = await service.create_task(session=session, owner_id=user.id, data=data)
    response.headers["Location"] = f"{router.prefix}/{stored.task.id}"
    response.headers["ETag"] = stored.etag
    return stored.task


@router.get("", operation_id="listTasks", response_model=TaskPage)
async def list_tasks(
    query: Annotated[ListTasksQuery, Query()],
    user: CurrentUser,
    session: SessionDep,
    codec: CursorCodecDep,
) -> TaskPage:
    return await service.list_tasks(session=session, owner_id=user.id, query=query, codec=codec)


@router.get("/{task_id}", operation_id="getTask", response_model=Task)
async def get_task(task: OwnedTask, response: Response) -> Task:
    response.headers["ETag"] = task.etag
    return task.task


@router.patch("/{task_id}", operation_id="updateTask", response_model=Task)
async def update_task(
    data: TaskUpdate,
    task: OwnedTask,
    user: CurrentUser,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> Task:
    stored = await service.update_task(
        session=session, owner_id=user.id, current=task, data=data, if_match=if_match
    )
    response.headers["ETag"] = stored.etag
    return stored.task


@router.delete("/{task_id}", operation_id="deleteTask", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(
    task: OwnedTask, user: CurrentUser, session: SessionDep, if_match: IfMatch = None
) -> Response:
    await service.delete_task(session=session, owner_id=user.id, current=task, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
