"""The async engine, the per-request session that owns the transaction, and shared column types."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import DateTime, MetaData, Select, Text, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.engine.url import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import LRUCache
from sqlmodel import SQLModel

from taskapi.core.config import Settings

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


def ensure_sqlite_directory(database_url: str) -> None:
    """SQLite creates the file but not its folder; a fresh clone has no var/ yet."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


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
    return create_async_engine(
        url,
        echo=settings.db_echo,
        hide_parameters=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )


class unicode_lower(FunctionElement[str]):  # noqa: N801 - named like the SQL function it is
    """`lower()` that folds every script, not only ASCII, on both engines.

    SQLite's built-in `lower()` folds ASCII only, and PostgreSQL's follows the column's
    collation, which is "C" for titles (so that they sort by code point). On PostgreSQL this
    is `lower()` under the ICU root collation; on SQLite a function each connection
    registers (see _configure_sqlite) that applies Python's `str.lower`, the same mapping
    the service applies to the search text.
    """

    type = Text()
    inherit_cache = True


@compiles(unicode_lower, "postgresql")
def _unicode_lower_postgresql(element: unicode_lower, compiler: SQLCompiler, **kw: Any) -> str:
    (argument,) = element.clauses
    return f'lower(({compiler.process(argument, **kw)}) COLLATE "und-x-icu")'


@compiles(unicode_lower)
def _unicode_lower_sqlite(element: unicode_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{_SQLITE_UNICODE_LOWER}({compiler.process(element.clauses, **kw)})"


_SQLITE_UNICODE_LOWER = "taskapi_unicode_lower"


def _python_lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


# Execution option marking a connection that will only read (see get_session).
READ_ONLY = "taskapi_read_only"


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Foreign keys on, WAL, and BEGIN IMMEDIATE for requests that may write.

    With a deferred BEGIN, two requests that read and then write the same row fail with
    "database is locked" instead of waiting; taking the write lock up front makes SQLite
    serialise them, so conditional updates behave as they do on PostgreSQL. Read-only
    requests begin deferred, so under WAL they never wait for a writer.
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


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request: commit when the handler succeeds, roll back when it raises.

    Used with scope="function" so the commit happens before the response is sent; a commit
    that fails therefore becomes an error response instead of a success the client
    believes in.
    """
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        if request.method in _SAFE_METHODS:
            # GET and HEAD never write: nothing to commit (closing the session rolls back),
            # and the connection is marked read-only so SQLite need not take its write lock.
            await session.connection(execution_options={READ_ONLY: True})
            yield session
            return
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def ping(engine: AsyncEngine) -> None:
    """Ask the database one trivial question; raises when it cannot answer."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def release_connection(session: AsyncSession) -> None:
    """End the session's transaction and hand its connection back to the pool.

    For a service about to do slow work that needs no database (password hashing), so that
    a burst of such requests cannot exhaust the pool or hold SQLite's write lock. Call it
    only after reads: anything not yet committed is rolled back.
    """
    await session.rollback()


# Compiled read statements for PostgreSQL, keyed by statement shape (see fetch_all).
_POSTGRES_READS: LRUCache[Any, Any] = LRUCache(1000)


async def fetch_all(session: AsyncSession, statement: Select[Any]) -> Sequence[Mapping[str, Any]]:
    """Run a read-only SELECT on the session's connection; rows come back as mappings.

    On PostgreSQL the statement runs on the asyncpg connection itself. SQLAlchemy still
    builds and compiles it: its cache key maps this statement's shape to SQL compiled once,
    and this call's values to that SQL's parameters, exactly as its own execution does. What
    is skipped is the execution and result machinery around the driver, which cost 2.3x the
    driver's own time for one row (ADR-0012). Elsewhere (SQLite), for statements with
    render-time parameters (IN lists), and whenever the driver raises, it goes through
    SQLAlchemy as usual, so errors and broken connections are handled in one place.

    The read joins the connection as it stands: inside the transaction if SQLAlchemy has
    started one (after a write), in autocommit before that. Writes never come here.
    """
    connection = await session.connection()
    dialect = connection.dialect
    if dialect.name == "postgresql":
        compiled, extracted, _, _ = statement._compile_w_cache(
            dialect, compiled_cache=_POSTGRES_READS, column_keys=[]
        )
        assert isinstance(compiled, SQLCompiler)
        renders_at_execution = compiled.literal_execute_params or compiled.post_compile_params
        if compiled.positiontup is not None and not renders_at_execution:
            values = compiled.construct_params(extracted_parameters=extracted)
            processors = compiled._bind_processors
            arguments = []
            for name in compiled.positiontup:
                processor = processors.get(name)
                arguments.append(processor(values[name]) if callable(processor) else values[name])
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            try:
                records = await driver.fetch(compiled.string, *arguments)
            except Exception:
                # SQLAlchemy runs it again below: it translates the error into its own types
                # and invalidates a broken connection, which the bare driver would not do.
                records = None
            if records is not None:
                return [dict(record.items()) for record in records]
    result = await connection.execute(statement)
    rows: Sequence[Mapping[str, Any]] = result.mappings().all()
    return rows


async def fetch_one(session: AsyncSession, statement: Select[Any]) -> Mapping[str, Any] | None:
    """The first row of a read-only SELECT (see fetch_all), or None."""
    rows = await fetch_all(session, statement)
    return rows[0] if rows else None
