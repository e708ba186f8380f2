"""A contract as a tree of YAML documents, with ``$ref`` resolution that remembers locations.

Every node the diff compares is a :class:`Node`: the value plus where it lives (the file and the
JSON pointer inside it). Following a ``$ref`` changes the location but not the wire pointer the
caller is building, which is how a change inside a shared component is seen at every operation
that uses it, and how renaming a component is seen as nothing at all on the wire.
"""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from sdd.errors import SddError

Reader = Callable[[str], str]
"""Returns the text of a repository-relative POSIX path (from the working tree or a commit)."""


class ContractLoadError(SddError):
    """The contract on one side cannot be read, parsed or resolved (exit 2)."""


def escape(token: str) -> str:
    """One JSON-pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def join(pointer: str, *tokens: str | int) -> str:
    return pointer + "".join("/" + escape(str(token)) for token in tokens)


@dataclass(frozen=True)
class Location:
    """Where a node is written: a file of the contract and a JSON pointer inside it."""

    file: str
    pointer: str

    def child(self, *tokens: str | int) -> Location:
        return Location(self.file, join(self.pointer, *tokens))

    def render(self, main_file: str) -> str:
        return self.pointer if self.file == main_file else f"{self.file}#{self.pointer}"


@dataclass(frozen=True)
class Node:
    value: Any
    location: Location
    via_ref: bool = False

    def get(self, key: str) -> Any:
        return self.value.get(key) if isinstance(self.value, dict) else None


@dataclass
class Contract:
    """One side of the comparison: the main file and every file it references."""

    main_file: str
    label: str
    reader: Reader
    documents: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> Any:
        return self.document(self.main_file)

    def document(self, path: str) -> Any:
        if path not in self.documents:
            self.documents[path] = self._load(path)
        return self.documents[path]

    def _load(self, path: str) -> Any:
        import yaml

        try:
            text = self.reader(path)
        except FileNotFoundError:
            raise ContractLoadError(f"{self.label}: {path} does not exist") from None
        except UnicodeDecodeError:
            raise ContractLoadError(f"{self.label}: {path} is not valid UTF-8") from None
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        try:
            return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ContractLoadError(f"{self.label}: {path}{where} is not valid YAML") from None

    def node(self, pointer: str = "") -> Node:
        return Node(
            self.lookup(Location(self.main_file, pointer)), Location(self.main_file, pointer)
        )

    def lookup(self, location: Location) -> Any:
        value = self.document(location.file)
        if location.pointer in ("", "/"):
            return value
        for raw in location.pointer.lstrip("/").split("/"):
            token = unescape(raw)
            if isinstance(value, dict) and token in value:
                value = value[token]
            elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
                value = value[int(token)]
            else:
                raise ContractLoadError(
                    f"{self.label}: $ref {location.file}#{location.pointer} points nowhere"
                )
        return value

    def target(self, ref: str, origin: Location) -> Location:
        """The location a ``$ref`` written at ``origin`` points to."""
        if "://" in ref:
            raise ContractLoadError(
                f"{self.label}: remote $ref {ref!r} at {origin.pointer} is not supported "
                "(the diff never uses the network)"
            )
        file_part, _, fragment = ref.partition("#")
        file = origin.file
        if file_part:
            folder = posixpath.dirname(origin.file)
            file = posixpath.normpath(posixpath.join(folder, unquote(file_part)))
            if file.startswith("../"):
                raise ContractLoadError(f"{self.label}: $ref {ref!r} leaves the repository")
        return Location(file, unquote(fragment))

    def resolve(self, node: Node) -> Node:
        """Follow ``$ref`` chains; sibling keys of a ``$ref`` override what it points to."""
        seen: set[Location] = set()
        current = node
        overlay: dict[str, Any] = {}
        while isinstance(current.value, dict) and isinstance(current.value.get("$ref"), str):
            if current.location in seen:
                raise ContractLoadError(
                    f"{self.label}: $ref cycle through {current.location.pointer}"
                )
            seen.add(current.location)
            siblings = {k: v for k, v in current.value.items() if k != "$ref"}
            overlay = {**siblings, **overlay}
            location = self.target(current.value["$ref"], current.location)
            current = Node(self.lookup(location), location, via_ref=True)
        if overlay and isinstance(current.value, dict):
            return Node({**current.value, **overlay}, current.location, via_ref=True)
        return current

    def referenced(self) -> set[Location]:
        """Every location a ``$ref`` reaches, transitively, from the paths and webhooks."""
        found: set[Location] = set()
        pending: list[tuple[Any, Location]] = [
            (self.root.get(key), Location(self.main_file, join("", key)))
            for key in ("paths", "webhooks")
            if isinstance(self.root, dict)
        ]
        while pending:
            value, location = pending.pop()
            if isinstance(value, list):
                pending += [(item, location.child(i)) for i, item in enumerate(value)]
            elif isinstance(value, dict):
                ref = value.get("$ref")
                if isinstance(ref, str) and "://" not in ref:
                    target = self.target(ref, location)
                    if target not in found:
                        found.add(target)
                        # A dangling reference is reported when the comparison resolves it.
                        with contextlib.suppress(ContractLoadError):
                            pending.append((self.lookup(target), target))
                pending += [(v, location.child(k)) for k, v in value.items() if k != "$ref"]
        return found
