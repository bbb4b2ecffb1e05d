"""SQLite writers of one process take turns at the write gate (api.db.WriteGate).

Before the gate, at 64 lifecycles in flight about one step in twenty failed with
"database is locked": SQLite's busy polling let newcomers take the lock while a writer
that had waited 30 s gave up, and the API answered 500. Writers now queue on a lock of
their own, which is released at every commit, rollback and return to the pool (a leak
would stop every write), and a write that cannot start in time is a 503, not a 500.
"""

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.config import Settings
from api.db import DatabaseBusy, lock_for_write, make_engine
from api.main import create_app, prepare_database
from tests.conftest import blocking_allowed


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # The gate waits as long as the pool does; short here, so a refusal comes quickly.
    return Settings(data_dir=tmp_path, seed_demo_users=True, database_pool_timeout_seconds=0.5)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    prepare_database(engine, settings)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT)"))
    yield engine
    engine.dispose()


def write(engine: Engine, body: str) -> None:
    with Session(engine) as session:
        session.execute(text("INSERT INTO note (body) VALUES (:b)"), {"b": body})
        session.commit()


def notes(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [row[0] for row in session.execute(text("SELECT body FROM note ORDER BY id"))]


def test_a_writer_waits_for_the_one_before_it_and_then_writes(engine: Engine) -> None:
    first = Session(engine)
    first.execute(text("INSERT INTO note (body) VALUES ('first')"))  # holds the gate
    done = threading.Event()
    second = threading.Thread(target=lambda: (write(engine, "second"), done.set()))
    second.start()
    assert not done.wait(0.2)  # queued behind the first, not failed
    first.commit()
    first.close()
    second.join(5)
    assert done.is_set()
    assert notes(engine) == ["first", "second"]


def test_every_way_a_transaction_ends_lets_the_next_writer_in(engine: Engine) -> None:
    rolled_back = Session(engine)
    rolled_back.execute(text("INSERT INTO note (body) VALUES ('undone')"))
    rolled_back.rollback()
    write(engine, "after a rollback")

    closed = Session(engine)
    closed.execute(text("INSERT INTO note (body) VALUES ('dropped')"))
    closed.close()  # never committed: returned to the pool
    write(engine, "after a close")

    locked = Session(engine)
    lock_for_write(locked)  # BEGIN IMMEDIATE through the gate, no write yet
    locked.commit()
    locked.close()
    write(engine, "after lock_for_write")

    assert notes(engine) == ["after a rollback", "after a close", "after lock_for_write"]


def test_a_write_that_cannot_start_in_time_is_refused_and_writes_nothing(engine: Engine) -> None:
    holder = Session(engine)
    holder.execute(text("INSERT INTO note (body) VALUES ('held')"))
    failed: list[BaseException] = []

    def late() -> None:
        try:
            write(engine, "late")
        except BaseException as error:
            failed.append(error)

    thread = threading.Thread(target=late)
    thread.start()
    thread.join(10)
    assert len(failed) == 1 and isinstance(failed[0], DatabaseBusy)
    holder.commit()
    holder.close()
    assert notes(engine) == ["held"]


async def test_the_api_answers_503_busy_when_no_write_can_start(
    engine: Engine, settings: Settings
) -> None:
    app = create_app(settings, engine=engine)
    holder = Session(engine)
    with blocking_allowed():  # the test's own write, holding the gate
        holder.execute(text("INSERT INTO note (body) VALUES ('held')"))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api"
        ) as api:
            # Signing in records the attempt: a write.
            response = await api.post(
                "/api/v1/auth/token", data={"username": "operator", "password": "demo"}
            )
    finally:
        with blocking_allowed():
            holder.rollback()
            holder.close()
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "service.busy"
    assert response.headers["Retry-After"] == "1"
