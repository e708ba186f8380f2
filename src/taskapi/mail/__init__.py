"""Outgoing mail: SMTP through aiosmtplib, or the log in development and test."""
