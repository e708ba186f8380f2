"""The database: connection URLs, the write engine and its per-request session, and the read pool.

Writes go through SQLAlchemy's `AsyncSession` (the request owns the transaction). Reads go
through `ReadPool`: statements written once as SQL text per engine, run on a pooled driver
connection through public APIs only (asyncpg's own pool on PostgreSQL; SQLAlchemy's
`AsyncConnection.exec_driver_sql` on SQLite). See ADR-0021.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, Uuid, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.engine.url import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, NullPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from taskapi.core.config import Settings
from taskapi.core.errors import DomainError, ServiceUnavailable

logger = logging.getLogger("taskapi.db")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


class UTCDateTime(TypeDecorator[datetime]):
    """Stores instants as UTC and always hands back aware UTC datetimes, on every engine.

    SQLite has no time zone type; normalising on the way in keeps ordering and equality
    (which keyset pagination relies on) identical on SQLite and PostgreSQL.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "naive datetimes are ambiguous; pass an aware datetime"
            raise ValueError(msg)
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class DatabaseUnavailable(ServiceUnavailable):
    """The database could not be reached, or the connection broke mid-statement."""

    def __init__(self) -> None:
        super().__init__(
            "The database is not answering; retry in a few seconds.", headers={"Retry-After": "2"}
        )


class DatabaseBusy(ServiceUnavailable):
    """Every pooled connection stayed in use for the pool timeout: the service is saturated."""

    slug = "database-busy"
    title = "Database connections busy"

    def __init__(self) -> None:
        super().__init__(
            "Every database connection is in use by other requests; retry in a second.",
            headers={"Retry-After": "1"},
        )


# ---------------------------------------------------------------------------------------------
# Connection URLs
# ---------------------------------------------------------------------------------------------

# libpq parameters asyncpg reads from a DSN itself (TLS, target session, Kerberos).
_ASYNCPG_DSN_PARAMETERS = frozenset(
    {
        "sslmode",
        "sslcert",
        "sslkey",
        "sslrootcert",
        "sslcrl",
        "sslpassword",
        "sslnegotiation",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "target_session_attrs",
        "krbsrvname",
        "gsslib",
        "passfile",
        "service",
    }
)
# libpq client-side parameters asyncpg has no equivalent for. Left in, asyncpg would send them
# to the server as settings, which refuses them; so they are dropped, with a warning.
_LIBPQ_CLIENT_ONLY = frozenset(
    {
        "channel_binding",
        "gssencmode",
        "gssdelegation",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "sslcompression",
        "sslsni",
        "requirepeer",
        "require_auth",
        "load_balance_hosts",
        "hostaddr",
        "replication",
    }
)
# Set by SQLAlchemy-style URLs for its asyncpg dialect; this module sets these itself.
_DRIVER_OPTIONS = frozenset({"prepared_statement_cache_size", "statement_cache_size"})


@dataclass(frozen=True)
class PostgresTarget:
    """Where and how to connect with asyncpg, translated from a libpq-style URL."""

    dsn: str  # postgresql://... with only what asyncpg itself understands left in the query
    connect_timeout: float
    # PgBouncer (or any pooler) in transaction mode: no server-side prepared statement may
    # outlive the statement that made it, because the next one may run on another backend.
    transaction_pooler: bool
    ignored: tuple[str, ...] = ()
    server_settings: Mapping[str, str] = field(default_factory=dict)


def postgres_target(
    database_url: str, *, pooler: str = "auto", connect_timeout: float = 5.0
) -> PostgresTarget:
    """Translate a libpq-style URL (as hosted providers print it) for asyncpg.

    `connect_timeout` becomes asyncpg's connect timeout; `fallback_application_name` becomes
    `application_name` when none is given; parameters asyncpg cannot honour are dropped and
    reported; anything else is left for asyncpg, which reads TLS options itself and sends the
    rest (`application_name`, `options`, ...) to the server as settings.
    """
    url = make_url(database_url)
    query: dict[str, str] = {}
    for key, value in url.query.items():
        query[key] = value[-1] if isinstance(value, tuple) else value
    timeout = connect_timeout
    if "connect_timeout" in query:
        raw = query.pop("connect_timeout")
        try:
            # libpq: zero or negative means wait forever; a bound is kept here regardless.
            timeout = float(raw) if float(raw) > 0 else timeout
        except ValueError:
            logger.warning("ignoring connect_timeout=%r in the database URL: not a number", raw)
    fallback = query.pop("fallback_application_name", None)
    if fallback and "application_name" not in query:
        query["application_name"] = fallback
    ignored = tuple(sorted(key for key in query if key in _LIBPQ_CLIENT_ONLY))
    for key in (*ignored, *_DRIVER_OPTIONS):
        query.pop(key, None)
    server_settings = {k: v for k, v in query.items() if k not in _ASYNCPG_DSN_PARAMETERS}
    dsn_query = {k: v for k, v in query.items() if k in _ASYNCPG_DSN_PARAMETERS}
    plain = url.set(drivername="postgresql", query={})
    dsn = plain.render_as_string(hide_password=False)
    if dsn_query:
        dsn += "?" + urlencode(dsn_query)
    transaction_pooler = pooler == "transaction" or (
        pooler == "auto" and "-pooler" in (url.host or "")
    )
    return PostgresTarget(
        dsn=dsn,
        connect_timeout=timeout,
        transaction_pooler=transaction_pooler,
        ignored=ignored,
        server_settings=server_settings,
    )


def _unique_statement_name() -> str:
    return f"__taskapi_{uuid.uuid4().hex}__"


def _postgres_engine_arguments(target: PostgresTarget) -> tuple[URL, dict[str, Any]]:
    """The URL and connect_args that give SQLAlchemy's asyncpg dialect the translated target."""
    connect_args: dict[str, Any] = {
        # asyncpg parses the DSN; SQLAlchemy's URL keeps only the driver name.
        "dsn": target.dsn,
        "timeout": target.connect_timeout,
        "server_settings": dict(target.server_settings),
    }
    if target.transaction_pooler:
        # SQLAlchemy's asyncpg dialect prepares named statements; behind a transaction pooler
        # they must not be cached, and their names must not collide on a shared backend.
        connect_args |= {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": _unique_statement_name,
        }
    return make_url("postgresql+asyncpg://"), connect_args


def ensure_sqlite_directory(database_url: str) -> None:
    """SQLite creates the file but not its folder; a fresh clone has no var/ yet."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def _settings_target(settings: Settings) -> PostgresTarget:
    target = postgres_target(
        settings.database_url,
        pooler=settings.db_pooler,
        connect_timeout=settings.db_connect_timeout_seconds,
    )
    if target.ignored:
        logger.warning(
            "database URL parameters not supported by the asyncpg driver were ignored: %s",
            ", ".join(target.ignored),
        )
    return target


def create_migration_engine(database_url: str) -> AsyncEngine:
    """One unpooled connection for Alembic, safe behind a transaction pooler whatever it is."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        ensure_sqlite_directory(database_url)
        return create_async_engine(url, poolclass=NullPool)
    engine_url, connect_args = _postgres_engine_arguments(
        postgres_target(database_url, pooler="transaction")
    )
    return create_async_engine(engine_url, connect_args=connect_args, poolclass=NullPool)


def create_engine(settings: Settings) -> AsyncEngine:
    url = make_url(settings.database_url)
    # Database errors end up in logs; their parameters are user data (owner ids, titles,
    # emails), so SQLAlchemy is told to leave them out of error messages and echo.
    if url.get_backend_name() == "sqlite":
        ensure_sqlite_directory(settings.database_url)
        engine = create_async_engine(
            url, echo=settings.db_echo, hide_parameters=True, connect_args={"timeout": 30}
        )
        _configure_sqlite(engine)
        return engine
    engine_url, connect_args = _postgres_engine_arguments(_settings_target(settings))
    return create_async_engine(
        engine_url,
        echo=settings.db_echo,
        hide_parameters=True,
        connect_args=connect_args,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_connect_timeout_seconds,
        # A connection broken by an outage is found on checkout, not by the next request.
        pool_pre_ping=True,
    )


_SQLITE_UNICODE_LOWER = "taskapi_unicode_lower"


def _python_lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def unicode_lower(engine: Literal["postgresql", "sqlite"], expression: str) -> str:
    """SQL for `lower()` that folds every script, not only ASCII, on both engines.

    SQLite's built-in `lower()` folds ASCII only, and PostgreSQL's follows the column's
    collation, which is "C" for titles (so that they sort by code point). On PostgreSQL this
    is `lower()` under the ICU root collation; on SQLite a function each connection
    registers (see _configure_sqlite) that applies Python's `str.lower`, the same mapping
    the service applies to the search text.
    """
    if engine == "postgresql":
        return f'lower(({expression}) COLLATE "und-x-icu")'
    return f"{_SQLITE_UNICODE_LOWER}({expression})"


# Execution option marking a connection that will only read (see get_session).
READ_ONLY = "taskapi_read_only"


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Foreign keys on, WAL, and BEGIN IMMEDIATE for requests that may write.

    With a deferred BEGIN, two requests that read and then write the same row fail with
    "database is locked" instead of waiting; taking the write lock up front makes SQLite
    serialise them, so conditional updates behave as they do on PostgreSQL. Reads begin
    deferred, so under WAL they never wait for a writer.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        dbapi_connection.create_function(
            _SQLITE_UNICODE_LOWER, 1, _python_lower, deterministic=True
        )

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per writing request: commit when the handler succeeds, roll back when not.

    Used with scope="function" so the commit happens before the response is sent; a commit
    that fails therefore becomes an error response instead of a success the client
    believes in. Reads do not use it (see ReadPool).
    """
    database: Database = request.app.state.database
    async with database.sessionmaker() as session:
        try:
            yield session
        except DomainError as exc:
            # A refused request normally changes nothing; a few refusals are themselves
            # recorded (a stolen refresh token revokes its session) and must outlive it.
            if not exc.keeps_changes:
                await _rollback_quietly(session)
                raise
            await _commit(session)
            raise
        except _SESSION_UNAVAILABLE as exc:
            await _rollback_quietly(session)
            if isinstance(exc, DBAPIError) and not exc.connection_invalidated:
                raise
            raise DatabaseUnavailable from exc
        except PoolTimeout as exc:
            # No connection was checked out, so there is nothing to roll back on the server.
            await _rollback_quietly(session)
            raise DatabaseBusy from exc
        except BaseException:
            await session.rollback()
            raise
        else:
            await _commit(session)


async def _commit(session: AsyncSession) -> None:
    try:
        await session.commit()
    except _SESSION_UNAVAILABLE as exc:
        if isinstance(exc, DBAPIError) and not exc.connection_invalidated:
            raise
        raise DatabaseUnavailable from exc


# What SQLAlchemy lets through when the database is unreachable: the driver's socket errors
# on connect, and DBAPIError marked connection_invalidated once a connection broke.
_SESSION_UNAVAILABLE = (OSError, TimeoutError, DBAPIError)


async def _rollback_quietly(session: AsyncSession) -> None:
    """Roll back after a lost connection; the rollback itself may fail the same way."""
    try:
        await session.rollback()
    except (*_SESSION_UNAVAILABLE, asyncpg.InterfaceError):
        logger.info("rollback after a lost database connection failed; the pool replaces it")


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


# ---------------------------------------------------------------------------------------------
# Reads: SQL text built once per shape, run on a pooled driver connection
# ---------------------------------------------------------------------------------------------

Engine = Literal["postgresql", "sqlite"]


class SqlParameters:
    """Hands out placeholders while a statement is written, and remembers their order.

    PostgreSQL numbers them (`$1`; a name used twice reuses its number); SQLite's `?` is
    positional, so a name used twice is bound twice.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.names: list[str] = []

    def __call__(self, name: str) -> str:
        if self.engine == "postgresql":
            if name not in self.names:
                self.names.append(name)
            return f"${self.names.index(name) + 1}"
        self.names.append(name)
        return "?"


@dataclass(frozen=True, slots=True)
class ReadStatement:
    """A read-only SELECT for one engine: its text and the order its parameters bind in."""

    sql: str
    parameters: tuple[str, ...]

    @classmethod
    def build(cls, engine: Engine, write: Callable[[SqlParameters], str]) -> ReadStatement:
        parameters = SqlParameters(engine)
        sql = write(parameters)
        return cls(sql=sql, parameters=tuple(parameters.names))


Row = Sequence[Any]
# How a result column comes back from SQLite's driver, when that differs from PostgreSQL's.
ColumnKind = Literal["uuid", "datetime", "json", "plain"]


class ReadPool:
    """Runs read statements; rows come back as tuples of Python values, the same on both engines."""

    engine: Engine

    async def fetch(
        self,
        statement: ReadStatement,
        values: Mapping[str, Any],
        kinds: Sequence[ColumnKind],
    ) -> list[Row]:
        raise NotImplementedError

    async def ping(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


# Errors that mean "the database is not reachable", never "the statement is wrong".
_ASYNCPG_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.OperatorInterventionError,  # admin/crash shutdown, "cannot connect now"
    asyncpg.TooManyConnectionsError,
)


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    """The read pool's connections only ever run one SELECT at a time: no SET, LISTEN,
    cursor or advisory lock survives a statement, so there is nothing to reset on release
    (asyncpg's default reset would cost one more round trip per request)."""


async def _configure_asyncpg_connection(connection: asyncpg.Connection) -> None:
    # JSON columns arrive as Python values and parameters may be lists (tag containment).
    for type_name in ("json", "jsonb"):
        await connection.set_type_codec(
            type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


class PostgresReadPool(ReadPool):
    """asyncpg's own pool: prepared statements cached per connection, rows as Records.

    Behind a transaction pooler the statement cache is off, so every statement is parsed
    in the same round trip that runs it and nothing prepared is left on a shared backend.
    The pool is made on first use, so the app starts (and reports not-ready) while the
    database is down.
    """

    engine: Engine = "postgresql"

    def __init__(self, target: PostgresTarget, *, max_size: int, command_timeout: float) -> None:
        self._target = target
        self._max_size = max_size
        self._command_timeout = command_timeout
        self._pool: asyncpg.Pool | None = None

    async def _get_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            pool = asyncpg.create_pool(
                self._target.dsn,
                min_size=0,
                max_size=self._max_size,
                timeout=self._target.connect_timeout,
                command_timeout=self._command_timeout,
                statement_cache_size=0 if self._target.transaction_pooler else 100,
                server_settings=dict(self._target.server_settings),
                init=_configure_asyncpg_connection,
                reset=_nothing_to_reset,
            )
            # min_size=0: creating the pool opens no connection, so it cannot fail here.
            self._pool = await pool
        return self._pool

    async def fetch(
        self,
        statement: ReadStatement,
        values: Mapping[str, Any],
        kinds: Sequence[ColumnKind],
    ) -> list[Row]:
        arguments = [values[name] for name in statement.parameters]
        pool = await self._get_pool()
        try:
            records: list[Row] = await pool.fetch(
                statement.sql, *arguments, timeout=self._command_timeout
            )
        except _ASYNCPG_UNAVAILABLE as exc:
            raise DatabaseUnavailable from exc
        return records

    async def ping(self) -> None:
        pool = await self._get_pool()
        try:
            await pool.fetchval("SELECT 1", timeout=self._command_timeout)
        except _ASYNCPG_UNAVAILABLE as exc:
            raise DatabaseUnavailable from exc

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


def _sqlite_instant(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


class _SqliteValues:
    """Parameters and results as SQLite's driver sees them, converted with the column types'
    own public processors, so they are stored and compared exactly as the ORM writes them."""

    def __init__(self, dialect: Dialect) -> None:
        self._bind = {
            uuid.UUID: Uuid().dialect_impl(dialect).bind_processor(dialect),
            datetime: UTCDateTime().dialect_impl(dialect).bind_processor(dialect),
        }
        self._result: dict[ColumnKind, Callable[[Any], Any] | None] = {
            # Uuid stores 32 hex digits on SQLite.
            "uuid": uuid.UUID,
            # UTCDateTime stores naive UTC text on SQLite (see process_bind_param).
            "datetime": _sqlite_instant,
            # The JSON type stores json.dumps text on SQLite.
            "json": json.loads,
            "plain": None,
        }

    def _bind_value(self, value: Any) -> Any:
        processor = self._bind.get(type(value))
        return processor(value) if processor is not None else value

    def arguments(self, statement: ReadStatement, values: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(self._bind_value(values[name]) for name in statement.parameters)

    def rows(self, raw: Sequence[Row], kinds: Sequence[ColumnKind]) -> list[Row]:
        processors = [self._result[kind] for kind in kinds]
        return [
            tuple(
                value if processor is None or value is None else processor(value)
                for processor, value in zip(processors, row, strict=True)
            )
            for row in raw
        ]


class SqliteReadPool(ReadPool):
    """The engine's own pool, through `AsyncConnection.exec_driver_sql`.

    Values are converted with the column types' own public processors, so they are stored
    and compared exactly as the ORM writes them.
    """

    engine: Engine = "sqlite"

    def __init__(self, sa_engine: AsyncEngine) -> None:
        self._engine = sa_engine
        self._values = _SqliteValues(sa_engine.dialect)

    async def fetch(
        self,
        statement: ReadStatement,
        values: Mapping[str, Any],
        kinds: Sequence[ColumnKind],
    ) -> list[Row]:
        arguments = self._values.arguments(statement, values)
        async with self._engine.connect() as connection:
            reading = await connection.execution_options(**{READ_ONLY: True})
            result = await reading.exec_driver_sql(statement.sql, arguments)
            raw = result.all()
        return self._values.rows(raw, kinds)

    async def ping(self) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        """The connections belong to the engine; Database.close disposes it."""


class SessionReads(ReadPool):
    """The same read statements, run inside a writing session's transaction.

    For work that reads what it wrote before committing (a chat turn's tools: a task added by
    one tool is listed by the next). The statements and their caller check are the read
    pool's own; only the connection differs. Nothing here commits: the session's owner does.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        bind = session.get_bind()
        self.engine = "sqlite" if bind.dialect.name == "sqlite" else "postgresql"
        self._sqlite = _SqliteValues(bind.dialect) if self.engine == "sqlite" else None

    async def fetch(
        self,
        statement: ReadStatement,
        values: Mapping[str, Any],
        kinds: Sequence[ColumnKind],
    ) -> list[Row]:
        connection = await self._session.connection()
        if self._sqlite is not None:
            arguments = self._sqlite.arguments(statement, values)
            result = await connection.exec_driver_sql(statement.sql, arguments)
            return self._sqlite.rows(result.all(), kinds)
        # SQLAlchemy's asyncpg dialect takes `$n` parameters as they are; its JSON codecs
        # encode text, so a list parameter (tag containment) is sent as JSON text.
        arguments = tuple(
            json.dumps(values[name]) if isinstance(values[name], list) else values[name]
            for name in statement.parameters
        )
        result = await connection.exec_driver_sql(statement.sql, arguments)
        return [tuple(row) for row in result.all()]

    async def ping(self) -> None:
        connection = await self._session.connection()
        await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        """The session belongs to whoever opened it."""


@dataclass
class Database:
    """Everything the app holds open: the write engine, its sessions and the read pool."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    reads: ReadPool

    async def close(self) -> None:
        await self.reads.close()
        await self.engine.dispose()


def open_database(settings: Settings) -> Database:
    """Set everything up without connecting: the first request (or readiness) connects."""
    engine = create_engine(settings)
    reads: ReadPool
    if engine.dialect.name == "sqlite":
        reads = SqliteReadPool(engine)
    else:
        reads = PostgresReadPool(
            _settings_target(settings),
            max_size=settings.db_pool_size + settings.db_max_overflow,
            command_timeout=settings.db_command_timeout_seconds,
        )
    return Database(engine=engine, sessionmaker=create_sessionmaker(engine), reads=reads)


async def get_read_pool(request: Request) -> ReadPool:
    database: Database = request.app.state.database
    return database.reads


ReadPoolDep = Annotated[ReadPool, Depends(get_read_pool)]
