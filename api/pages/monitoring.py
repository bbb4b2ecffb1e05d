"""Quality monitoring's pages (商品质量监测): the year's plan with its progress and failure
rates (the city's form), the batches, a batch's samples with the entry form and the XLSX
import (each bad row named with its line), a sample (and the report it may open), a
clean-up with its delistings; and the published batches (信息公开), read without signing
in. Through the same service as ``/api/v1/monitoring``."""

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import UploadFile

from api import labels
from api.config import Settings
from api.db import utcnow
from api.deps import DatabaseDep, SessionDep, SettingsDep, StepEngineDep, get_temporal
from api.errors import DomainError, Invalid
from api.monitoring import routes as api_routes
from api.monitoring import service, sheets
from api.monitoring.models import BatchCreate, PlanCreate, PlanUpdate, SampleIn, SamplingBatch
from api.pages.render import refusal, render
from api.pages.session import PageUser, Posted
from api.users.models import Role, User
from api.workdays import local_date

router = APIRouter(include_in_schema=False)

# A sample's field as the form and the sheet name it.
COLUMN = {field: heading for heading, field in sheets.COLUMNS.items()}
# Why a field was refused, in Chinese: by the kind of mistake, then by the field.
WHY = {
    "duplicate": "与文件中另一行的样品编号重复",
    "taken": "该样品编号已录入",
    "column": "不是导入模板中的列",
    "no_column": "缺少这一列",
    "empty": "文件中没有检验结果",
    "missing": "必填",
    "string_too_short": "必填",
    "date_from_datetime_parsing": "日期格式应为 2026-03-05",
    "date_parsing": "日期格式应为 2026-03-05",
    "date_from_datetime_inexact": "日期格式应为 2026-03-05",
    "bool_parsing": "填写“合格”或“不合格”",
    "bool_type": "填写“合格”或“不合格”",
}
FIELD_WHY = {
    "unit": "不是本单位辖区，或没有这个单位",
    "area": "没有这种区域类型",
    "commodity": "不是本年度监测方案中的商品",
    "sampled_on": "抽样日期须在本批次年度内，且不晚于今天",
    "failed_items": "不合格的样品须填写不合格项目；合格的样品不填",
    "credit_code": "统一社会信用代码有误（长度或校验位不符）",
}


def why(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    field = str(error.get("field") or (error.get("loc") or [""])[-1])
    if kind in WHY and kind != "value_error":
        return WHY[kind]
    return FIELD_WHY.get(field, labels.FIELD_ERROR.get(kind, "填写有误"))


def _keeps(user: User) -> bool:
    return user.role == Role.ADMIN or (user.role == Role.SUPERVISOR and user.city_wide)


def _enters(user: User) -> bool:
    return user.role in (Role.SUPERVISOR, Role.HANDLER, Role.ADMIN)


# --- the plan and the batches --------------------------------------------------------------


def _overview(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    year: int,
    status_code: int = 200,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    general: str = "",
) -> HTMLResponse:
    branch = service.readable(user)
    catalogue = api_routes.catalogue_of(session=session, settings=settings)
    try:
        plan = service.plan_of(session, year)
    except DomainError:
        plan = None
    shown = api_routes.plan_public(session, plan, catalogue, branch) if plan else None
    if form is None:
        form = {}
        if shown is not None:
            form = {f"t.{t.commodity}.{t.area}": str(t.target) for t in shown.targets}
            form["threshold"] = f"{shown.threshold * 100:g}"
            form["minimum_samples"] = str(shown.minimum_samples)
        else:
            form = {
                "threshold": f"{catalogue.threshold * 100:g}",
                "minimum_samples": str(catalogue.minimum_samples),
            }
    return render(
        request,
        "monitoring.html",
        user,
        status_code,
        year=year,
        years=sorted({p.year for p in service.plans(session)} | {year}, reverse=True),
        plan=shown,
        catalogue=catalogue,
        batches=[
            api_routes.batch_public(session, b, branch) for b in service.batches(session, year)
        ],
        cleanups=api_routes.cleanups_public(session, service.cleanups(session, year), branch),
        keeps=_keeps(user),
        form=form,
        errors=errors or {},
        general=general,
    )


def _year(request: Request) -> int:
    this = local_date(utcnow()).year
    try:
        year = int(request.query_params.get("year") or this)
    except ValueError:
        return this
    return year if 2000 <= year <= 2999 else this


@router.get("/monitoring", response_class=HTMLResponse)
def monitoring_page(
    request: Request, session: SessionDep, settings: SettingsDep, user: PageUser
) -> HTMLResponse:
    return _overview(request, session, settings, user, _year(request))


@router.post("/monitoring/plans/{year}", response_class=HTMLResponse)
async def save_plan(
    request: Request,
    year: api_routes.Year,
    db: DatabaseDep,
    settings: SettingsDep,
    user: PageUser,
    posted: Posted,
) -> Response:
    """Makes or saves the year's plan: a target per commodity and kind of area (blank:
    none), the threshold in per cent; errors beside their fields."""
    catalogue = await db.run(api_routes.catalogue_of, settings=settings)
    targets = [
        {"commodity": c, "area": a, "target": posted.get(f"t.{c}.{a}", "").strip()}
        for c in catalogue.commodities
        for a in catalogue.areas
        if posted.get(f"t.{c}.{a}", "").strip()
    ]
    body: dict[str, Any] = {"targets": targets}
    threshold = posted.get("threshold", "").strip()
    errors: dict[str, str] = {}
    try:
        body["threshold"] = float(threshold) / 100 if threshold else None
    except ValueError:
        errors["threshold"] = "填写百分比，如 30"
    body["minimum_samples"] = posted.get("minimum_samples", "").strip() or None
    try:
        if errors:
            raise Invalid(("threshold", errors["threshold"]))
        if posted.get("version"):
            update = PlanUpdate.model_validate({**body, "version": posted["version"]})
            opened = (
                await db.run(
                    service.update_plan,
                    settings=settings,
                    user=user,
                    year=year,
                    body=update,
                    catalogue=catalogue,
                )
            )[1]
            await api_routes.start_files(await get_temporal(request), settings, opened)
        else:
            create = PlanCreate.model_validate({**body, "year": year})
            await db.run(service.create_plan, user=user, body=create, catalogue=catalogue)
    except (ValidationError, DomainError) as error:
        found, general, status = refusal(error)
        for e in found:
            loc = [str(p) for p in e.get("loc", []) if p != "body"]
            field = loc[0] if loc else "targets"
            if field.startswith("targets"):
                field = "targets"  # the grid's one message
            text = e.get("message") or labels.FIELD_ERROR.get(str(e.get("type")), "填写有误")
            errors.setdefault(field, str(text))
        if not targets and "targets" in errors:
            errors["targets"] = "至少填写一项监测目标"
        return await db.run(
            _overview_of,
            request=request,
            settings=settings,
            user=user,
            year=year,
            status_code=status,
            form=dict(posted),
            errors=errors,
            general=general,
        )
    return RedirectResponse(f"/monitoring?year={year}&notice=saved", status_code=303)


def _overview_of(*, session: Session, **kwargs: Any) -> HTMLResponse:
    return _overview(session=session, **kwargs)


@router.post("/monitoring/batches")
def create_batch(session: SessionDep, user: PageUser, posted: Posted) -> Response:
    year = posted.get("year", "")
    try:
        made = service.create_batch(
            session=session,
            user=user,
            body=BatchCreate.model_validate(
                {"code": posted.get("code", ""), "year": year, "name": posted.get("name", "")}
            ),
        )
    except ValidationError:
        return RedirectResponse(f"/monitoring?year={year}&error=request.invalid", status_code=303)
    except DomainError as error:
        return RedirectResponse(f"/monitoring?year={year}&error={error.code}", status_code=303)
    return RedirectResponse(f"/monitoring/batches/{quote(made.code)}", status_code=303)


# --- a batch: its samples, the entry form, the import ------------------------------------


def _batch_page(
    request: Request,
    session: Session,
    settings: Settings,
    user: User,
    code: str,
    status_code: int = 200,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    rows: list[dict[str, Any]] | None = None,
    general: str = "",
) -> HTMLResponse:
    detail = api_routes.batch_detail(session, user, code)
    catalogue = api_routes.catalogue_of(session=session, settings=settings)
    plan = service.plan_of(session, detail.year)
    return render(
        request,
        "monitoring_batch.html",
        user,
        status_code,
        batch=detail,
        catalogue=catalogue,
        commodities={c: catalogue.commodity(c) for c in service.commodities_of(plan)},
        units=api_routes.unit_names(session),
        keeps=_keeps(user),
        enters=_enters(user) and detail.published_at is None,
        own_unit=None if user.unit == "city" else user.unit,
        form=form or {"sampled_on": local_date(utcnow()).isoformat(), "passed": "1"},
        errors=errors or {},
        rows=rows or [],
        columns=COLUMN,
        general=general,
        notice=request.query_params.get("notice", ""),
    )


@router.get("/monitoring/batches/{code}", response_class=HTMLResponse)
def batch_page(
    request: Request, code: str, session: SessionDep, settings: SettingsDep, user: PageUser
) -> HTMLResponse:
    return _batch_page(request, session, settings, user, code)


def _sample_body(posted: dict[str, str]) -> dict[str, Any]:
    text = ("sample_no", "unit", "area", "outlet", "business", "credit_code", "commodity")
    optional = ("outlet_address", "brand", "model", "lot")
    body: dict[str, Any] = {k: posted.get(k, "").strip() for k in text}
    body |= {k: posted.get(k, "").strip() or None for k in optional}
    body["product"] = posted.get("product", "").strip()
    body["tested_by"] = posted.get("tested_by", "").strip()
    body["sampled_on"] = posted.get("sampled_on") or None
    body["passed"] = posted.get("passed") == "1"
    items = posted.get("failed_items", "")
    for separator in sheets.SEPARATORS[1:]:
        items = items.replace(separator, sheets.SEPARATORS[0])
    body["failed_items"] = [i.strip() for i in items.split(sheets.SEPARATORS[0]) if i.strip()]
    return body


@router.post("/monitoring/batches/{code}/samples", response_class=HTMLResponse)
async def enter_sample(
    request: Request,
    code: str,
    db: DatabaseDep,
    settings: SettingsDep,
    user: PageUser,
    posted: Posted,
) -> Response:
    """One sample's result, as ``POST /api/v1/monitoring/batches/{code}/samples``."""
    raw = _sample_body(posted)
    try:
        body = SampleIn.model_validate(raw)
        _, opened = await db.run(
            service.enter,
            settings=settings,
            user=user,
            code=code,
            body=body,
            catalogue=await db.run(api_routes.catalogue_of, settings=settings),
        )
    except (ValidationError, DomainError) as error:
        found, general, status = refusal(error)
        errors: dict[str, str] = {}
        for e in found:
            loc = [str(p) for p in e.get("loc", []) if p != "body"]
            errors.setdefault(loc[0] if loc else "sample_no", why(e))
        if isinstance(error, ValidationError):  # the result's own check, all at once
            for field, _ in service.result_problems(raw["passed"], raw["failed_items"]):
                errors.setdefault(field, FIELD_WHY[field])
        if isinstance(error, DomainError) and error.code == "monitoring.sample_exists":
            errors["sample_no"], general = WHY["taken"], ""
        return await db.run(
            _batch_page_of,
            request=request,
            settings=settings,
            user=user,
            code=code,
            status_code=status,
            form=dict(posted),
            errors=errors,
            general=general,
        )
    await api_routes.start_files(await get_temporal(request), settings, opened)
    notice = "cleanup" if opened else "entered"
    return RedirectResponse(
        f"/monitoring/batches/{quote(code)}?notice={notice}#samples", status_code=303
    )


def _batch_page_of(*, session: Session, **kwargs: Any) -> HTMLResponse:
    return _batch_page(session=session, **kwargs)


@router.post("/monitoring/batches/{code}/imports", response_class=HTMLResponse)
async def import_samples(
    request: Request,
    code: str,
    db: DatabaseDep,
    settings: SettingsDep,
    user: PageUser,
    posted: Posted,
) -> Response:
    """An XLSX of results, whole or not at all; the bad rows listed with their lines."""
    del posted  # the CSRF token checked
    upload = (await request.form()).get("file")
    content, filename = b"", ""
    if isinstance(upload, UploadFile):
        content = await upload.read(api_routes.MAX_BYTES + 1)
        filename = upload.filename or ""
    try:
        if not content:
            raise Invalid(("file", "no file"), code="monitoring.not_xlsx")
        made, opened = await db.run(
            api_routes.import_file,
            settings=settings,
            user=user,
            code=code,
            filename=filename,
            content=content,
        )
    except DomainError as error:
        rows = []
        general = labels.error(error.code)
        if isinstance(error, Invalid) and error.code == "monitoring.rows_invalid":
            rows = [
                {"line": e["line"], "column": COLUMN.get(e["field"], e["field"]), "why": why(e)}
                for e in error.detail
            ]
        return await db.run(
            _batch_page_of,
            request=request,
            settings=settings,
            user=user,
            code=code,
            status_code=error.status_code,
            rows=rows,
            general=general,
        )
    await api_routes.start_files(await get_temporal(request), settings, opened)
    return RedirectResponse(
        f"/monitoring/batches/{quote(code)}?notice=imported&rows={made.rows}#samples",
        status_code=303,
    )


@router.post("/monitoring/batches/{code}/publish")
def publish_batch(code: str, session: SessionDep, user: PageUser, posted: Posted) -> Response:
    del posted
    try:
        service.publish(session=session, user=user, code=code)
    except DomainError as error:
        return RedirectResponse(
            f"/monitoring/batches/{quote(code)}?notice={error.code}", status_code=303
        )
    return RedirectResponse(f"/monitoring/batches/{quote(code)}?notice=published", status_code=303)


@router.get("/monitoring/import-template")
def import_template(user: PageUser) -> Response:
    service.readable(user)
    return sheets.attachment(sheets.template(), "检验结果导入模板.xlsx", "template.xlsx")


# --- a sample, a clean-up ------------------------------------------------------------------


@router.get("/monitoring/samples/{sample_no}", response_class=HTMLResponse)
def sample_page(
    request: Request, sample_no: str, session: SessionDep, settings: SettingsDep, user: PageUser
) -> HTMLResponse:
    found = service.sample_of(session, user, sample_no)
    batch = session.get(SamplingBatch, found.batch_id)
    delisting = service.delisting_of_sample(session, found.id or 0)
    return render(
        request,
        "monitoring_sample.html",
        user,
        sample=found,
        batch=batch,
        catalogue=api_routes.catalogue_of(session=session, settings=settings),
        units=api_routes.unit_names(session),
        delisting=delisting,
        reports=user.role in (Role.SUPERVISOR, Role.HANDLER),
        notice=request.query_params.get("notice", ""),
    )


@router.post("/monitoring/samples/{sample_no}/report")
async def report_sample(
    request: Request,
    sample_no: str,
    db: DatabaseDep,
    settings: SettingsDep,
    user: PageUser,
    posted: Posted,
    steps: StepEngineDep,
) -> Response:
    """Opens the report against the failed sample's outlet (once), and shows it."""
    del posted
    response = Response()
    try:
        opened = await api_routes.report_sample(
            sample_no, response, db, settings, await get_temporal(request), user, steps
        )
    except DomainError as error:
        return RedirectResponse(
            f"/monitoring/samples/{quote(sample_no)}?notice={error.code}", status_code=303
        )
    del opened
    return RedirectResponse(
        f"/monitoring/samples/{quote(sample_no)}?notice=reported", status_code=303
    )


@router.get("/monitoring/cleanups/{cleanup_id}", response_class=HTMLResponse)
def cleanup_page(
    request: Request,
    cleanup_id: api_routes.CleanUpId,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
) -> HTMLResponse:
    branch = service.readable(user)
    (found,) = api_routes.cleanups_public(
        session, [service.cleanup_of(session, cleanup_id)], branch
    )
    return render(
        request,
        "monitoring_cleanup.html",
        user,
        cleanup=found,
        catalogue=api_routes.catalogue_of(session=session, settings=settings),
        units=api_routes.unit_names(session),
    )


# --- disclosure (信息公开): no sign-in -----------------------------------------------------


@router.get("/disclosure/monitoring", response_class=HTMLResponse)
def disclosure_list(request: Request, session: SessionDep) -> HTMLResponse:
    return render(request, "disclosure.html", None, batches=service.published(session), shown=None)


@router.get("/disclosure/monitoring/{code}", response_class=HTMLResponse)
def disclosure_page(
    request: Request, code: str, session: SessionDep, settings: SettingsDep
) -> Response:
    shown = api_routes.disclosed(session, code)
    return render(
        request,
        "disclosure.html",
        None,
        batches=[],
        shown=shown,
        catalogue=api_routes.catalogue_of(session=session, settings=settings),
        units=api_routes.unit_names(session),
    )
