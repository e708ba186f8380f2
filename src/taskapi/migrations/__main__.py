"""`python -m taskapi.migrations upgrade|downgrade|current|history|check|revision`."""

from __future__ import annotations

import argparse
import sys

from alembic import command

from taskapi.core.config import Settings
from taskapi.migrations import alembic_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m taskapi.migrations")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade", help="apply migrations (default: to head)")
    up.add_argument("revision", nargs="?", default="head")
    down = sub.add_parser("downgrade", help="revert migrations to REVISION")
    down.add_argument("revision")
    sub.add_parser("current", help="show the database's revision")
    sub.add_parser("history", help="list migrations")
    sub.add_parser("check", help="fail if the tables differ from the latest migration")
    rev = sub.add_parser("revision", help="create a migration file")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--autogenerate", action="store_true")
    args = parser.parse_args(argv)

    settings = Settings()
    config = alembic_config(settings.database_url)
    if args.command == "upgrade":
        command.upgrade(config, args.revision)
    elif args.command == "downgrade":
        command.downgrade(config, args.revision)
    elif args.command == "current":
        command.current(config, verbose=True)
    elif args.command == "history":
        command.history(config)
    elif args.command == "check":
        command.check(config)
    else:
        command.revision(config, message=args.message, autogenerate=args.autogenerate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
