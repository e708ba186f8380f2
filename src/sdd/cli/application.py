"""The one application object every command works through: output, project and errors.

Shared options (``--json``, ``--adr-dir``, ``--prompts-dir``) are declared once here and
attached to every command and group, so ``sdd --json adr list`` and ``sdd adr list --json``
mean the same. Errors leave through ``CommandFailed``, a ``click.ClickException``: Typer's
own ``main`` prints it (one line, or the JSON envelope) and exits with its code.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import click
import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from sdd.cli.output import Terminal, envelope, write_json, write_text
from sdd.errors import SddError
from sdd.problems import Problem

if TYPE_CHECKING:
    from sdd.project import Project


CommandFunction = TypeVar("CommandFunction", bound=Callable[..., Any])


@dataclass
class Application:
    """State shared by one invocation: output mode, folder overrides, the project."""

    json: bool = False
    adr_dir: str | None = None
    prompts_dir: str | None = None
    warnings: list[Problem] = field(default_factory=list)
    _project: Project | None = None

    def project(self) -> Project:
        if self._project is None:
            from sdd.project import Overrides, discover

            self._project = discover(overrides=Overrides(self.adr_dir, self.prompts_dir))
        return self._project

    @property
    def terminal(self) -> Terminal:
        return Terminal(sys.stdout)

    def note(self, message: str, *, code: str = "note") -> None:
        """A remark for the user: stderr in text mode, ``problems`` in JSON."""
        self.warnings.append(Problem("", 0, code, message, severity="info"))

    def emit(
        self,
        data: Any,
        *,
        text: str | Callable[[], str] | None = None,
        problems: Sequence[Problem] = (),
        ok: bool = True,
    ) -> None:
        """Print the result of a command: the envelope under ``--json``, else ``text``."""
        everything = [*problems, *self.warnings]
        if self.json:
            write_json(envelope(ok=ok, command=command_name(), data=data, problems=everything))
            return
        rendered = text() if callable(text) else text
        if rendered:
            write_text(rendered)
        for problem in everything:
            prefix = "note" if problem.severity == "info" else "warning"
            where = f"{problem.path}:{problem.line}: " if problem.path else ""
            code = f"{problem.code}: " if problem.path else ""
            sys.stderr.write(f"sdd: {prefix}: {where}{code}{problem.message}\n")


def application() -> Application:
    """The Application of the command being run."""
    ctx = click.get_current_context()
    found = ctx.find_object(Application)
    if found is None:  # a command invoked outside the sdd group (tests calling one command)
        found = ctx.ensure_object(Application)
    return found


def command_name() -> str:
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return ""
    return " ".join(ctx.command_path.split()[1:])


class CommandFailed(click.ClickException):
    """An error (exit 2), shown as one line, or as the envelope in JSON mode."""

    exit_code: ClassVar[int] = 2

    def __init__(self, message: str, *, code: str = "error", as_json: bool, command: str) -> None:
        super().__init__(" ".join(message.split()))
        self.code = code
        self.as_json = as_json
        self.command = command

    def show(self, file: Any = None) -> None:
        if self.as_json:
            problem = Problem("", 0, self.code, self.message)
            write_json(envelope(ok=False, command=self.command, data=None, problems=[problem]))
            return
        (file or sys.stderr).write(f"sdd: error: {self.message}\n")


class OperationFailed(CommandFailed):
    """A failure that is not a usage error (exit 1), as click reports some of its own."""

    exit_code: ClassVar[int] = 1


def _set_flag(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(Application).json = True


def _set_text(attribute: str) -> Callable[[click.Context, click.Parameter, str | None], None]:
    def store(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value is not None:
            setattr(ctx.ensure_object(Application), attribute, value)

    return store


def shared_options() -> list[click.Parameter]:
    """The options every sdd command accepts, declared once."""
    return [
        click.Option(
            ["--json"],
            is_flag=True,
            expose_value=False,
            callback=_set_flag,
            help="Print one JSON document (the sdd envelope) on stdout.",
        ),
        click.Option(
            ["--adr-dir"],
            metavar="DIR",
            expose_value=False,
            callback=_set_text("adr_dir"),
            help=(
                "The ADR folder (else $SDD_ADR_DIR, [tool.sdd], .adr-dir, .log4brains.yml, "
                "the usual places)."
            ),
        ),
        click.Option(
            ["--prompts-dir"],
            metavar="DIR",
            expose_value=False,
            callback=_set_text("prompts_dir"),
            help="The PHR folder (else $SDD_PROMPTS_DIR, [tool.sdd], history/prompts).",
        ),
    ]


def _json_requested(args: Sequence[str]) -> bool:
    head = list(args[: list(args).index("--")] if "--" in args else args)
    return "--json" in head


class SddCommand(TyperCommand):
    """A Typer command that also takes the shared options."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(shared_options())

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SddError as exc:
            app = ctx.ensure_object(Application)
            command = " ".join(ctx.command_path.split()[1:])
            raise failure(
                exc.message,
                exit_code=exc.exit_code,
                code=exc.code,
                as_json=app.json,
                command=command,
            ) from exc


class SddGroup(TyperGroup):
    """A Typer group that takes the shared options; the root also turns errors into output."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(shared_options())

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        if parent is not None:
            return super().make_context(info_name, args, parent, **extra)
        as_json = _json_requested(args)
        extra.setdefault("obj", Application(json=as_json))
        try:
            return super().make_context(info_name, args, parent, **extra)
        except CommandFailed:
            raise
        except click.exceptions.NoArgsIsHelpError:
            if as_json:
                raise CommandFailed(
                    "a command is required (see `sdd --help`)",
                    code="usage",
                    as_json=True,
                    command="",
                ) from None
            raise
        except click.ClickException as exc:
            raise _from_click(exc, as_json=as_json) from exc

    def invoke(self, ctx: click.Context) -> Any:
        if ctx.parent is not None:
            return super().invoke(ctx)
        app = ctx.ensure_object(Application)
        try:
            return super().invoke(ctx)
        except CommandFailed:
            raise
        except SddError as exc:
            raise failure(
                exc.message,
                exit_code=exc.exit_code,
                code=exc.code,
                as_json=app.json,
                command=command_name(),
            ) from exc
        except click.exceptions.NoArgsIsHelpError as exc:
            if app.json:
                path = exc.ctx.command_path if exc.ctx else "sdd"
                raise CommandFailed(
                    f"a subcommand is required (see `{path} --help`)",
                    code="usage",
                    as_json=True,
                    command=" ".join(path.split()[1:]),
                ) from None
            raise
        except click.ClickException as exc:
            raise _from_click(exc, as_json=app.json) from exc


def failure(
    message: str, *, exit_code: int, code: str, as_json: bool, command: str
) -> CommandFailed:
    """The framework exception for an error with this exit code (1 or 2)."""
    kind = OperationFailed if exit_code == 1 else CommandFailed
    return kind(message, code=code, as_json=as_json, command=command)


def _from_click(exc: click.ClickException, *, as_json: bool) -> CommandFailed:
    ctx = getattr(exc, "ctx", None)
    hint = (
        f" (see `{ctx.command_path} --help`)" if isinstance(exc, click.UsageError) and ctx else ""
    )
    code = "usage" if isinstance(exc, click.UsageError) else "error"
    command = " ".join(ctx.command_path.split()[1:]) if ctx else ""
    return failure(
        exc.format_message() + hint,
        exit_code=exc.exit_code,
        code=code,
        as_json=as_json,
        command=command,
    )


def lazy_root(groups: Mapping[str, str]) -> type[SddGroup]:
    """The root group class: ``groups`` maps a command name to the module holding its ``app``.

    A group's module is imported, and its commands built, only when its name is used (Click's
    documented way to load subcommands lazily), so ``sdd adr list`` never pays for ``phr``.
    """

    class LazyRoot(SddGroup):
        def list_commands(self, ctx: click.Context) -> list[str]:
            eager = super().list_commands(ctx)
            return [*eager, *(name for name in groups if name not in eager)]

        def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
            module = groups.get(cmd_name)
            if module is None:
                return super().get_command(ctx, cmd_name)
            command: click.Command = typer.main.get_command(import_module(module).app)
            return command

    return LazyRoot


class CommandGroup(typer.Typer):
    """``typer.Typer`` whose commands and groups take the shared options."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", SddGroup)
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("rich_markup_mode", None)
        kwargs.setdefault("pretty_exceptions_enable", False)
        super().__init__(**kwargs)

    def command(
        self, name: str | None = None, *, cls: type[TyperCommand] | None = None, **kwargs: Any
    ) -> Callable[[CommandFunction], CommandFunction]:
        decorator: Callable[[CommandFunction], CommandFunction] = super().command(
            name, cls=cls or SddCommand, **kwargs
        )
        return decorator
