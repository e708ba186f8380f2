"""The raw ceiling `make bench` divides by: the same reads with nothing but the essentials.

Starlette + one asyncpg pool + orjson, on the same schema and rows as the API. Each request
does what the API must do, no less:

* decode the bearer token with HS256 pinned, the same secret, issuer and audience, and the
  same required claims (`sub exp iat jti iss aud typ`), and check `typ`;
* ask the database whether the token's user still exists (one query);
* read the task, or the page, scoped to that user (a second query);
* answer the same JSON, with the same ETag (strong for a task, weak for a page), and for a
  list the same signed keyset cursor.

What the API does beyond that on every request (the session check folded into its caller
statement, the per-user rate limit, request ids, problem details) counts in the API's time,
not the ceiling's: the ratio is what those features cost against the bare read.

It is a measuring stick, not a product: it has no error documents, no middleware and no
validation beyond the above. Served by `python -m taskapi.server --app
tests.benchmarks.ceiling_app:create_app`, i.e. with exactly the production server options.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import asyncpg
import jwt
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_REQUIRED_CLAIMS = ["sub", "exp", "iat", "jti", "iss", "aud", "typ"]
_COLUMNS = "id, title, description, status, priority, due_at, tags, created_at, updated_at"
_FIELDS = _COLUMNS.split(", ")
_USER_EXISTS = "SELECT 1 FROM users WHERE id = $1"
_TASK = f"SELECT {_COLUMNS}, version FROM tasks WHERE id = $1 AND owner_id = $2"
_PAGE = (
    f"SELECT {_COLUMNS}, version FROM tasks WHERE owner_id = $1{{status}}{{after}} "
    "ORDER BY created_at DESC, id DESC LIMIT {limit}"
)
_SIGNATURE_BYTES = 16


def _default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError


class Ceiling:
    def __init__(self) -> None:
        self.secret = os.environ["TASKAPI_JWT_SECRET"]
        self.cursor_key = hmac.new(
            self.secret.encode(), b"taskapi:list-cursor", hashlib.sha256
        ).digest()
        self.dsn = os.environ["BENCH_CEILING_DSN"]
        # Behind a transaction pooler the API turns asyncpg's statement cache off; so does this.
        self.statement_cache_size = int(os.environ.get("BENCH_CEILING_STATEMENT_CACHE", "100"))
        self.pool_size = int(os.environ.get("TASKAPI_DB_POOL_SIZE", "10")) + int(
            os.environ.get("TASKAPI_DB_MAX_OVERFLOW", "10")
        )
        self.pool: asyncpg.Pool | None = None

    def caller(self, request: Request) -> uuid.UUID | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                audience="taskapi",
                issuer="taskapi",
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.InvalidTokenError:
            return None
        if claims.get("typ") != "access":
            return None
        return uuid.UUID(claims["sub"])

    async def user_exists(self, connection: asyncpg.Connection, user_id: uuid.UUID) -> bool:
        return await connection.fetchval(_USER_EXISTS, user_id) is not None

    def encode_cursor(self, record: asyncpg.Record, fingerprint: str) -> str:
        payload = {
            "v": 1,
            "s": "-created_at",
            "f": fingerprint,
            "k": record["created_at"].isoformat(),
            "i": record["id"].hex,
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        signature = hmac.new(self.cursor_key, body, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
        return base64.urlsafe_b64encode(signature + body).rstrip(b"=").decode()

    def decode_cursor(self, cursor: str, fingerprint: str) -> tuple[Any, uuid.UUID] | None:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        signature, body = raw[:_SIGNATURE_BYTES], raw[_SIGNATURE_BYTES:]
        expected = hmac.new(self.cursor_key, body, hashlib.sha256).digest()[:_SIGNATURE_BYTES]
        if not hmac.compare_digest(signature, expected):
            return None
        payload = json.loads(body)
        if payload.get("f") != fingerprint or payload.get("s") != "-created_at":
            return None
        return datetime.fromisoformat(payload["k"]), uuid.UUID(hex=payload["i"])


def _task(record: asyncpg.Record) -> dict[str, Any]:
    return {name: record[name] for name in _FIELDS}


def _fingerprint(status: str | None) -> str:
    canonical = json.dumps(
        {"status": status} if status else {}, ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


async def get_task(request: Request) -> Response:
    ceiling: Ceiling = request.app.state.ceiling
    user_id = ceiling.caller(request)
    if user_id is None:
        return Response(status_code=401)
    try:
        task_id = uuid.UUID(request.path_params["task_id"])
    except ValueError:
        return Response(status_code=422)
    assert ceiling.pool is not None
    async with ceiling.pool.acquire() as connection:
        if not await ceiling.user_exists(connection, user_id):
            return Response(status_code=401)
        record = await connection.fetchrow(_TASK, task_id, user_id)
    if record is None:
        return Response(status_code=404)
    body = orjson.dumps(_task(record), default=_default, option=orjson.OPT_UTC_Z)
    return Response(
        body,
        media_type="application/json",
        headers={"ETag": f'"{record["id"].hex}.{record["version"]}"'},
    )


async def list_tasks(request: Request) -> Response:
    ceiling: Ceiling = request.app.state.ceiling
    user_id = ceiling.caller(request)
    if user_id is None:
        return Response(status_code=401)
    limit = int(request.query_params.get("limit", "20"))
    status = request.query_params.get("status")
    cursor = request.query_params.get("cursor")
    fingerprint = _fingerprint(status)
    arguments: list[Any] = [user_id]
    status_sql = after_sql = ""
    if status:
        arguments.append(status)
        status_sql = f" AND status = ${len(arguments)}"
    if cursor:
        position = ceiling.decode_cursor(cursor, fingerprint)
        if position is None:
            return Response(status_code=422)
        arguments.extend(position)
        after_sql = f" AND (created_at, id) < (${len(arguments) - 1}, ${len(arguments)})"
    sql = _PAGE.format(status=status_sql, after=after_sql, limit=limit + 1)
    assert ceiling.pool is not None
    async with ceiling.pool.acquire() as connection:
        if not await ceiling.user_exists(connection, user_id):
            return Response(status_code=401)
        records = await connection.fetch(sql, *arguments)
    shown = records[:limit]
    next_cursor = ceiling.encode_cursor(shown[-1], fingerprint) if len(records) > limit else None
    digest = hashlib.blake2b(digest_size=16)
    for record in shown:
        digest.update(f"{record['id'].hex}.{record['version']};".encode())
    digest.update((next_cursor or "").encode())
    body = orjson.dumps(
        {"items": [_task(r) for r in shown], "next_cursor": next_cursor},
        default=_default,
        option=orjson.OPT_UTC_Z,
    )
    return Response(
        body, media_type="application/json", headers={"ETag": f'W/"{digest.hexdigest()}"'}
    )


async def ready(request: Request) -> Response:
    ceiling: Ceiling = request.app.state.ceiling
    assert ceiling.pool is not None
    await ceiling.pool.fetchval("SELECT 1")
    return Response(b'{"status":"ok"}', media_type="application/json")


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    return None


async def _init_connection(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


def create_app() -> Starlette:
    ceiling = Ceiling()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        ceiling.pool = await asyncpg.create_pool(
            ceiling.dsn,
            min_size=1,
            max_size=ceiling.pool_size,
            statement_cache_size=ceiling.statement_cache_size,
            init=_init_connection,
            # Like the API's read pool: single SELECTs leave nothing to reset, so the
            # ceiling does not pay a reset round trip on release either.
            reset=_nothing_to_reset,
        )
        yield
        await ceiling.pool.close()

    app = Starlette(
        routes=[
            Route("/api/v1/tasks", list_tasks),
            Route("/api/v1/tasks/{task_id}", get_task),
            Route("/health/ready", ready),
        ],
        lifespan=lifespan,
    )
    app.state.ceiling = ceiling
    return app
