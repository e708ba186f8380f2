"""Task problems."""

from __future__ import annotations

import uuid

from taskapi.core.errors import NotFound, PreconditionFailed, ValidationFailed


class TaskNotFound(NotFound):
    slug = "task-not-found"
    title = "Task not found"

    def __init__(self, task_id: uuid.UUID) -> None:
        super().__init__(f"There is no task {task_id}.")


class TaskChanged(PreconditionFailed):
    def __init__(self) -> None:
        super().__init__(
            "The task was changed by another request; "
            "fetch it again and retry with its current ETag."
        )


class InvalidCursor(ValidationFailed):
    def __init__(self, reason: str) -> None:
        super().__init__(loc=["query", "cursor"], message=reason, type="invalid_cursor")
