"""`python -m taskapi`: the service's command line (Typer wiring only; commands live by domain)."""

from __future__ import annotations

import typer

from taskapi.users.cli import users_app

app = typer.Typer(name="taskapi", help="Operate the Tasks API service.", no_args_is_help=True)
app.add_typer(users_app, name="users")


if __name__ == "__main__":
    app()
