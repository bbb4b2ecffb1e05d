"""The admin's pages: the working calendar, the rule sets and the users."""

import re
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from api import labels
from api.auth import accounts
from api.auth import service as logins
from api.calendar import service as calendars
from api.config import Settings
from api.db import utcnow
from api.deps import DatabaseDep, SessionDep, SettingsDep, get_temporal
from api.errors import DomainError, Invalid, NotAllowed, NotFound
from api.pages import rulesets, views
from api.pages.render import refusal, render
from api.pages.session import PageUser, Posted
from api.rules import service as rules
from api.units import service as units
from api.units.models import UnitKind
from api.users.models import PasswordReset, Role, User, UserCreate, UserUpdate
from api.workdays import ZONE

router = APIRouter(include_in_schema=False)


# --- the admin: the working calendar -------------------------------------------------------


def _admin(user: User) -> None:
    if user.role != Role.ADMIN:
        raise NotAllowed("auth.role", "the calendar, the rule sets and the users are the admin's")


def _days(text: str, field: str, errors: dict[str, str]) -> list[date]:
    """One date a line (2027-10-01), or a range (2027-10-01 至 2027-10-07)."""
    found: list[date] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        try:
            parts = [date.fromisoformat(p.strip()) for p in re.split(r"至|~|－|—", line)]
        except ValueError:
            errors.setdefault(field, f"第 {number} 行不是日期（应如 2027-10-01）：{line}")
            continue
        first, last = parts[0], parts[-1]
        while first <= last:
            found.append(first)
            first += timedelta(days=1)
    return found


@router.get("/admin/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    year: Annotated[int | None, Query(ge=2004, le=2100)] = None,
) -> HTMLResponse:
    _admin(user)
    shown = year or utcnow().astimezone(ZONE).year + 1
    current = calendars.in_force(session=session, year=shown)
    return render(
        request,
        "calendar.html",
        user,
        year=shown,
        current=current,
        holidays="\n".join(d.isoformat() for d in current.holidays),
        workdays="\n".join(d.isoformat() for d in current.workdays),
        errors={},
        moved=None,
        saved=None,
    )


@router.post("/admin/calendar/{year}", response_class=HTMLResponse)
async def calendar_submit(
    request: Request,
    year: Annotated[int, PathParam(ge=2004, le=2100)],
    db: DatabaseDep,
    settings: SettingsDep,
    user: PageUser,
    posted: Posted,
) -> Response:
    """预览: the open deadlines the arrangement would move, nothing saved; 保存: saves it
    and sends those deadlines to be recomputed, as PUT /api/v1/calendar/{year} does."""
    _admin(user)
    errors: dict[str, str] = {}
    holidays = _days(posted.get("holidays", ""), "holidays", errors)
    workdays = _days(posted.get("workdays", ""), "workdays", errors)
    moved = saved = None
    status = 200
    if not errors:
        try:
            if posted.get("action") == "save":

                async def temporal() -> Any:
                    return await get_temporal(request)

                saved = await calendars.apply_year(
                    db=db,
                    temporal=temporal,
                    settings=settings,
                    user=user,
                    year=year,
                    holidays=holidays,
                    workdays=workdays,
                )
            else:
                moved = await db.run(
                    calendars.preview, year=year, holidays=holidays, workdays=workdays
                )
        except Invalid as error:
            for e in error.detail if isinstance(error.detail, list) else []:
                loc = [str(p) for p in e.get("loc", []) if p != "body"]
                field = loc[0] if loc else "holidays"
                index = int(loc[1]) if len(loc) > 1 and loc[1].isdigit() else None
                days = holidays if field == "holidays" else workdays
                bad = days[index].isoformat() if index is not None and index < len(days) else ""
                errors.setdefault(field, f"{bad} {_calendar_message(str(e.get('msg', '')))}")
        except DomainError as error:
            errors["holidays"] = labels.error(error.code)
    if errors:
        status = 422
    current = await db.run(calendars.in_force, year=year)
    return render(
        request,
        "calendar.html",
        user,
        status,
        year=year,
        current=current,
        holidays=posted.get("holidays", ""),
        workdays=posted.get("workdays", ""),
        errors=errors,
        moved=moved,
        saved=saved,
        names=await db.run(views.unit_names),
    )


def _calendar_message(message: str) -> str:
    """The calendar's own checks, in Chinese."""
    for english, chinese in (
        ("Saturday or Sunday", "调休上班日须是周六或周日"),
        ("not in", "不在该年度内"),
        ("twice", "重复"),
        ("both", "不能既是假日又是调休上班日"),
    ):
        if english in message:
            return chinese
    return "不能作为该年度的安排"


# --- the admin: users ---------------------------------------------------------------------

USER_NOTICES = {
    "created": "已创建用户",
    "update": "已保存角色和单位",
    "disable": "已停用：该用户已退出登录，不能再登录",
    "enable": "已启用",
    "password": "已重置密码：该用户已退出登录，须用新密码登录",
    "unlock": "已解除登录锁定",
}
USER_FIELDS = {"username": "用户名", "password": "密码", "role": "角色", "unit": "单位"}


def _unit_choices(session: Session) -> list[tuple[str, str, str]]:
    """Every unit as (code, name, kind), the centre first, then branches, then stations."""
    order = {UnitKind.CENTRE: 0, UnitKind.BRANCH: 1, UnitKind.STATION: 2}
    found = units.list_all(session=session)
    return [(u.code, u.name, u.kind) for u in sorted(found, key=lambda u: order[u.kind])]


def _users_context(session: Session, unit: str | None) -> dict[str, Any]:
    found = accounts.list_all(session=session, unit=unit or None)
    return {
        "people": found,
        "units": _unit_choices(session),
        "names": views.unit_names(session),
        "chosen_unit": unit or "",
        "roles": labels.ROLE,
        "places": {r.value: sorted(k.value for k in kinds) for r, kinds in accounts.PLACES.items()},
    }


def _field_errors(error: Exception, fields: dict[str, str]) -> tuple[dict[str, str], str, int]:
    """A refused user form: each error beside its field, in Chinese."""
    found, general, status = refusal(error)
    errors: dict[str, str] = {}
    code = error.code if isinstance(error, DomainError) else "request.invalid"
    for e in found:
        loc = [str(p) for p in e.get("loc", []) if p != "body"]
        field = loc[-1] if loc and loc[-1] in fields else next(iter(fields))
        if code != "request.invalid":
            text = labels.error(code)
        elif field == "username" and e.get("type") == "string_pattern_mismatch":
            text = "用户名用字母、数字、点、横线或下划线，2 至 60 个字符，以字母或数字开头"
        else:
            text = labels.FIELD_ERROR.get(str(e.get("type")), "填写有误")
        errors.setdefault(field, text)
    if isinstance(error, DomainError) and not isinstance(error, Invalid):
        field = "username" if error.code == "users.taken" else ""
        if field:
            errors[field] = labels.error(error.code)
            general = ""
    return errors, general, status


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    unit: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    _admin(user)
    return render(
        request,
        "users.html",
        user,
        form={},
        errors={},
        min_length=settings.password_min_length,
        **_users_context(session, unit),
    )


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(
    request: Request, session: SessionDep, settings: SettingsDep, user: PageUser, posted: Posted
) -> Response:
    """Creates a user, as ``POST /api/v1/users`` does."""
    _admin(user)
    typed = {k: posted.get(k, "").strip() for k in USER_FIELDS}
    try:
        body = UserCreate.model_validate({k: v for k, v in typed.items() if v})
        accounts.create(session=session, settings=settings, body=body, by=user)
    except (ValidationError, DomainError) as error:
        session.rollback()
        errors, general, status = _field_errors(error, USER_FIELDS)
        return render(
            request,
            "users.html",
            user,
            status,
            form={**typed, "password": ""},  # a password is never shown again
            errors=errors,
            general=general or labels.ERROR["request.invalid"],
            min_length=settings.password_min_length,
            **_users_context(session, ""),
        )
    return RedirectResponse(f"/admin/users/{quote(body.username)}?notice=created", status_code=303)


def _person_page(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    username: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    person = accounts.get(session=session, username=username)
    return render(
        request,
        "user.html",
        user,
        status,
        person=person,
        history=accounts.changes(session=session, username=username),
        units=_unit_choices(session),
        names=views.unit_names(session),
        roles=labels.ROLE,
        min_length=settings.password_min_length,
        **{"errors": {}, "general": "", "notice": "", **context},
    )


@router.get("/admin/users/{username}", response_class=HTMLResponse)
def user_page(
    request: Request,
    username: str,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    notice: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    _admin(user)
    return _person_page(
        request, session, settings, user, username, notice=USER_NOTICES.get(notice, "")
    )


@router.post("/admin/users/{username}/{action}", response_class=HTMLResponse)
def change_user(
    request: Request,
    username: str,
    action: str,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    posted: Posted,
) -> Response:
    """Changes a user's role and unit, disables, enables, resets the password or ends a
    login lockout, through the same service as ``/api/v1/users``."""
    _admin(user)
    if action not in USER_NOTICES or action == "created":
        raise NotFound("not_found", f"no user action {action}")
    try:
        if action == "update":
            typed = {k: posted.get(k, "").strip() for k in ("role", "unit")}
            change = UserUpdate.model_validate({k: v for k, v in typed.items() if v})
            accounts.update(session=session, username=username, body=change, by=user)
        elif action in ("disable", "enable"):
            change = UserUpdate(active=action == "enable")
            accounts.update(session=session, username=username, body=change, by=user)
        elif action == "password":
            reset = PasswordReset.model_validate({"password": posted.get("password", "")})
            accounts.reset_password(
                session=session, settings=settings, username=username, body=reset, by=user
            )
        else:
            logins.unlock(session=session, settings=settings, username=username, by=user.username)
    except (ValidationError, DomainError) as error:
        session.rollback()
        if isinstance(error, NotFound):
            raise
        fields = {"password": "密码"} if action == "password" else {"unit": "单位", "role": "角色"}
        errors, general, status = _field_errors(error, fields)
        return _person_page(
            request,
            session,
            settings,
            user,
            username,
            status,
            errors={f"{action}.{k}": v for k, v in errors.items()},
            general=general or labels.ERROR["request.invalid"],
            typed={k: posted.get(k, "") for k in ("role", "unit")},
        )
    return RedirectResponse(f"/admin/users/{quote(username)}?notice={action}", status_code=303)


# --- the admin: rule sets -------------------------------------------------------------------

RULE_READERS = (Role.ADMIN, Role.AUDITOR, Role.SUPERVISOR)


def _rule_reader(user: User) -> None:
    if user.role not in RULE_READERS:
        raise NotAllowed("auth.role", "the rule sets are kept by the admin")


@router.get("/admin/rules", response_class=HTMLResponse)
def rules_page(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    _rule_reader(user)
    return render(request, "rules.html", user, records=rules.list_all(session=session))


def _rule_set_page(
    request: Request,
    session: Session,
    user: User,
    code: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    record = rules.get(session=session, code=code)
    if record is None:
        raise NotFound("rules.not_found", f"rule set {code} not found")
    current = rules.to_ruleset(record)
    history = [
        (change, rulesets.change_summary(change.before, change.after))
        for change in rules.changes(session=session, code=code)
    ]
    return render(
        request,
        "ruleset.html",
        user,
        status,
        record=record,
        current=current,
        effective=record.effective_from.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M"),
        history=history,
        may_edit=user.role == Role.ADMIN,
        figures=rulesets.FIGURES,
        limit_names=rulesets.LIMIT_NAMES,
        ground_kinds=rulesets.GROUND_KINDS,
        starts=rulesets.FROM,
        **{"errors": {}, "general": "", "notice": "", "posted": None, **context},
    )


@router.get("/admin/rules/{code}", response_class=HTMLResponse)
def rule_set_page(
    request: Request,
    code: str,
    session: SessionDep,
    user: PageUser,
    saved: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    _rule_reader(user)
    notice = (
        f"已保存为第 {saved} 版。已设定的时限不变，此后设定的时限按新规则计算。" if saved else ""
    )
    return _rule_set_page(request, session, user, code, notice=notice)


@router.post("/admin/rules/{code}", response_class=HTMLResponse)
def rule_set_submit(
    request: Request, code: str, session: SessionDep, user: PageUser, posted: Posted
) -> Response:
    """Saves the rule set as a new version, as ``PUT /api/v1/rules/{code}`` does (with the
    version the form was made from: another admin's change meanwhile is 409)."""
    _admin(user)
    record = rules.get(session=session, code=code)
    if record is None:
        raise NotFound("rules.not_found", f"rule set {code} not found")
    current = rules.to_ruleset(record)
    version = posted.get("version", "")
    try:
        saved = rules.update(
            session=session,
            code=code,
            body=rulesets.document(posted, current),
            by=user.username,
            expected_version=int(version) if version.isdigit() else None,
        )
    except DomainError as error:
        session.rollback()
        found, general, status = refusal(error)
        kept = rulesets.kept_rows(posted, list(current.grounds))
        errors: dict[str, str] = {}
        for e in found:
            field = rulesets.field_of([str(p) for p in e.get("loc", [])], kept)
            text = e.get("message") or _rule_message(str(e.get("msg", "")), str(e.get("type")))
            if field:
                errors.setdefault(field, text)
            else:  # a rule of the whole set (a ground code twice, an unknown expiry ground)
                general = general or text
        return _rule_set_page(
            request,
            session,
            user,
            code,
            status,
            errors=errors,
            general=general or labels.ERROR["request.invalid"],
            posted=posted,
        )
    return RedirectResponse(f"/admin/rules/{quote(code)}?saved={saved.version}", status_code=303)


def _rule_message(message: str, kind: str) -> str:
    """The rule set's own checks, in Chinese; else the kind of error."""
    for english, chinese in (
        ("is in use; keep it", "该时限正在使用，不能删除"),
        ("needs working_days or calendar_days", "该时限须有工作日或自然日"),
        ("needs a count", "该时限须有次数"),
        ("needs its expiry_ground", "该时限期满自动终止，须有期满终止依据"),
        ("already takes effect at that instant", "已有规则集在该时间施行"),
        ("needs a time zone", "请填写有效的日期和时间"),
        ("a limit needs", "须填写工作日、自然日或次数"),
        ("duplicate", "依据代码重复"),
        ("is not one of its terminate grounds", "期满终止依据须是本规则集的终止调解依据"),
    ):
        if english in message:
            return chinese
    return labels.FIELD_ERROR.get(kind, "填写有误")
