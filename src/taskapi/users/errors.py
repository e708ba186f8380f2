"""Problems with the signed-in user's own account."""

from __future__ import annotations

import uuid

from taskapi.core.errors import Conflict, Forbidden, NotFound, ValidationFailed


class WrongPassword(Forbidden):
    slug = "wrong-password"
    title = "Wrong password"

    def __init__(self) -> None:
        super().__init__("The password is not this account's password; nothing was changed.")


class WeakPassword(ValidationFailed):
    """The password policy refused a new password; the message says what to do instead."""


class SessionNotFound(NotFound):
    slug = "session-not-found"
    title = "Session not found"

    def __init__(self, session_id: uuid.UUID) -> None:
        super().__init__(f"You have no live session {session_id}.")


class LastAdmin(Conflict):
    slug = "last-admin"
    title = "Last active administrator"

    def __init__(self) -> None:
        super().__init__("This is the last active administrator; promote another account first.")


class AccountChangedMeanwhile(Conflict):
    slug = "account-changed"
    title = "Account changed meanwhile"

    def __init__(self, email: str) -> None:
        super().__init__(
            f"The account {email} was registered or deleted while this ran; run it again."
        )
