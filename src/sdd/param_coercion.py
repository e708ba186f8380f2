"""Plain parameter coercion for Typer, so that running a command never imports pydantic.

Typer 0.29 builds a pydantic ``TypeAdapter`` for every parameter of the command being run.
Importing pydantic and building those adapters costs about 130 ms per invocation, more than
half of the start-up budget, and sdd's parameters are only ``str``, ``int``, ``bool``,
``Path`` and ``list[str]``, which need no schema machinery. This module swaps in a small
coercion for exactly those types and leaves every other annotation to Typer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer.core
from typer._click import Context
from typer._coercion import RuntimeParam, TypeDescriptor

_original_build = vars(typer.core)["build_runtime_param"]


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return str(value)


@dataclass(frozen=True)
class PlainRuntimeParam(RuntimeParam):
    """Coercion for str, int, bool, Path and list[str] parameters."""

    def _coerce_value(self, value: Any, param: Any, ctx: Context) -> Any:
        annotation = self.annotation
        if annotation == list[str]:
            items = value if isinstance(value, (list, tuple)) else [value]
            return [_text(item) for item in items]
        if annotation is bool:
            return (
                value
                if isinstance(value, bool)
                else _text(value).strip().lower()
                in (
                    "1",
                    "true",
                    "yes",
                    "on",
                )
            )
        if annotation is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            try:
                return int(_text(value).strip(), 10)
            except ValueError:
                raise typer.BadParameter(
                    f"{value!r} is not a valid integer.", ctx=ctx, param=param
                ) from None
        if annotation is Path:
            return value if isinstance(value, Path) else Path(_text(value))
        return _text(value)


_PLAIN = (str, int, bool, Path)


def build_runtime_param(descriptor: TypeDescriptor) -> RuntimeParam:
    """A plain coercion for sdd's parameter types; Typer's own for anything else."""
    info = descriptor.parameter_info
    plain = descriptor.annotation in _PLAIN or descriptor.annotation == list[str]
    checked_path = descriptor.annotation is Path and (info.exists or info.resolve_path)
    if plain and descriptor.file_annotation is None and info.parser is None and not checked_path:
        return PlainRuntimeParam(parameter_info=info, annotation=descriptor.annotation)
    built: RuntimeParam = _original_build(descriptor)
    return built


def install() -> None:
    """Route Typer's parameter coercion through ``build_runtime_param`` above."""
    vars(typer.core)["build_runtime_param"] = build_runtime_param
