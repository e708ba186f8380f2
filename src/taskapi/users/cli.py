"""`python -m taskapi users ...`: account commands for operators (the first admin)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

import typer

from taskapi.users.admin_bootstrap import EXIT_USAGE, CliFailure, bootstrap_admin

users_app = typer.Typer(
    name="users", help="Manage accounts in the configured database.", no_args_is_help=True
)


@users_app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Argument(help="The administrator's email address.")],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON document on stdout.")
    ] = False,
) -> None:
    """Create an administrator, or make an existing account an active administrator.

    A new account's password is the first line of stdin when stdin is not a terminal.

    Otherwise it is asked for twice, hidden. An existing account keeps its password.

    Exit codes: 0 done; 1 refused (weak password, database not migrated); 2 usage error.
    """
    try:
        outcome = asyncio.run(bootstrap_admin(email=email, read_password=_read_password))
    except CliFailure as failure:
        typer.echo(f"error: {failure.message}", err=True)
        if json_output:
            _emit({"ok": False, "error": {"message": failure.message, "code": failure.exit_code}})
        raise typer.Exit(failure.exit_code) from None
    if json_output:
        _emit(
            {
                "ok": True,
                "created": outcome.created,
                "user": {
                    "id": str(outcome.account.id),
                    "email": outcome.account.email,
                    "role": outcome.account.role,
                    "active": outcome.account.is_active,
                },
            }
        )
    elif outcome.created:
        typer.echo(f"Created administrator {outcome.account.email} ({outcome.account.id}).")
    else:
        typer.echo(
            f"{outcome.account.email} was already registered; it is now an active "
            "administrator (its password is unchanged)."
        )


def _read_password() -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise CliFailure("no password on stdin (the first line is the password)", EXIT_USAGE)
        return password
    typed: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return typed


def _emit(document: object) -> None:
    sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
