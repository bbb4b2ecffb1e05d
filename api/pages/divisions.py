"""The admin's division list (行政区划) as pages: each township with its branch, and a
township's own page with its communities and villages, where one is added, renamed, or
retired when merged away. Through the same service as ``/api/v1/divisions``."""

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, func, select

from api.deps import SessionDep
from api.errors import DomainError, NotAllowed, NotFound
from api.pages.render import field_text, refusal, render
from api.pages.session import PageUser, Posted
from api.stations import divisions
from api.stations.models import (
    Division,
    DivisionAction,
    DivisionChange,
    DivisionCreate,
    DivisionLevel,
    DivisionRetire,
    DivisionUpdate,
)
from api.units.models import Unit, UnitKind
from api.users.models import Role, User

router = APIRouter(include_in_schema=False)


def _readable(user: User) -> None:
    if user.role not in (Role.ADMIN, Role.SUPERVISOR, Role.AUDITOR):
        raise NotAllowed("auth.role", "the divisions are read by supervisors and the admin")
    if user.role == Role.SUPERVISOR and not user.city_wide:
        raise NotAllowed("auth.role", "the division list is the city's")


def _branches(session: Session) -> dict[str, str]:
    return dict(
        session.exec(
            select(Unit.code, Unit.name)
            .where(Unit.kind == UnitKind.BRANCH)
            .order_by(col(Unit.code))
        ).all()
    )


def change_line(change: DivisionChange, branches: dict[str, str], names: dict[str, str]) -> str:
    """One change of the division list, as the history reads it."""
    code, done = change.division, change.change
    if change.action == DivisionAction.ADDED:
        town = names.get(done.get("township", ""), done.get("township", ""))
        return f"新增 {code} {done.get('name', '')}（{town}）"
    if change.action == DivisionAction.RETIRED:
        into = done.get("merged_into")
        merged = f"，并入 {into} {names.get(into, '')}".rstrip() if into else ""
        return f"{code} {names.get(code, '')} 撤并（{done.get('reason', '')}）{merged}"
    parts = []
    if "name" in done:
        parts.append(f"{code} 更名：{done['name']['from']} → {done['name']['to']}")
    if "branch" in done:
        old, new = done["branch"]["from"], done["branch"]["to"]
        moved = f"{code} 由{branches.get(old, old or '—')}调整到{branches.get(new, new)}"
        if done.get("stations"):
            moved += f"，站点 {'、'.join(done['stations'])} 随之调整"
        parts.append(moved)
    return "；".join(parts)


def _lines(session: Session, found: list[DivisionChange]) -> list[tuple[DivisionChange, str]]:
    codes = {c.division for c in found} | {
        str(c.change.get(k)) for c in found for k in ("township", "merged_into") if c.change.get(k)
    }
    names = dict(
        session.exec(
            select(Division.code, Division.name).where(col(Division.code).in_(codes))
        ).all()
    )
    branches = _branches(session)
    return [(c, change_line(c, branches, names)) for c in found]


def _list_page(
    request: Request,
    session: Session,
    user: User,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    notice: str = "",
) -> HTMLResponse:
    _readable(user)
    towns = divisions.divisions(session=session, branch=None, level=DivisionLevel.TOWNSHIP)
    counties = dict(
        session.exec(
            select(Division.code, Division.name).where(Division.level == DivisionLevel.COUNTY)
        ).all()
    )
    villages = dict(
        session.exec(
            select(Division.township_code, func.count())
            .where(Division.level == DivisionLevel.VILLAGE, col(Division.retired_on).is_(None))
            .group_by(col(Division.township_code))
        ).all()
    )
    return render(
        request,
        "divisions.html",
        user,
        status_code,
        towns=towns,
        counties=counties,
        villages=villages,
        branches=_branches(session),
        changes=_lines(session, divisions.changes(session)[:50]),
        may_edit=user.role == Role.ADMIN,
        errors=errors or {},
        notice=notice,
    )


def _township_page(
    request: Request,
    session: Session,
    user: User,
    code: str,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    notice: str = "",
) -> HTMLResponse:
    _readable(user)
    town = session.get(Division, code)
    if town is None or town.level != DivisionLevel.TOWNSHIP:
        raise NotFound("stations.no_division", f"no township {code}")
    found = divisions.divisions(
        session=session, branch=None, level=None, township=code, include_retired=True
    )
    return render(
        request,
        "division.html",
        user,
        status_code,
        town=town,
        villages=[v for v in found if v.retired_on is None],
        retired=[v for v in found if v.retired_on is not None],
        county=session.get(Division, town.county_code),
        branches=_branches(session),
        changes=_lines(session, divisions.changes(session, township=code)),
        may_edit=user.role == Role.ADMIN,
        errors=errors or {},
        typed=typed or {},
        notice=notice,
    )


@router.get("/admin/divisions", response_class=HTMLResponse)
def divisions_page(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    return _list_page(request, session, user, notice=request.query_params.get("moved", ""))


@router.get("/admin/divisions/{code}", response_class=HTMLResponse)
def township_page(request: Request, code: str, session: SessionDep, user: PageUser) -> HTMLResponse:
    return _township_page(request, session, user, code, notice=request.query_params.get("done", ""))


def _why(error: Exception) -> tuple[dict[str, str], str, int]:
    """The fields' errors by name, or the whole form's, with the status."""
    found, general, status = refusal(error)
    by_field = {str(e["loc"][-1]): field_text(e) for e in found if e.get("loc")}
    if found and not by_field:
        general = field_text(found[0])
    return by_field, general, status


def _attempt(session: Session, act: Any) -> tuple[dict[str, str], str, int] | None:
    try:
        act()
    except (DomainError, ValidationError) as error:
        session.rollback()
        if isinstance(error, DomainError) and error.status_code in (401, 403, 404):
            raise
        return _why(error)
    return None


def _township_of(session: Session, code: str) -> str:
    """The township whose page a division's form returns to (its own, for a township)."""
    own = session.get(Division, code)
    return (own.township_code if own else None) or code


def _fields(posted: dict[str, str], *names: str) -> dict[str, str]:
    return {n: posted[n] for n in names if posted.get(n, "") != ""}


@router.post("/admin/divisions/{code}", response_class=HTMLResponse)
def edit_division(
    request: Request, code: str, session: SessionDep, user: PageUser, posted: Posted
) -> Response:
    """A township given to the branch chosen, or a division renamed, as ``PUT
    /api/v1/divisions/{code}``; from the list, or from the township's page."""
    sent = _fields(posted, "name", "branch")
    town = _township_of(session, code)
    refused = _attempt(
        session,
        lambda: divisions.edit(
            session=session, user=user, code=code, body=DivisionUpdate.model_validate(sent)
        ),
    )
    from_list = posted.get("from") == "list"
    if refused is not None:
        fields, general, status = refused
        why = {code: "；".join(fields.values()) or general}
        if from_list:
            return _list_page(request, session, user, status, errors=why)
        return _township_page(request, session, user, town, status, errors=why, typed=sent)
    if from_list:
        return RedirectResponse(f"/admin/divisions?moved={quote(code)}#d-{code}", status_code=303)
    return RedirectResponse(f"/admin/divisions/{town}?done={quote(code)}#d-{code}", status_code=303)


@router.post("/admin/divisions/{code}/villages", response_class=HTMLResponse)
def add_village(
    request: Request, code: str, session: SessionDep, user: PageUser, posted: Posted
) -> Response:
    """A community or village added to the township, as ``POST /api/v1/divisions``."""
    sent = _fields(posted, "code", "name") | {"township": code}
    refused = _attempt(
        session,
        lambda: divisions.add(session=session, user=user, body=DivisionCreate.model_validate(sent)),
    )
    if refused is not None:
        fields, general, status = refused
        errors = {f"new-{k}": v for k, v in fields.items()} | ({"new": general} if general else {})
        typed = {f"new-{k}": v for k, v in sent.items()}
        return _township_page(request, session, user, code, status, errors=errors, typed=typed)
    added = sent["code"]
    return RedirectResponse(
        f"/admin/divisions/{code}?done={quote(added)}#d-{added}", status_code=303
    )


@router.post("/admin/divisions/{code}/retire", response_class=HTMLResponse)
def retire_village(
    request: Request, code: str, session: SessionDep, user: PageUser, posted: Posted
) -> Response:
    """A community or village retired (撤并), as ``POST /api/v1/divisions/{code}/retire``."""
    sent = _fields(posted, "reason", "merged_into")
    town = _township_of(session, code)
    refused = _attempt(
        session,
        lambda: divisions.retire(
            session=session, user=user, code=code, body=DivisionRetire.model_validate(sent)
        ),
    )
    if refused is not None:
        fields, general, status = refused
        why = {f"retire-{code}": "；".join(fields.values()) or general}
        typed = {f"retire-{code}-{k}": v for k, v in sent.items()}
        return _township_page(request, session, user, town, status, errors=why, typed=typed)
    return RedirectResponse(f"/admin/divisions/{town}?done={quote(code)}#retired", status_code=303)
