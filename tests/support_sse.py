"""Reading Server-Sent Events as a chat client does: `event:` names and JSON `data:`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    name: str
    data: dict[str, Any]


def parse_events(text: str) -> list[Event]:
    """Every event of a complete stream (comments, such as pings, are skipped)."""
    return list(_events(text.splitlines()))


async def iter_events(lines: AsyncIterator[str]) -> AsyncIterator[Event]:
    """Events as they arrive, from a streamed response's lines."""
    name, data = "message", []
    async for line in lines:
        if line == "":
            if data:
                yield Event(name, json.loads("\n".join(data)))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())


def _events(lines: Iterable[str]) -> Iterable[Event]:
    name, data = "message", []
    for line in [*lines, ""]:
        if line == "":
            if data:
                yield Event(name, json.loads("\n".join(data)))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").strip())
