"""A real SMTP server for tests: aiosmtpd on a free loopback port, keeping what it receives.

Nothing about mail is faked: the app's SMTP client (aiosmtplib) talks SMTP to this server over
TCP. The server runs in a thread of its own (aiosmtpd's Controller), so the app's event loop and
the server's never share anything but the socket.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support_server import free_port


class MailCatcher:
    """The SMTP handler: accepts every message, or refuses the next `refuse` ones with 451."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.refuse = 0
        self.refused = 0
        self.port = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self._lock:
            if self.refuse:
                self.refuse -= 1
                self.refused += 1
                return "451 4.3.0 Mailbox busy, try again later"
            message = message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(message, EmailMessage)
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def only_message_to(self, address: str) -> EmailMessage:
        found = [m for m in self.messages if m["To"] == address]
        assert len(found) == 1, f"expected one message to {address}, got {len(found)}"
        return found[0]


@contextmanager
def smtp_server() -> Iterator[MailCatcher]:
    catcher = MailCatcher()
    catcher.port = free_port()
    controller = Controller(catcher, hostname="127.0.0.1", port=catcher.port)
    controller.start()
    try:
        yield catcher
    finally:
        controller.stop()
