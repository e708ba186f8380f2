"""Error types that the CLI turns into exit codes and one-line messages."""

from __future__ import annotations


class SddError(Exception):
    """A usage or input error: the CLI prints the message and exits with ``exit_code``."""

    code = "error"

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class RecordNotFoundError(SddError):
    """A PHR or ADR reference that matches no record."""

    code = "not-found"
