"""Sort specs and opaque, signed keyset cursors for listing tasks."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from taskapi.contract.models import TaskPriority, TaskSort
from taskapi.tasks.errors import InvalidCursor

PRIORITY_RANK = {TaskPriority.low: 0, TaskPriority.medium: 1, TaskPriority.high: 2}
_SIGNATURE_BYTES = 16
_CURSOR_VERSION = 1


@dataclass(frozen=True, slots=True)
class SortSpec:
    key: str  # created_at | due_at | priority | title
    descending: bool

    @classmethod
    def parse(cls, sort: TaskSort | str) -> SortSpec:
        value = str(sort.value if isinstance(sort, TaskSort) else sort)
        return cls(key=value.lstrip("-"), descending=value.startswith("-"))

    @property
    def token(self) -> str:
        return ("-" if self.descending else "") + self.key


@dataclass(frozen=True, slots=True)
class Position:
    """Where the previous page ended: the last item's sort value and id."""

    value: Any  # datetime | str | int | None, by sort key
    task_id: uuid.UUID


class CursorCodec:
    """Encodes positions as tamper-proof tokens bound to one sort and one set of filters.

    A cursor replayed with different filters or sort would silently skip or repeat rows, so
    it is refused instead; signing keeps clients from forging positions.
    """

    def __init__(self, secret: bytes) -> None:
        self._key = hmac.new(secret, b"taskapi:list-cursor", hashlib.sha256).digest()

    def encode(self, *, sort: SortSpec, filters_fingerprint: str, position: Position) -> str:
        value = position.value
        payload = {
            "v": _CURSOR_VERSION,
            "s": sort.token,
            "f": filters_fingerprint,
            "k": value.isoformat() if isinstance(value, datetime) else value,
            "i": position.task_id.hex,
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        token = self._sign(body) + body
        return base64.urlsafe_b64encode(token).rstrip(b"=").decode()

    def decode(self, cursor: str, *, sort: SortSpec, filters_fingerprint: str) -> Position:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError) as exc:
            raise InvalidCursor("The cursor is not one this server issued.") from exc
        signature, body = raw[:_SIGNATURE_BYTES], raw[_SIGNATURE_BYTES:]
        if not hmac.compare_digest(signature, self._sign(body)):
            raise InvalidCursor("The cursor is not one this server issued.")
        payload = json.loads(body)
        if payload.get("v") != _CURSOR_VERSION:
            raise InvalidCursor("The cursor has expired; start again from the first page.")
        if payload.get("s") != sort.token or payload.get("f") != filters_fingerprint:
            raise InvalidCursor(
                "The cursor belongs to a different sort or filter; "
                "repeat the request that returned it with only the cursor added."
            )
        value = payload.get("k")
        if sort.key in ("created_at", "due_at") and value is not None:
            value = datetime.fromisoformat(value)
        return Position(value=value, task_id=uuid.UUID(hex=payload["i"]))

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def fingerprint(filters: dict[str, Any]) -> str:
    canonical = json.dumps(
        {k: v for k, v in sorted(filters.items()) if v is not None},
        default=str,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
