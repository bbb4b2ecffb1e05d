"""The reference documents the admin edits without a deploy. Each is its concept's: the
station checklist (``api.stations``), the monitoring catalogue (``api.monitoring``) and the
review sectors (``api.reviews``); each names its file, its shape and what it may not drop."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from api import documents
from api.config import Settings
from api.errors import Invalid, NotAllowed, NotFound
from api.monitoring import service as monitoring
from api.monitoring.models import CatalogueDocument
from api.reviews import service as reviews
from api.reviews.models import SectorsDocument
from api.stations import service as stations
from api.stations.models import ChecklistDocument
from api.users.models import Role, User

READERS = (Role.ADMIN, Role.AUDITOR, Role.SUPERVISOR)


def _nothing_in_use(session: Session, body: Any) -> list[dict[str, Any]]:
    return []  # an assessment keeps its own items, scores and pass mark


@dataclass(frozen=True)
class Kind:
    name: str
    title: str
    file: Callable[[Settings], Path]
    shape: type[BaseModel]
    in_use: Callable[[Session, Any], list[dict[str, Any]]]


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            stations.CHECKLIST,
            "站点标准化建设标准（考核评分表）",
            lambda s: s.station_checklist_file,
            ChecklistDocument,
            _nothing_in_use,
        ),
        Kind(
            monitoring.CATALOGUE,
            "商品质量监测：商品类别、区域与清查阈值",
            lambda s: s.monitoring_file,
            CatalogueDocument,
            monitoring.catalogue_in_use,
        ),
        Kind(
            reviews.SECTORS,
            "社会评议：行业、评议重点与投诉类别",
            lambda s: s.reviews_file,
            SectorsDocument,
            reviews.sectors_in_use,
        ),
    )
}


def readable(user: User) -> None:
    if user.role not in READERS:
        raise NotAllowed("auth.role", "the reference documents are the admin's")


def kind_of(name: str) -> Kind:
    found = KINDS.get(name)
    if found is None:
        raise NotFound("reference.not_found", f"no reference document {name}")
    return found


@dataclass(frozen=True)
class Current:
    kind: Kind
    content: dict[str, Any]
    version: int  # 0: the shipped file, never saved
    saved: documents.ReferenceDocument | None


def current(*, session: Session, settings: Settings, name: str) -> Current:
    kind = kind_of(name)
    saved = documents.saved(session, name)
    if saved is None:
        return Current(kind, documents.shipped(kind.file(settings)), 0, None)
    return Current(kind, dict(saved.content), saved.version, saved)


def save(
    *,
    session: Session,
    settings: Settings,
    user: User,
    name: str,
    content: dict[str, Any],
    version: int,
) -> Current:
    """Saves the document from the version read, once its shape holds (422 naming each
    wrong field under ``content``) and it drops nothing recorded data names (422
    ``reference.in_use`` naming the entry); 409 ``reference.changed`` if another save
    came first. Whatever reads it next reads this."""
    if user.role != Role.ADMIN:
        raise NotAllowed("auth.role", "the reference documents are the admin's")
    kind = kind_of(name)
    try:
        body = kind.shape.model_validate(content)
    except ValidationError as error:
        found = error.errors(include_url=False, include_context=False)
        raise Invalid(
            code="reference.invalid",
            errors=[
                {"loc": ["body", "content", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                for e in found
            ],
        ) from error
    dropped = kind.in_use(session, body)
    if dropped:
        raise Invalid(code="reference.in_use", errors=dropped)
    documents.save(
        session=session,
        name=name,
        path=kind.file(settings),
        body=body.model_dump(mode="json"),
        version=version,
        by=user.username,
    )
    session.commit()
    return current(session=session, settings=settings, name=name)


def summary(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What a save changed, in Chinese: the figures and the entries added, dropped or
    renamed, list by list."""
    lines: list[str] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if isinstance(old, list) or isinstance(new, list):
            lines.extend(_entries(key, old or [], new or []))
        else:
            lines.append(f"{FIELD.get(key, key)}：{old} → {new}")
    return lines


def _entries(key: str, old: list[Any], new: list[Any]) -> list[str]:
    label = FIELD.get(key, key)
    before = {e["code"]: e for e in old if isinstance(e, dict)}
    after = {e["code"]: e for e in new if isinstance(e, dict)}
    lines = [f"{label}新增 {after[c].get('name', c)}" for c in after if c not in before]
    lines += [f"{label}删除 {before[c].get('name', c)}" for c in before if c not in after]
    for code in after:
        if code in before and before[code] != after[code]:
            lines.append(f"{label}修改 {after[code].get('name', code)}")
    return lines


FIELD = {
    "pass_mark": "合格线",
    "items": "考核项目",
    "threshold": "不合格率阈值",
    "minimum_samples": "最少样品数",
    "commodities": "商品类别",
    "areas": "区域类型",
    "sectors": "评议行业",
}
