"""Administration problems."""

from __future__ import annotations

import uuid

from taskapi.core.errors import NotFound


class UserNotFound(NotFound):
    slug = "user-not-found"
    title = "User not found"

    def __init__(self, user_id: uuid.UUID) -> None:
        super().__init__(f"There is no user {user_id}.")
