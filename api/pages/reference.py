"""The admin's reference documents (基础数据) as forms: the station checklist, the
monitoring catalogue and the review sectors, each a few figures and tables of rows (a blank
code drops a row, the last empty row adds one), saved from the version read, with every
save's changes listed. Through the same service as ``/api/v1/reference``."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from api import documents, labels
from api.config import Settings
from api.deps import SessionDep, SettingsDep
from api.errors import DomainError
from api.pages.render import field_text, refusal, render
from api.pages.session import PageUser, Posted
from api.reference import service
from api.stations import service as stations
from api.users.models import Role, User

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: tuple[tuple[str, str], ...]  # (column, heading); the first is the code


@dataclass(frozen=True)
class Shape:
    """A document as a form: its figures and its tables, and the two ways between."""

    figures: tuple[tuple[str, str, str], ...]  # (field, label, help)
    tables: tuple[Table, ...]
    to_form: Callable[[dict[str, Any]], dict[str, str]]
    # posted → (content, content location → form field) and the form's own refusals
    from_form: Callable[[dict[str, str]], tuple[dict[str, Any], dict[tuple[Any, ...], str]]]


def _rows(posted: dict[str, str], table: Table) -> list[tuple[int, dict[str, str]]]:
    """The table's rows as posted, each with its number on the form; a blank code drops it."""
    out = []
    count = (
        int(posted.get(f"count.{table.key}", "0") or 0)
        if posted.get(f"count.{table.key}", "").isdigit()
        else 0
    )
    for i in range(min(count, 500)):
        row = {c: posted.get(f"{table.key}.{i}.{c}", "").strip() for c, _ in table.columns}
        if row[table.columns[0][0]]:
            out.append((i, row))
    return out


def _flat(table: str, entries: list[dict[str, Any]], columns: tuple[str, ...]) -> dict[str, str]:
    form = {f"count.{table}": str(len(entries) + 1)}
    for i, entry in enumerate(entries):
        for c in columns:
            value = entry.get(c, "")
            form[f"{table}.{i}.{c}"] = "、".join(value) if isinstance(value, list) else str(value)
    return form


def _listed(
    posted: dict[str, str], table: Table, where: dict[tuple[Any, ...], str]
) -> list[dict[str, Any]]:
    entries = []
    for k, (i, row) in enumerate(_rows(posted, table)):
        where[(table.key, k)] = f"{table.key}.{i}"
        entries.append(row)
    return entries


# --- the station checklist ---------------------------------------------------------------------

ITEMS = Table("items", "考核项目", (("code", "代码"), ("name", "项目与要求"), ("points", "分值")))


def _checklist_form(content: dict[str, Any]) -> dict[str, str]:
    return {"pass_mark": str(content.get("pass_mark", ""))} | _flat(
        "items", content.get("items", []), ("code", "name", "points")
    )


def _checklist_content(posted: dict[str, str]) -> tuple[dict[str, Any], dict[tuple[Any, ...], str]]:
    where: dict[tuple[Any, ...], str] = {("pass_mark",): "pass_mark"}
    items = _listed(posted, ITEMS, where)
    return {"pass_mark": posted.get("pass_mark", "").strip(), "items": items}, where


# --- the monitoring catalogue ------------------------------------------------------------------

COMMODITIES = Table("commodities", "商品类别", (("code", "代码"), ("name", "名称")))
AREAS = Table("areas", "区域类型", (("code", "代码"), ("name", "名称")))


def _percent(value: Any) -> str:
    try:
        return f"{float(value) * 100:g}"
    except (TypeError, ValueError):
        return str(value)


def _catalogue_form(content: dict[str, Any]) -> dict[str, str]:
    form = {
        "threshold": _percent(content.get("threshold", "")),
        "minimum_samples": str(content.get("minimum_samples", "")),
    }
    form |= _flat("commodities", content.get("commodities", []), ("code", "name"))
    return form | _flat("areas", content.get("areas", []), ("code", "name"))


def _catalogue_content(posted: dict[str, str]) -> tuple[dict[str, Any], dict[tuple[Any, ...], str]]:
    where: dict[tuple[Any, ...], str] = {
        ("threshold",): "threshold",
        ("minimum_samples",): "minimum_samples",
    }
    typed = posted.get("threshold", "").strip()
    try:
        threshold: Any = float(typed) / 100  # the form's per cent
    except ValueError:
        threshold = typed
    content = {
        "threshold": threshold,
        "minimum_samples": posted.get("minimum_samples", "").strip(),
        "commodities": _listed(posted, COMMODITIES, where),
        "areas": _listed(posted, AREAS, where),
    }
    return content, where


# --- the review sectors ------------------------------------------------------------------------

SECTORS = Table(
    "sectors",
    "评议行业",
    (("code", "代码"), ("name", "名称"), ("categories", "投诉类别（以、分隔）")),
)
POINTS = Table(
    "points", "评议重点", (("code", "代码"), ("sector", "行业代码"), ("name", "评议重点"))
)


def _sectors_form(content: dict[str, Any]) -> dict[str, str]:
    sectors = content.get("sectors", [])
    points = [p | {"sector": s["code"]} for s in sectors for p in s.get("points", [])]
    return _flat("sectors", sectors, ("code", "name", "categories")) | _flat(
        "points", points, ("code", "sector", "name")
    )


def _sectors_content(posted: dict[str, str]) -> tuple[dict[str, Any], dict[tuple[Any, ...], str]]:
    where: dict[tuple[Any, ...], str] = {}
    sectors: list[dict[str, Any]] = []
    for k, (i, row) in enumerate(_rows(posted, SECTORS)):
        where[("sectors", k)] = f"sectors.{i}"
        categories = [c for c in re.split(r"[、,，;；\s]+", row["categories"]) if c]
        sectors.append({"code": row["code"], "name": row["name"], "categories": categories})
        sectors[-1]["points"] = []
    index = {s["code"]: k for k, s in enumerate(sectors)}
    for i, row in _rows(posted, POINTS):
        at = index.get(row["sector"])
        if at is None:  # a point of no sector listed: the sector's field names it
            where[("orphan", i)] = f"points.{i}.sector"
            continue
        points = sectors[at]["points"]
        where[("sectors", at, "points", len(points))] = f"points.{i}"
        points.append({"code": row["code"], "name": row["name"]})
    return {"sectors": sectors}, where


SHAPES: dict[str, Shape] = {
    stations.CHECKLIST: Shape(
        (("pass_mark", "合格线（分）", "总分达到合格线为合格，低于合格线的站点须整改"),),
        (ITEMS,),
        _checklist_form,
        _checklist_content,
    ),
    "monitoring": Shape(
        (
            (
                "threshold",
                "不合格率阈值（%）",
                "某类商品不合格率超过此值即启动专项清查；新方案的默认值",
            ),
            ("minimum_samples", "最少样品数", "检验样品达到此数后，不合格率才计入"),
        ),
        (COMMODITIES, AREAS),
        _catalogue_form,
        _catalogue_content,
    ),
    "reviews": Shape((), (SECTORS, POINTS), _sectors_form, _sectors_content),
}

IN_USE = {"commodities": "商品类别", "areas": "区域类型", "sectors": "评议行业或评议重点"}


def _errors(
    error: Exception, where: dict[tuple[Any, ...], str], form: dict[str, str]
) -> tuple[dict[str, str], str]:
    """Each refusal beside its cell or figure, else above its table."""
    found, general, _ = refusal(error)
    errors: dict[str, str] = {}
    for e in found:
        loc = tuple(e.get("loc", ()))[2:]  # after body, content
        if e.get("type") == "in_use":
            table = str(loc[0]) if loc else "general"
            what = IN_USE.get(table, table)
            errors.setdefault(table, f"「{e.get('input')}」仍有记录使用，不能删除（{what}）")
            continue
        errors.setdefault(_field(loc, where, form), _why(e))
    return errors, general


def _field(loc: tuple[Any, ...], where: dict[tuple[Any, ...], str], form: dict[str, str]) -> str:
    """The form's field an error's location names: a figure, a row's cell, or a table."""
    for n in range(len(loc), 0, -1):
        if loc[:n] not in where:
            continue
        field = where[loc[:n]]
        tail = [p for p in loc[n:] if isinstance(p, str)]
        cell = f"{field}.{tail[0]}" if tail else field
        if cell in form:
            return cell
        return "points" if tail and tail[0] == "points" else field.split(".")[0]
    return str(loc[0]) if loc else "general"


def _why(e: dict[str, Any]) -> str:
    msg = str(e.get("msg", ""))
    for english, chinese in (
        ("listed twice", "代码重复"),
        ("above the items' total", "合格线不能高于各项分值之和"),
        ("a category is", "投诉类别每个 1 至 40 个字"),
        ("should match pattern", "代码只用小写字母、数字和连字符"),
    ):
        if english in msg:
            return chinese
    return field_text(e)


def _reader(user: User) -> None:
    service.readable(user)


def _page(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    name: str,
    status_code: int = 200,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    general: str = "",
) -> HTMLResponse:
    _reader(user)
    found = service.current(session=session, settings=settings, name=name)
    shape = SHAPES[name]
    history = [(c, service.summary(c.before, c.after)) for c in documents.changes(session, name)]
    return render(
        request,
        "reference.html",
        user,
        status_code,
        document=found,
        shape=shape,
        form=form if form is not None else shape.to_form(found.content),
        errors=errors or {},
        general=general,
        history=history,
        may_edit=user.role == Role.ADMIN,
        notice=request.query_params.get("saved", ""),
    )


@router.get("/admin/reference", response_class=HTMLResponse)
def reference_list(
    request: Request, session: SessionDep, settings: SettingsDep, user: PageUser
) -> HTMLResponse:
    _reader(user)
    found = [service.current(session=session, settings=settings, name=n) for n in service.KINDS]
    return render(request, "reference_list.html", user, documents=found)


@router.get("/admin/reference/{name}", response_class=HTMLResponse)
def reference_page(
    request: Request, name: str, session: SessionDep, settings: SettingsDep, user: PageUser
) -> HTMLResponse:
    service.kind_of(name)
    return _page(request, session, settings, user, name)


@router.post("/admin/reference/{name}", response_class=HTMLResponse)
def save_reference(
    request: Request,
    name: str,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    posted: Posted,
) -> Response:
    """Saves the document from the form, as ``PUT /api/v1/reference/{name}``; a refusal
    shows the form again as typed, each error beside its cell."""
    service.kind_of(name)
    form = dict(posted)
    content, where = SHAPES[name].from_form(form)
    version = form.get("version", "")
    # A review point of a sector the form does not list.
    errors = {f: "没有这个行业代码" for k, f in where.items() if k[0] == "orphan"}
    general, status = "", 422
    if not errors:
        try:
            saved = service.save(
                session=session,
                settings=settings,
                user=user,
                name=name,
                content=content,
                version=int(version) if version.isdigit() else -1,
            )
        except DomainError as error:
            session.rollback()
            if error.status_code in (401, 403):
                raise
            errors, general = _errors(error, where, form)
            status = error.status_code
        else:
            return RedirectResponse(
                f"/admin/reference/{quote(name)}?saved={saved.version}", status_code=303
            )
    general = general or labels.error("reference.invalid")
    return _page(request, session, settings, user, name, status, form, errors, general)
