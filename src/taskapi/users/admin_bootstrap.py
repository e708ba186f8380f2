"""The first admin: the work behind `python -m taskapi users create-admin`, without Typer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from taskapi.auth.service import normalise_email
from taskapi.contract.models import PasswordResetRequest
from taskapi.core.config import Settings
from taskapi.core.db import create_engine, create_sessionmaker
from taskapi.core.errors import DomainError
from taskapi.core.middleware import current_client_address
from taskapi.core.security import PasswordHasher
from taskapi.main import configure_logging
from taskapi.users import service
from taskapi.users.passwords import PasswordPolicy
from taskapi.users.repository import Account, UserRepository

MIN_PASSWORD, MAX_PASSWORD = 8, 128  # the contract's bounds for new passwords
EXIT_REFUSED = 1
EXIT_USAGE = 2


class CliFailure(Exception):
    """What the command line reports: one line for stderr, and the exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


@dataclass(frozen=True)
class Outcome:
    account: Account
    created: bool


async def bootstrap_admin(*, email: str, read_password: Callable[[], str]) -> Outcome:
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        raise CliFailure(f"invalid configuration: {where}: {first['msg']}", EXIT_USAGE) from exc
    configure_logging(settings.log_level)
    current_client_address.set("command line")
    try:
        email = normalise_email(PasswordResetRequest(email=email).email)
    except ValidationError as exc:
        raise CliFailure(f"{email!r} is not a valid email address", EXIT_USAGE) from exc
    _refuse_missing_sqlite_file(settings.database_url)
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            try:
                existing = await UserRepository(session).get_account_by_email(email)
            except DBAPIError as exc:
                raise CliFailure(
                    "the database has no accounts table of the current version; apply the "
                    "migrations first (make migrate, or python -m taskapi.migrations upgrade)",
                    EXIT_REFUSED,
                ) from exc
            if existing is not None:
                account = await service.promote_to_admin(session=session, account=existing)
                await session.commit()
                return Outcome(account=account, created=False)
            password = read_password()
            if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
                raise CliFailure(
                    f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long",
                    EXIT_REFUSED,
                )
            hasher = PasswordHasher(
                time_cost=settings.argon2_time_cost,
                memory_cost_kib=settings.argon2_memory_cost_kib,
                concurrency=1,
                queue=1,
            )
            policy = PasswordPolicy(min_score=settings.password_min_score, concurrency=1)
            try:
                account = await service.create_admin(
                    session=session, hasher=hasher, policy=policy, email=email, password=password
                )
            except DomainError as exc:
                raise CliFailure(exc.detail, EXIT_REFUSED) from exc
            await session.commit()
            return Outcome(account=account, created=True)
    finally:
        await engine.dispose()


def _refuse_missing_sqlite_file(database_url: str) -> None:
    """Connecting would create an empty SQLite file; say what to do instead of leaving one."""
    url = make_url(database_url)
    path = url.database if url.get_backend_name() == "sqlite" else None
    if path and path != ":memory:" and not Path(path).exists():
        raise CliFailure(
            f"there is no database at {path}; create it with the migrations first "
            "(make migrate, or python -m taskapi.migrations upgrade)",
            EXIT_REFUSED,
        )
