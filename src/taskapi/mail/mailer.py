"""Mailers: SMTP (aiosmtplib), the log (development and test without SMTP), or none at all."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Protocol

import aiosmtplib

from taskapi.core.config import Settings

logger = logging.getLogger("taskapi.mail")


class PermanentMailError(Exception):
    """Sending can never succeed as configured; retrying would not help."""


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


def compose(*, sender: str, to: str, subject: str, text: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    return message


class SmtpMailer:
    """Sends through an SMTP server; connection and protocol errors propagate for a retry."""

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host is not None
        self._host = settings.smtp_host
        self._port = settings.smtp_port
        self._username = settings.smtp_username
        self._password = (
            settings.smtp_password.get_secret_value() if settings.smtp_password else None
        )
        self._use_tls = settings.smtp_security == "tls"
        self._start_tls = settings.smtp_security == "starttls"
        self._timeout = settings.smtp_timeout_seconds

    async def send(self, message: EmailMessage) -> None:
        await aiosmtplib.send(
            message,
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            use_tls=self._use_tls,
            start_tls=self._start_tls,
            timeout=self._timeout,
        )


class LogMailer:
    """Development and test without SMTP: the whole message goes to the log, link included."""

    async def send(self, message: EmailMessage) -> None:
        logger.info(
            "mail not sent (no TASKAPI_SMTP_HOST); it would have been:\nTo: %s\nSubject: %s\n\n%s",
            message["To"],
            message["Subject"],
            message.get_content(),
        )


class UnconfiguredMailer:
    """Production without SMTP: nothing can be sent, and each message is a logged failure."""

    async def send(self, message: EmailMessage) -> None:
        msg = "no SMTP server is configured (TASKAPI_SMTP_HOST); the message cannot be sent"
        raise PermanentMailError(msg)


def build_mailer(settings: Settings) -> Mailer:
    if settings.smtp_host is not None:
        return SmtpMailer(settings)
    if settings.env == "production":
        return UnconfiguredMailer()
    return LogMailer()
