"""Handlers and tests, found by reading Python source with ``ast``; nothing is imported.

A handler is a function whose decorator (or an ``add_api_route`` call) passes a string
``operation_id=``: the convention that makes FastAPI's routes carry the contract's operationIds,
which the route-contract conformance test enforces. A test names the requirements it exercises
with the pytest marker ``fr``: ``@pytest.mark.fr("002-tasks/FR-004")`` on the function, on its
class, or in the module's ``pytestmark``.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SKIPPED_FOLDERS = frozenset(
    {".venv", "venv", "node_modules", "__pycache__", ".git", "build", "dist", ".tox", ".nox"}
)
MARKER = "fr"
_OPERATION_ID = re.compile(r"operation_id\s*=\s*[rbuRBU]?[\"']")
_TEST = re.compile(r"def test")


@dataclass(frozen=True)
class Handler:
    operation_id: str
    path: str
    line: int
    function: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class TestRef:
    """One test function (parametrised cases count once), with the requirements it names."""

    node_id: str
    path: str
    line: int
    requirements: tuple[str, ...]

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def python_files(folder: Path, *, needle: re.Pattern[str]) -> Iterator[tuple[Path, str]]:
    """``*.py`` below ``folder`` whose text matches ``needle`` (a cheap filter before parsing)."""
    for current, folders, files in os.walk(folder):
        folders[:] = sorted(f for f in folders if f not in SKIPPED_FOLDERS)
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = Path(current) / name
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if needle.search(text):
                yield path, text


def _parse(path: Path, text: str) -> ast.Module | None:
    try:
        return ast.parse(text, filename=str(path))
    except (SyntaxError, ValueError):
        return None


def _definitions(body: list[ast.stmt]) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Functions defined at module level or in a class, where routes are declared."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node
        elif isinstance(node, ast.ClassDef):
            yield from _definitions(node.body)


def _operation_id(call: ast.Call) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == "operation_id" and isinstance(keyword.value, ast.Constant):
            value = keyword.value.value
            return value if isinstance(value, str) else None
    return None


def find_handlers(folder: Path, root: Path) -> dict[str, list[Handler]]:
    """operationId → the functions that handle it, with the line of their ``def``."""
    found: dict[str, list[Handler]] = {}
    for path, text in python_files(folder, needle=_OPERATION_ID):
        module = _parse(path, text)
        if module is None:
            continue
        relative = path.relative_to(root).as_posix()
        definitions = list(_definitions(module.body))
        for function in definitions:
            for decorator in function.decorator_list:
                if isinstance(decorator, ast.Call) and (op := _operation_id(decorator)):
                    found.setdefault(op, []).append(
                        Handler(op, relative, function.lineno, function.name)
                    )
        if "add_api_route" not in text:
            continue
        by_name = {function.name: function for function in definitions}
        for node in ast.walk(module):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_api_route"
                and (op := _operation_id(node))
            ):
                endpoint = _endpoint_name(node)
                target = by_name.get(endpoint) if endpoint else None
                line = target.lineno if target else node.lineno
                found.setdefault(op, []).append(Handler(op, relative, line, endpoint or "?"))
    return found


def _endpoint_name(call: ast.Call) -> str | None:
    candidates = [k.value for k in call.keywords if k.arg == "endpoint"]
    candidates += call.args[1:2]
    for candidate in candidates:
        if isinstance(candidate, ast.Name):
            return candidate.id
        if isinstance(candidate, ast.Attribute):
            return candidate.attr
    return None


def _marks(expression: ast.expr | None) -> list[str]:
    """Requirement keys of every ``….mark.fr(...)`` call in a decorator or ``pytestmark``."""
    if expression is None:
        return []
    if isinstance(expression, ast.List | ast.Tuple):
        return [key for item in expression.elts for key in _marks(item)]
    if (
        isinstance(expression, ast.Call)
        and isinstance(expression.func, ast.Attribute)
        and expression.func.attr == MARKER
        and _is_mark(expression.func.value)
    ):
        return [
            arg.value
            for arg in expression.args
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
        ]
    return []


def _is_mark(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "mark") or (
        isinstance(node, ast.Name) and node.id == "mark"
    )


def _pytestmark(body: list[ast.stmt]) -> list[str]:
    keys: list[str] = []
    for statement in body:
        if (
            isinstance(statement, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in statement.targets)
        ) or (
            isinstance(statement, ast.AnnAssign)
            and isinstance(statement.target, ast.Name)
            and statement.target.id == "pytestmark"
        ):
            keys += _marks(statement.value)
    return keys


def _is_test_file(path: Path) -> bool:
    return path.name.startswith("test_") or path.stem.endswith("_test")


def find_tests(folder: Path, root: Path) -> list[TestRef]:
    """Every test function under ``folder``, with the requirement keys its markers name."""
    tests: list[TestRef] = []
    for path, text in python_files(folder, needle=_TEST):
        if not _is_test_file(path):
            continue
        module = _parse(path, text)
        if module is None:
            continue
        relative = path.relative_to(root).as_posix()
        module_keys = _pytestmark(module.body)
        for node in module.body:
            if _is_test_function(node):
                assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                keys = module_keys + _decorator_marks(node)
                tests.append(_test(relative, [node.name], node.lineno, keys))
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                class_keys = module_keys + _decorator_marks(node) + _pytestmark(node.body)
                for member in node.body:
                    if _is_test_function(member):
                        assert isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef)
                        keys = class_keys + _decorator_marks(member)
                        tests.append(_test(relative, [node.name, member.name], member.lineno, keys))
    return tests


def _is_test_function(node: ast.stmt) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")


def _decorator_marks(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[str]:
    return [key for decorator in node.decorator_list for key in _marks(decorator)]


def _test(path: str, names: list[str], line: int, keys: list[str]) -> TestRef:
    unique = tuple(dict.fromkeys(keys))
    return TestRef("::".join([path, *names]), path, line, unique)
