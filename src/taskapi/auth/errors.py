"""Authentication problems."""

from __future__ import annotations

from taskapi.core.errors import Conflict, Forbidden, Unauthorized, ValidationFailed


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
        super().__init__(
            "The session of this token has ended (signed out, expired, or the account was "
            "suspended or deleted); sign in again."
        )


class InvalidRefreshToken(Unauthorized):
    slug = "invalid-refresh-token"
    title = "Invalid refresh token"


class RefreshTokenReused(InvalidRefreshToken):
    """A spent refresh token came back: its session is revoked, and that must be kept."""

    keeps_changes = True

    def __init__(self) -> None:
        super().__init__(
            "This refresh token was already used; the session has been ended. Sign in again."
        )


class AccountSuspended(Forbidden):
    slug = "account-suspended"
    title = "Account suspended"

    def __init__(self) -> None:
        super().__init__("This account is suspended; ask an administrator to reactivate it.")


class AdminRequired(Forbidden):
    slug = "admin-required"
    title = "Administrators only"

    def __init__(self, role: str) -> None:
        super().__init__(f"This operation is for administrators; your account's role is {role}.")


class InvalidResetToken(ValidationFailed):
    def __init__(self) -> None:
        super().__init__(
            loc=["body", "token"],
            message=(
                "The reset token is unknown, already used, replaced by a newer request, or "
                "expired; ask for a new link"
            ),
            type="invalid_reset_token",
        )
