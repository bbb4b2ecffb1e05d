"""The bureau's reference documents (基础数据): the station checklist, the monitoring
catalogue, the review sectors. Each ships as a file in ``config/``; once the admin saves
it in the workplace, the saved version is the one in force, read at each use, so a change
needs no deploy. Every save is versioned and on record with what it changed.

This module only keeps and reads them. What a document must hold, and what may not be
taken out of it while in use, is its concept's (``api.reference`` ties them together)."""

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField
from sqlalchemy import JSON, Column
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from api.db import UTCDateTime, utcnow
from api.errors import Conflict


class ReferenceDocument(SQLModel, table=True):
    """A reference document as the admin last saved it; version 0 is the shipped file."""

    name: str = Field(primary_key=True, max_length=40)
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    version: int = 1
    saved_by: str = Field(max_length=60)
    saved_at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)


class ReferenceChange(SQLModel, table=True):
    """One save: who, when, the version it made, and the document before and after."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=40, index=True)
    version: int
    by: str = Field(max_length=60)
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow)
    before: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    after: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


# --- what the concepts' documents are made of -----------------------------------------------

CODE = r"^[a-z0-9][a-z0-9-]*$"  # a stable code: data already recorded names it


class Entry(BaseModel):
    """One named entry of a list (a commodity, an area, a review point …)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = PydanticField(min_length=1, max_length=40, pattern=CODE)
    name: str = PydanticField(min_length=1, max_length=200)


def once_each(entries: list[Any]) -> list[Any]:
    """A pydantic check: no code twice in one list."""
    codes = [e.code for e in entries]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise ValueError(f"the code {twice[0]} is listed twice")
    return entries


def in_use(field: str, code: str, where: str) -> dict[str, Any]:
    """The refusal of a save that drops an entry recorded data still names."""
    return {
        "loc": ["body", "content", field],
        "msg": f"{code} is named by {where}: keep it",
        "type": "in_use",
        "input": code,
    }


# --- keeping and reading them ----------------------------------------------------------------


def shipped(path: Path) -> dict[str, Any]:
    """The file's content, its ``_comment`` (for whoever opens the file) left out."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def saved(session: Session, name: str) -> ReferenceDocument | None:
    return session.get(ReferenceDocument, name)


def content(session: Session, name: str, path: Path) -> dict[str, Any]:
    """The document in force: the admin's last save, else the shipped file."""
    found = session.exec(
        select(ReferenceDocument.content).where(ReferenceDocument.name == name)
    ).first()
    return dict(found) if found is not None else shipped(path)


def save(
    *, session: Session, name: str, path: Path, body: dict[str, Any], version: int, by: str
) -> ReferenceDocument:
    """Saves ``body`` (already checked by its concept) from the version read: 0, the
    shipped file, the first time. Another save since is 409 ``reference.changed``. The
    caller commits."""
    current = saved(session, name)
    before = current.content if current is not None else shipped(path)
    if current is None:
        if version != 0:
            raise Conflict("reference.changed", f"{name} was saved by someone else meanwhile")
        made = ReferenceDocument(name=name, content=body, version=1, saved_by=by)
        session.add(made)
        try:
            session.flush()
        except IntegrityError as error:
            session.rollback()
            raise Conflict(
                "reference.changed", f"{name} was saved by someone else meanwhile"
            ) from error
    else:
        done = session.execute(
            sql_update(ReferenceDocument)
            .where(col(ReferenceDocument.name) == name, col(ReferenceDocument.version) == version)
            .values(content=body, version=version + 1, saved_by=by, saved_at=utcnow())
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            raise Conflict("reference.changed", f"{name} was saved by someone else meanwhile")
    session.add(ReferenceChange(name=name, version=version + 1, by=by, before=before, after=body))
    session.flush()
    session.expire_all()
    found = saved(session, name)
    assert found is not None
    return found


def changes(session: Session, name: str) -> list[ReferenceChange]:
    return list(
        session.exec(
            select(ReferenceChange)
            .where(ReferenceChange.name == name)
            .order_by(col(ReferenceChange.id).desc())
        )
    )
