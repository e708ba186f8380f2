"""Security events: one structured log line per account action, never carrying a secret.

Each line goes to the `taskapi.security` logger; its message is one JSON object with the
event name, the user it concerns, the request id and the client address, plus the event's
own fields (identifiers and reasons only). The same object is attached to the record as
`security_event`, for handlers that ship structured records.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from taskapi.core.middleware import current_client_address, current_request_id

logger = logging.getLogger("taskapi.security")

# Field names that could only carry a secret; refusing them here keeps a careless call site
# from ever writing one.
_FORBIDDEN_FIELDS = frozenset(
    {"password", "new_password", "current_password", "token", "refresh_token", "access_token"}
)


def security_event(
    event: str,
    *,
    user_id: uuid.UUID | None,
    request_id: str | None = None,
    client: str | None = None,
    level: int = logging.INFO,
    **fields: str | int | bool | uuid.UUID | None,
) -> None:
    """Log one security event; request id and client default to the current request's."""
    leaked = _FORBIDDEN_FIELDS.intersection(fields) | {k for k in fields if "hash" in k}
    if leaked:
        msg = f"security events never carry secrets: {sorted(leaked)}"
        raise ValueError(msg)
    record: dict[str, Any] = {
        "event": event,
        "user_id": str(user_id) if user_id is not None else None,
        "request_id": request_id if request_id is not None else current_request_id.get(),
        "client": client if client is not None else current_client_address.get(),
    }
    record.update({k: str(v) if isinstance(v, uuid.UUID) else v for k, v in fields.items()})
    logger.log(
        level,
        json.dumps(record, ensure_ascii=False, separators=(",", ":")),
        extra={"security_event": record},
    )
