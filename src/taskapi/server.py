"""How the API is served: the one definition of the server and its options.

`make run`, `python -m taskapi.server` and the benchmarks all start the server from here, so
what is measured is what runs in production, server options and middleware included.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Sequence
from typing import Any

import uvicorn

APP = "taskapi.main:create_app"


def _have(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def uvicorn_options(*, host: str, port: int, access_log: bool) -> dict[str, Any]:
    """uvicorn's settings for production; the app is a factory (settings are read at start)."""
    return {
        "factory": True,
        "host": host,
        "port": port,
        # The C event loop and HTTP parser when installed (about +15% req/s), else pure Python.
        "loop": "uvloop" if _have("uvloop") else "asyncio",
        "http": "httptools" if _have("httptools") else "h11",
        "access_log": access_log,
        "log_level": "warning" if not access_log else "info",
        "server_header": False,
        "proxy_headers": False,
    }


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
    uvicorn.run(
        options.app,
        **uvicorn_options(host=options.host, port=options.port, access_log=options.access_log),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
