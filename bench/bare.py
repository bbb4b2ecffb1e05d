"""The bare insert weiquan's ``POST /cases`` is measured against (``bench/latency.py``): a
FastAPI app with one SQLModel table and one route that inserts a row and commits, on
SQLite with the pragmas weiquan's engine sets (WAL, foreign keys, a busy timeout), a
``def`` route in the threadpool as weiquan's are, served by uvicorn (uvloop and httptools
when installed, as weiquan's API is). None of weiquan's code.

    python -m bench.bare --port 8123 --db /tmp/bare.db   # serves POST /items
"""

import argparse
from datetime import UTC, datetime
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import event
from sqlmodel import Field, Session, SQLModel, create_engine


class Item(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=200)
    body: str = Field(max_length=4000)
    created_at: datetime


class ItemIn(BaseModel):
    subject: str
    body: str


class ItemOut(BaseModel):
    id: int
    created_at: datetime


def build(db: str) -> FastAPI:
    engine = create_engine(f"sqlite:///{db}", connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    SQLModel.metadata.create_all(engine)
    app = FastAPI()

    @app.post("/items", status_code=201)
    def create(item: ItemIn) -> ItemOut:
        with Session(engine) as session:
            row = Item(subject=item.subject, body=item.body, created_at=datetime.now(UTC))
            session.add(row)
            session.commit()
            session.refresh(row)
            assert row.id is not None
            return ItemOut(id=row.id, created_at=row.created_at)

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    uvicorn.run(
        build(args.db), host="127.0.0.1", port=args.port, access_log=False, log_level="warning"
    )
