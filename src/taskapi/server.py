"""How the API is served: the one definition of the server and its options (ADR-0024).

`make run`, `python -m taskapi.server`, the benchmarks, the soak and the live test servers all
start the server from here, so what is measured and tested is what runs in production, server
options and middleware included.

The server is granian (ASGI, HTTP/1.1): it answers 431 to a request head (request line and
headers) larger than TASKAPI_MAX_HEADER_BYTES and closes connections that have not sent a
complete head within TASKAPI_HEADER_TIMEOUT_SECONDS, which uvicorn cannot do. It answers from
a worker process; signals to this process reach it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from taskapi.core.config import Settings

APP = "taskapi.main:create_app"


def server_options(settings: Settings | None = None) -> dict[str, Any]:
    """The production server's options (for the command line, and for benchmark reports)."""
    defaults = Settings.model_fields
    max_header_bytes = (
        settings.max_header_bytes if settings else defaults["max_header_bytes"].default
    )
    header_timeout = (
        settings.header_timeout_seconds if settings else defaults["header_timeout_seconds"].default
    )
    return {
        "server": "granian",
        "interface": "asgi",
        "http": "1",
        "workers": 1,
        "http1_buffer_size": max_header_bytes,
        "http1_header_read_timeout_ms": round(header_timeout * 1000),
    }


def command(
    *,
    host: str,
    port: int,
    settings: Settings | None = None,
    access_log: bool = False,
    app: str = APP,
) -> list[str]:
    """The argv that serves `app` (an app factory) with the production server options."""
    options = server_options(settings)
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        options["interface"],
        "--factory",
        "--http",
        options["http"],
        "--no-ws",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(options["workers"]),
        # The whole request head (request line and every header) must fit this buffer.
        "--http1-buffer-size",
        str(options["http1_buffer_size"]),
        "--http1-header-read-timeout",
        str(options["http1_header_read_timeout_ms"]),
        "--access-log" if access_log else "--no-access-log",
        "--log-level",
        "info" if access_log else "warning",
        app,
    ]


def _access_log_default() -> bool:
    return os.environ.get("TASKAPI_ACCESS_LOG", "true").lower() not in ("0", "false", "no", "off")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m taskapi.server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=_access_log_default(),
        help="log every request (default: on; TASKAPI_ACCESS_LOG=false turns it off)",
    )
    parser.add_argument(
        "--app",
        default=APP,
        help="the app factory to serve (the benchmarks serve their ceiling app this way)",
    )
    options = parser.parse_args(argv)
    # Settings are read here too, so a bad configuration stops before the server starts.
    argv_ = command(
        host=options.host,
        port=options.port,
        settings=Settings(),
        access_log=options.access_log,
        app=options.app,
    )
    os.execv(argv_[0], argv_)  # noqa: S606 - our own interpreter, with arguments we built
    return 0  # not reached: execv replaces this process


if __name__ == "__main__":
    sys.exit(main())
