"""Engine, sessions and the column types the models share."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.config import Settings

T = TypeVar("T")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC on every backend, and gives them back aware.

    SQLite has no time zones, so a naive value would silently change meaning; this type
    refuses naive input instead.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(settings: Settings) -> Engine:
    url = settings.effective_database_url
    pool = {
        "pool_size": settings.database_pool_size,
        "max_overflow": settings.database_max_overflow,
        "pool_timeout": settings.database_pool_timeout_seconds,
    }
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            poolclass=QueuePool,
            connect_args={"check_same_thread": False, "timeout": 30},
            **pool,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    connect_args = {}
    if settings.database_schema:
        connect_args["options"] = f"-csearch_path={settings.database_schema}"
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **pool)


def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def lock_for_write(session: Session) -> None:
    """Makes the session's transaction a writer from its first statement, so what it reads
    cannot change before it writes.

    PostgreSQL takes row locks (``SELECT … FOR UPDATE``) where it matters. SQLite ignores
    those, and its driver only begins a transaction at the first write, so a step's reads
    would run ahead of it; ``BEGIN IMMEDIATE`` takes the write lock first (waiting for
    another writer within the busy timeout), which serialises the writers of every case.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    if not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """The database as an ``async def`` route uses it: each piece of work runs in the
    threadpool with a session of its own, committed or closed before it returns.

    So the event loop never waits for a connection, and a request that waits for Temporal
    holds neither a thread nor a connection meanwhile (which is what stalled the API at 32
    lifecycles in flight: every pooled connection held by a request awaiting an update
    whose step needed one).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def run(self, work: Callable[..., T], /, **kwargs: Any) -> T:
        """``work(session=…, **kwargs)`` in a worker thread."""
        return await run_in_threadpool(self._run, work, kwargs)

    def _run(self, work: Callable[..., T], kwargs: dict[str, Any]) -> T:
        with Session(self.engine, expire_on_commit=False) as session:
            return work(session=session, **kwargs)
