"""Engine, sessions and the column types the models share."""

import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, create_engine, event, func, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import QueuePool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from api.config import Settings

T = TypeVar("T")

log = logging.getLogger("weiquan.db")


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
            hide_parameters=True,  # a failed statement's values (personal data) not logged
            **pool,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        WriteGate(settings.database_pool_timeout_seconds).install(engine)
        return engine
    connect_args = {}
    if settings.database_schema:
        connect_args["options"] = f"-csearch_path={settings.database_schema}"
    return create_engine(
        url, pool_pre_ping=True, connect_args=connect_args, hide_parameters=True, **pool
    )


class DatabaseBusy(Exception):
    """No write could start within the timeout: the API is overloaded (answered 503)."""


_DML = ("INSERT", "UPDATE", "DELETE", "REPLACE")


class WriteGate:
    """SQLite: this process's writers take turns at a lock of their own.

    SQLite lets one writer in at a time and makes the others poll (the busy timeout), and
    polling is not fair: under steady load a newcomer takes the lock just released while a
    writer that has polled for half a minute gives up ("database is locked"). At 64
    lifecycles in flight that failed about one step in twenty. Writers here wait on a
    thread lock instead, from their first write (or ``lock_for_write``) to their commit or
    rollback, so no one starves and SQLite's own lock is free whenever one asks for it.
    One API process is the only writer of the embedded default's file; PostgreSQL needs
    none of this.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._owner: int | None = None

    def install(self, engine: Engine) -> None:
        _GATES[engine] = self
        event.listen(engine, "before_cursor_execute", self._before_execute)
        event.listen(engine, "commit", self._after_end)
        event.listen(engine, "rollback", self._after_end)
        # A connection returned to the pool mid-transaction was rolled back by the pool.
        event.listen(engine.pool, "checkin", self._checkin)

    def enter(self, info: dict[Any, Any]) -> None:
        if info.get("write_gate") or self._owner == threading.get_ident():
            return  # this connection holds it, or another of this thread does (no deadlock)
        if not self._lock.acquire(timeout=self.timeout):
            raise DatabaseBusy(f"no write could start within {self.timeout:g} s")
        self._owner = threading.get_ident()
        info["write_gate"] = True

    def leave(self, info: dict[Any, Any]) -> None:
        if info.pop("write_gate", False):
            self._owner = None
            self._lock.release()

    def _before_execute(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip()[:7].upper().startswith(_DML):
            self.enter(conn.info)

    def _after_end(self, conn: Any) -> None:
        # Fired as the transaction ends: the next writer's BEGIN may wait a moment more in
        # SQLite's own busy handler, for this commit to finish.
        self.leave(conn.info)

    def _checkin(self, _dbapi_connection: Any, record: Any) -> None:
        self.leave(record.info)


_GATES: "weakref.WeakKeyDictionary[Engine, WriteGate]" = weakref.WeakKeyDictionary()


@contextmanager
def one_at_a_time(engine: Engine, name: str) -> Iterator[None]:
    """Runs the block in one process at a time, of all the processes on this database.

    PostgreSQL: a session-level advisory lock named by ``name`` and the schema, held on a
    connection of its own (in no transaction) until the block ends; the server lets it go
    with the connection if the process dies meanwhile. SQLite has one API process by
    configuration (``Settings.api_processes``), so there is nothing to take.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        key = connection.execute(
            text("SELECT hashtextextended(:name || ' ' || coalesce(current_schema(), ''), 0)"),
            {"name": name},
        ).scalar_one()
        taken = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
        if not taken.scalar_one():
            log.info("waiting for another process's %s", name)
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        try:
            yield
        finally:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            except DBAPIError:
                # Never back into the pool holding the lock: closed, the server frees it.
                connection.invalidate()


def transaction_memo(session: Session, key: str) -> dict[Any, Any]:
    """What the session's transaction remembers under ``key``: forgotten at its end (a
    commit or a rollback begins another)."""
    transaction = session.get_transaction()
    found = session.info.get(key)
    if found is None or found[0] is not transaction:
        found = (transaction, {})
        session.info[key] = found
    kept: dict[Any, Any] = found[1]
    return kept


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
        gate = _GATES.get(connection.engine)
        if gate is not None:
            gate.enter(connection.info)
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# A list counts its rows this far past its page's first row, and no further.
COUNT_AHEAD = 1_000


def count_ahead(session: Session, ids: Any, *, offset: int) -> tuple[int, bool]:
    """How many rows a list has, counted no further than ``offset + COUNT_AHEAD``: the
    number, and whether it is all of them (False: more than that many).

    An exact count of every case (or of every open task of the city) reads them all, so
    the first page of a list would cost more with every year of records kept. Past a
    thousand rows nobody pages on; they filter (the workplace's inbox says so at 200).
    ``ids`` selects one column of the list's rows in the list's own order, so the
    database reads them from the index the page is read from and stops where the count
    does (in no order, PostgreSQL may scan the table until it has counted enough). Counted
    from the page on, the count covers the page, and a client paging on is told there is
    more.
    """
    stop = offset + COUNT_AHEAD
    counted = session.exec(select(func.count()).select_from(ids.limit(stop + 1).subquery()))
    n = int(counted.one())
    return (n, True) if n <= stop else (stop, False)


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
