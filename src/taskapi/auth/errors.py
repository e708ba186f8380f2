"""Authentication problems."""

from __future__ import annotations

from taskapi.core.errors import Conflict, Unauthorized


class EmailAlreadyRegistered(Conflict):
    slug = "email-already-registered"
    title = "Email already registered"

    def __init__(self) -> None:
        super().__init__("A user with this email address already exists.")


class InvalidCredentials(Unauthorized):
    slug = "invalid-credentials"
    title = "Invalid credentials"

    def __init__(self) -> None:
        super().__init__("The email address or password is incorrect.")


class NotAuthenticated(Unauthorized):
    slug = "unauthorized"
    title = "Unauthorized"


class InvalidToken(Unauthorized):
    """A bearer token was sent but cannot be used (RFC 6750 §3.1 `invalid_token`).

    A request with no token at all gets the bare challenge (NotAuthenticated): RFC 6750 says
    not to send an error code when no credentials were presented.
    """

    slug = "unauthorized"
    title = "Unauthorized"
    challenge = 'Bearer error="invalid_token"'


class CallerGone(InvalidToken):
    """The token is valid, but the caller check found no user who may act with it."""

    def __init__(self) -> None:
        super().__init__("The user this token was issued to no longer exists.")
