"""HTTP for tasks: thin handlers that map the contract onto the service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status

from taskapi.auth.dependencies import CallerClaimsDep, CurrentUser
from taskapi.contract.models import (
    ApiV1TasksGetParametersQuery as ListTasksQuery,
)
from taskapi.contract.models import Task, TaskCreate, TaskPage, TaskUpdate
from taskapi.core.db import ReadPoolDep, SessionDep
from taskapi.core.representation import (
    ENTITY_TAGS_PATTERN,
    IF_MATCH_MAX_LENGTH,
    json_response,
    none_match,
    not_modified,
)
from taskapi.tasks import service
from taskapi.tasks.dependencies import CursorCodecDep, OwnedTask

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        min_length=1,
        max_length=IF_MATCH_MAX_LENGTH,
        pattern=ENTITY_TAGS_PATTERN,
    ),
]
IfNoneMatch = Annotated[
    str | None,
    Header(alias="If-None-Match", min_length=1, max_length=1000, pattern=ENTITY_TAGS_PATTERN),
]


@router.post(
    "", operation_id="createTask", status_code=status.HTTP_201_CREATED, response_model=Task
)
async def create_task(data: TaskCreate, user: CurrentUser, session: SessionDep) -> Response:
    stored = await service.create_task(session=session, owner_id=user.id, data=data)
    return json_response(
        stored.task,
        status_code=status.HTTP_201_CREATED,
        headers={"Location": f"{router.prefix}/{stored.task.id}", "ETag": stored.etag},
    )


@router.get("", operation_id="listTasks", response_model=TaskPage)
async def list_tasks(
    query: Annotated[ListTasksQuery, Query()],
    claims: CallerClaimsDep,
    reads: ReadPoolDep,
    codec: CursorCodecDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    listing = await service.list_tasks(reads=reads, claims=claims, query=query, codec=codec)
    # No Cache-Control here: every /api/ response is `no-store` (RequestContextMiddleware).
    # A client that keeps its own copy revalidates it with the ETag.
    headers = {"ETag": listing.etag}
    if none_match(if_none_match, listing.etag):
        return not_modified(headers)
    return json_response(listing.body, headers=headers)


@router.get("/{task_id}", operation_id="getTask", response_model=Task)
async def get_task(task: OwnedTask, if_none_match: IfNoneMatch = None) -> Response:
    headers = {"ETag": task.etag}
    if none_match(if_none_match, task.etag):
        return not_modified(headers)
    return json_response(task.task, headers=headers)


@router.patch("/{task_id}", operation_id="updateTask", response_model=Task)
async def update_task(
    data: TaskUpdate,
    task: OwnedTask,
    claims: CallerClaimsDep,
    session: SessionDep,
    if_match: IfMatch = None,
) -> Response:
    # OwnedTask has run the caller check (folded into its read), so the claims can be trusted.
    stored = await service.update_task(
        session=session, owner_id=claims.user_id, current=task, data=data, if_match=if_match
    )
    return json_response(stored.task, headers={"ETag": stored.etag})


@router.delete("/{task_id}", operation_id="deleteTask", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(
    task: OwnedTask, claims: CallerClaimsDep, session: SessionDep, if_match: IfMatch = None
) -> Response:
    await service.delete_task(
        session=session, owner_id=claims.user_id, current=task, if_match=if_match
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
