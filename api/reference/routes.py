"""The reference documents' routes: read by the admin, supervisors and auditors; saved by
the admin from the version read, each save on record."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from api import documents
from api.config import Settings
from api.deps import CurrentUser, DatabaseDep, SessionDep, SettingsDep
from api.reference import service

router = APIRouter(prefix="/reference", tags=["reference"])


class DocumentPublic(BaseModel):
    name: str
    title: str
    version: int  # 0: the shipped file (config/), never saved
    saved_by: str | None
    saved_at: datetime | None
    content: dict[str, Any]


class DocumentSave(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=0, description="the version read (0: the shipped file)")
    content: dict[str, Any]


class ChangePublic(BaseModel):
    version: int
    by: str
    at: datetime
    changed: list[str]  # what it changed, in Chinese
    before: dict[str, Any]
    after: dict[str, Any]


def public(found: service.Current) -> DocumentPublic:
    return DocumentPublic(
        name=found.kind.name,
        title=found.kind.title,
        version=found.version,
        saved_by=found.saved.saved_by if found.saved else None,
        saved_at=found.saved.saved_at if found.saved else None,
        content=found.content,
    )


def _all(*, session: Session, settings: Settings) -> list[DocumentPublic]:
    return [
        public(service.current(session=session, settings=settings, name=n)) for n in service.KINDS
    ]


@router.get("", response_model=list[DocumentPublic])
def list_documents(session: SessionDep, settings: SettingsDep, user: CurrentUser) -> Any:
    """Each reference document as it is in force: the admin's last save, or the file."""
    service.readable(user)
    return _all(session=session, settings=settings)


@router.get("/{name}", response_model=DocumentPublic)
def get_document(name: str, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> Any:
    service.readable(user)
    return public(service.current(session=session, settings=settings, name=name))


@router.put("/{name}", response_model=DocumentPublic)
async def save_document(
    name: str, body: DocumentSave, db: DatabaseDep, settings: SettingsDep, user: CurrentUser
) -> Any:
    """Saves the document from ``version`` (the admin's). Its shape is its concept's (422
    naming the field under ``content``); an entry recorded data names stays (422
    ``reference.in_use``); another save since the version read is 409
    ``reference.changed``. What reads it next (an assessment, a plan, a finding) reads
    this, without a deploy."""
    saved = await db.run(
        service.save,
        settings=settings,
        user=user,
        name=name,
        content=body.content,
        version=body.version,
    )
    return public(saved)


@router.get("/{name}/changes", response_model=list[ChangePublic])
def list_changes(name: str, session: SessionDep, user: CurrentUser) -> Any:
    """Every save, the latest first, with what it changed."""
    service.readable(user)
    service.kind_of(name)
    return [
        ChangePublic(
            version=c.version,
            by=c.by,
            at=c.at,
            changed=service.summary(c.before, c.after),
            before=c.before,
            after=c.after,
        )
        for c in documents.changes(session, name)
    ]
