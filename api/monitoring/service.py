"""Commodity quality monitoring (商品质量监测).

- **The plan** of a year: the samples targeted per commodity and kind of area, and the
  failure rate above which a commodity is cleaned up (its default from
  ``config/monitoring.json``, the commodities and areas a plan may name). Kept by the admin
  and the city's supervisors; every change on record.
- **Batches and samples.** A batch (抽检批次) holds the samples of one round, entered one by
  one or imported from an XLSX (``api.monitoring.sheets``): every row checked, and a file
  with a bad row imports nothing.
- **Clean-up (专项清查).** After each entry the commodities entered are counted over the
  year: one whose failure rate goes over the plan's threshold (with at least
  ``minimum_samples`` tested) is cleaned up, once a year; every failed sample of it, then
  and after, gives its outlet's branch a delisting (退市), a file of its own with its task,
  deadline and escalation (``api.monitoring.steps``). The files' workflows are started by
  the caller.
- **A report (举报) from a failed sample**, against its outlet, once.
- **Disclosure (信息公开).** A published batch's failed commodities and outlets.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy import case as sql_case
from sqlalchemy import func
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api import documents
from api.casefile import history
from api.casefile import service as casefile
from api.casefile.lifecycle import CaseKind, Channel
from api.casefile.models import Case, Respondent
from api.cases import service as cases
from api.cases.models import CaseCreate
from api.config import Settings
from api.db import lock_for_write, utcnow
from api.errors import Conflict, Invalid, NotAllowed, NotFound
from api.monitoring.models import (
    AreaProgress,
    BatchCreate,
    CatalogueDocument,
    CleanUp,
    CommodityRate,
    Delisting,
    MonitoringChange,
    MonitoringPlan,
    PlanCreate,
    PlanFields,
    PlanUpdate,
    Sample,
    SampleImport,
    SampleIn,
    SamplingBatch,
    Target,
)
from api.rules.service import rules_in_force
from api.units.models import Unit, UnitKind
from api.users.models import CITY_UNIT, Role, User
from api.workdays import local_date

DELISTING_PREFIX = "QC"  # 清查


@dataclass(frozen=True)
class Catalogue:
    """What a plan may name (``config/monitoring.json``): code → name of each commodity
    and kind of area, and a new plan's threshold and minimum samples."""

    commodities: dict[str, str]
    areas: dict[str, str]
    threshold: float
    minimum_samples: int

    @classmethod
    def of(cls, data: dict[str, Any]) -> "Catalogue":
        return cls(
            {c["code"]: c["name"] for c in data["commodities"]},
            {a["code"]: a["name"] for a in data["areas"]},
            float(data["threshold"]),
            int(data["minimum_samples"]),
        )

    def commodity(self, code: str) -> str:
        return self.commodities.get(code, code)


CATALOGUE = "monitoring"  # its reference document (api.documents)


def catalogue_of(*, session: Session, settings: Settings) -> Catalogue:
    return Catalogue.of(documents.content(session, CATALOGUE, settings.monitoring_file))


def catalogue_in_use(session: Session, body: CatalogueDocument) -> list[dict[str, Any]]:
    """A commodity or kind of area the catalogue would drop while a plan, a sample or a
    clean-up names it: each a refusal (its records would lose their name)."""
    commodities: set[str] = set(session.exec(select(Sample.commodity).distinct()).all())
    commodities |= set(session.exec(select(CleanUp.commodity).distinct()).all())
    areas: set[str] = set(session.exec(select(Sample.area).distinct()).all())
    for targets in session.exec(select(MonitoringPlan.targets)).all():
        commodities |= {t["commodity"] for t in targets}
        areas |= {t["area"] for t in targets}
    dropped_commodities = commodities - {c.code for c in body.commodities}
    dropped_areas = areas - {a.code for a in body.areas}
    return [
        documents.in_use("commodities", c, "a plan or a sample")
        for c in sorted(dropped_commodities)
    ] + [documents.in_use("areas", a, "a plan or a sample") for a in sorted(dropped_areas)]


# --- who may -------------------------------------------------------------------------------


def _city_keeper(user: User) -> None:
    """Plans and batches are the city's: the admin and the city's supervisors."""
    if not (user.role == Role.ADMIN or (user.role == Role.SUPERVISOR and user.city_wide)):
        raise NotAllowed("auth.role", "the monitoring's plans and batches are kept by the city")


def readable(user: User) -> str | None:
    """The branch whose samples a reader sees: None for the city (all of them)."""
    if user.role not in (Role.SUPERVISOR, Role.HANDLER, Role.AUDITOR, Role.ADMIN):
        raise NotAllowed("auth.role", "the monitoring is read by supervisors and handlers")
    return None if user.unit == CITY_UNIT else user.unit


def may_enter(user: User) -> None:
    if user.role not in (Role.SUPERVISOR, Role.HANDLER) and user.role != Role.ADMIN:
        raise NotAllowed("auth.role", "results are entered by supervisors and handlers")


def _record(session: Session, subject: str, by: str, change: dict[str, Any]) -> None:
    session.add(MonitoringChange(subject=subject, by=by, change=change))


def changes(session: Session, subject: str) -> list[MonitoringChange]:
    return list(
        session.exec(
            select(MonitoringChange)
            .where(MonitoringChange.subject == subject)
            .order_by(col(MonitoringChange.id))
        )
    )


# --- the plan ------------------------------------------------------------------------------


def plan_of(session: Session, year: int) -> MonitoringPlan:
    found = session.exec(select(MonitoringPlan).where(MonitoringPlan.year == year)).first()
    if found is None:
        raise NotFound("monitoring.no_plan", f"there is no monitoring plan for {year}")
    return found


def plans(session: Session) -> list[MonitoringPlan]:
    return list(session.exec(select(MonitoringPlan).order_by(col(MonitoringPlan.year).desc())))


def _checked_targets(body: PlanFields, catalogue: Catalogue) -> None:
    for i, each in enumerate(body.targets):
        if each.commodity not in catalogue.commodities:
            raise Invalid(
                (f"targets.{i}.commodity", f"not a commodity of the catalogue: {each.commodity}"),
                code="monitoring.unknown_commodity",
            )
        if each.area not in catalogue.areas:
            raise Invalid(
                (f"targets.{i}.area", f"not a kind of area: {each.area}"),
                code="monitoring.unknown_area",
            )


def create_plan(
    *, session: Session, user: User, body: PlanCreate, catalogue: Catalogue
) -> MonitoringPlan:
    _city_keeper(user)
    _checked_targets(body, catalogue)
    made = MonitoringPlan(
        year=body.year,
        targets=[t.model_dump() for t in body.targets],
        threshold=body.threshold if body.threshold is not None else catalogue.threshold,
        minimum_samples=body.minimum_samples or catalogue.minimum_samples,
    )
    session.add(made)
    _record(
        session,
        f"plan:{body.year}",
        user.username,
        {"created": {"threshold": made.threshold, "targets": len(made.targets)}},
    )
    try:
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise Conflict("monitoring.plan_exists", f"{body.year} has its plan already") from error
    session.refresh(made)
    return made


def update_plan(
    *,
    session: Session,
    settings: Settings,
    user: User,
    year: int,
    body: PlanUpdate,
    catalogue: Catalogue,
) -> tuple[MonitoringPlan, list[str]]:
    """Saves the plan from the version read (409 ``monitoring.changed``). A threshold
    lowered may put commodities over it: their clean-ups open now (the delistings' file
    numbers are returned, for their workflows)."""
    _city_keeper(user)
    _checked_targets(body, catalogue)
    lock_year(session, year)
    found = plan_of(session, year)
    after = {
        "targets": [t.model_dump() for t in body.targets],
        "threshold": body.threshold if body.threshold is not None else found.threshold,
        "minimum_samples": body.minimum_samples or found.minimum_samples,
    }
    before = {k: getattr(found, k) for k in after}
    done = session.execute(
        sql_update(MonitoringPlan)
        .where(col(MonitoringPlan.year) == year, col(MonitoringPlan.version) == body.version)
        .values(**after, version=body.version + 1)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Conflict("monitoring.changed", f"the {year} plan was saved by someone else")
    edited = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    _record(session, f"plan:{year}", user.username, {"edited": edited})
    session.flush()
    session.expire(found)
    plan = plan_of(session, year)
    opened = evaluate(session=session, settings=settings, plan=plan, actor=user.username)
    session.commit()
    return plan_of(session, year), opened


def progress(session: Session, plan: MonitoringPlan, branch: str | None) -> list[AreaProgress]:
    """Each target: the samples of the commodity tested in that kind of area so far."""
    query = select(Sample.commodity, Sample.area, func.count()).where(Sample.year == plan.year)
    if branch is not None:
        query = query.where(Sample.unit == branch)
    tested = {(c, a): n for c, a, n in session.exec(query.group_by(Sample.commodity, Sample.area))}
    return [
        AreaProgress(
            commodity=t["commodity"],
            area=t["area"],
            target=int(t["target"]),
            tested=tested.get((t["commodity"], t["area"]), 0),
        )
        for t in plan.targets
    ]


def commodities_of(plan: MonitoringPlan) -> list[str]:
    out: list[str] = []
    for t in plan.targets:
        if t["commodity"] not in out:
            out.append(t["commodity"])
    return out


def counts(session: Session, year: int) -> dict[str, tuple[int, int]]:
    """commodity → (tested, failed) over the year, every batch."""
    failed = sql_case((col(Sample.passed).is_(False), 1), else_=0)
    return {
        c: (int(n), int(f or 0))
        for c, n, f in session.exec(
            select(Sample.commodity, func.count(), func.sum(failed))
            .where(Sample.year == year)
            .group_by(Sample.commodity)
        )
    }


def over(plan: MonitoringPlan, tested: int, failed: int) -> bool:
    """Over the plan's threshold: more than ``threshold`` failed, of at least
    ``minimum_samples`` tested."""
    return tested >= plan.minimum_samples and failed > plan.threshold * tested


def rates(session: Session, plan: MonitoringPlan, catalogue: Catalogue) -> list[CommodityRate]:
    """Each commodity of the plan: tested and failed over the year (every batch), the
    failure rate, over the threshold or not, and its clean-up once opened."""
    counted = counts(session, plan.year)
    cleanups = dict(
        session.exec(select(CleanUp.commodity, CleanUp.id).where(CleanUp.year == plan.year)).all()
    )
    out = []
    for commodity in commodities_of(plan):
        tested, failed = counted.get(commodity, (0, 0))
        out.append(
            CommodityRate(
                commodity=commodity,
                name=catalogue.commodity(commodity),
                tested=tested,
                failed=failed,
                rate=round(failed / tested, 4) if tested else 0.0,
                over=over(plan, tested, failed),
                cleanup=cleanups.get(commodity),
            )
        )
    return out


# --- batches -------------------------------------------------------------------------------


def batch_of(session: Session, code: str) -> SamplingBatch:
    found = session.exec(select(SamplingBatch).where(SamplingBatch.code == code)).first()
    if found is None:
        raise NotFound("monitoring.no_batch", f"there is no sampling batch {code}")
    return found


def batches(session: Session, year: int | None = None) -> list[SamplingBatch]:
    query = select(SamplingBatch)
    if year is not None:
        query = query.where(SamplingBatch.year == year)
    return list(session.exec(query.order_by(col(SamplingBatch.year).desc(), col(SamplingBatch.id))))


def create_batch(*, session: Session, user: User, body: BatchCreate) -> SamplingBatch:
    _city_keeper(user)
    plan_of(session, body.year)  # 404 monitoring.no_plan
    made = SamplingBatch(code=body.code, year=body.year, name=body.name, created_by=user.username)
    session.add(made)
    _record(session, f"batch:{body.code}", user.username, {"created": body.name})
    try:
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise Conflict("monitoring.batch_exists", f"a batch {body.code} exists") from error
    session.refresh(made)
    return made


def publish(*, session: Session, user: User, code: str) -> tuple[SamplingBatch, bool]:
    """Publishes the batch's failed commodities and outlets (信息公开), once; False: it
    was published before. An empty batch is not published (409)."""
    _city_keeper(user)
    found = batch_of(session, code)
    if found.published_at is not None:
        return found, False
    has = session.exec(select(Sample.id).where(Sample.batch_id == found.id).limit(1)).first()
    if has is None:
        raise Conflict("monitoring.batch_empty", f"{code} has no samples to publish")
    now = utcnow()
    done = session.execute(
        sql_update(SamplingBatch)
        .where(col(SamplingBatch.id) == found.id, col(SamplingBatch.published_at).is_(None))
        .values(published_at=now, published_by=user.username)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        return batch_of(session, code), False
    _record(session, f"batch:{code}", user.username, {"published": now.isoformat()})
    session.commit()
    session.refresh(found)
    return found, True


def samples(
    session: Session, *, batch: SamplingBatch | None, branch: str | None, year: int | None = None
) -> list[Sample]:
    query = select(Sample)
    if batch is not None:
        query = query.where(Sample.batch_id == batch.id)
    if year is not None:
        query = query.where(Sample.year == year)
    if branch is not None:
        query = query.where(Sample.unit == branch)
    return list(session.exec(query.order_by(col(Sample.id))))


def sample_of(session: Session, user: User, sample_no: str) -> Sample:
    branch = readable(user)
    found = session.exec(select(Sample).where(Sample.sample_no == sample_no)).first()
    if found is None or branch not in (None, found.unit):
        raise NotFound("monitoring.no_sample", f"there is no sample {sample_no}")
    return found


# --- entering results ----------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """What an entry is checked against: the batch, its plan, the branches."""

    batch: SamplingBatch
    plan: MonitoringPlan
    catalogue: Catalogue
    branches: set[str]
    today: date

    @classmethod
    def of(cls, session: Session, code: str, catalogue: Catalogue) -> "Entry":
        batch = batch_of(session, code)
        branches = set(session.exec(select(Unit.code).where(Unit.kind == UnitKind.BRANCH)).all())
        return cls(batch, plan_of(session, batch.year), catalogue, branches, local_date(utcnow()))


def problems(entry: Entry, user: User, body: SampleIn) -> list[tuple[str, str]]:
    """What is wrong with a sample beyond its fields' own form: (field, why)."""
    out: list[tuple[str, str]] = []
    if body.unit not in entry.branches:
        out.append(("unit", f"not a branch: {body.unit}"))
    elif user.unit != CITY_UNIT and body.unit != user.unit:
        out.append(("unit", f"{body.unit} is not your branch"))
    if body.area not in entry.catalogue.areas:
        out.append(("area", f"not a kind of area: {body.area}"))
    if body.commodity not in commodities_of(entry.plan):
        out.append(("commodity", f"not a commodity of the {entry.plan.year} plan"))
    if body.sampled_on.year != entry.batch.year:
        out.append(("sampled_on", f"not in {entry.batch.year}, the batch's year"))
    elif body.sampled_on > entry.today:
        out.append(("sampled_on", "after today"))
    return out + result_problems(body.passed, body.failed_items)


def result_problems(passed: bool, failed_items: list[str]) -> list[tuple[str, str]]:
    """A failed sample names the items it failed; one that passed names none."""
    if not passed and not failed_items:
        return [("failed_items", "a failed sample names the items it failed")]
    if passed and failed_items:
        return [("failed_items", "a sample that passed failed no item")]
    return []


def _open_batch(entry: Entry) -> None:
    if entry.batch.published_at is not None:
        raise Conflict(
            "monitoring.batch_published", f"{entry.batch.code} is published: it takes no more"
        )


def _taken(session: Session, numbers: list[str]) -> set[str]:
    return set(
        session.exec(select(Sample.sample_no).where(col(Sample.sample_no).in_(numbers))).all()
    )


def _sample(entry: Entry, user: User, body: SampleIn, import_id: int | None = None) -> Sample:
    assert entry.batch.id is not None
    return Sample(
        batch_id=entry.batch.id,
        year=entry.batch.year,
        entered_by=user.username,
        import_id=import_id,
        **body.model_dump(),
    )


def enter(
    *,
    session: Session,
    settings: Settings,
    user: User,
    code: str,
    body: SampleIn,
    catalogue: Catalogue,
) -> tuple[Sample, list[str]]:
    """Enters one sample's result: 422 naming the field; the commodity's rate counted
    again, and the delistings it opens returned (their file numbers)."""
    may_enter(user)
    entry = Entry.of(session, code, catalogue)
    _open_batch(entry)
    wrong = problems(entry, user, body)
    if wrong:
        raise Invalid(*wrong, code="monitoring.sample_invalid")
    lock_year(session, entry.batch.year)
    if _taken(session, [body.sample_no]):
        raise Conflict("monitoring.sample_exists", f"sample {body.sample_no} is entered already")
    made = _sample(entry, user, body)
    session.add(made)
    _record(
        session,
        f"sample:{body.sample_no}",
        user.username,
        {"entered": {"batch": code, "passed": body.passed}},
    )
    try:
        session.flush()
    except IntegrityError as error:
        session.rollback()
        raise Conflict("monitoring.sample_exists", f"sample {body.sample_no} is entered") from error
    opened = evaluate(session=session, settings=settings, plan=entry.plan, actor=user.username)
    session.commit()
    session.refresh(made)
    return made, opened


@dataclass(frozen=True)
class RowError:
    line: int  # the sheet's row, as the spreadsheet numbers it
    field: str
    message: str
    type: str = "value_error"  # what kind of mistake: pydantic's, or duplicate, taken …


def import_rows(
    *,
    session: Session,
    settings: Settings,
    user: User,
    code: str,
    filename: str,
    rows: list[tuple[int, dict[str, Any]]],
    catalogue: Catalogue,
    header_errors: list[RowError] | None = None,
) -> tuple[SampleImport, list[str]]:
    """Imports the rows (line → fields) into the batch, all or none: every bad row is
    reported with its line and field (422 ``monitoring.rows_invalid``), and then nothing
    of the file is kept."""
    may_enter(user)
    entry = Entry.of(session, code, catalogue)
    _open_batch(entry)
    errors = list(header_errors or [])
    if errors:
        rows = []  # a sheet whose columns are wrong: its rows cannot be read right
    parsed: list[tuple[int, SampleIn]] = []
    seen: dict[str, int] = {}
    for line, fields in rows:
        try:
            body = SampleIn.model_validate(fields)
        except ValidationError as error:
            for e in error.errors(include_url=False, include_context=False):
                where = ".".join(str(p) for p in e["loc"]) or "row"
                errors.append(RowError(line, where, e["msg"], e["type"]))
            continue
        errors += [RowError(line, f, m) for f, m in problems(entry, user, body)]
        if body.sample_no in seen:
            also = f"also on line {seen[body.sample_no]}"
            errors.append(RowError(line, "sample_no", also, "duplicate"))
        seen.setdefault(body.sample_no, line)
        parsed.append((line, body))
    if not rows and not header_errors:
        errors.append(RowError(1, "file", "the sheet has no rows of results", "empty"))
    lock_year(session, entry.batch.year)
    taken = _taken(session, [b.sample_no for _, b in parsed])
    errors += [
        RowError(line, "sample_no", f"sample {b.sample_no} is entered already", "taken")
        for line, b in parsed
        if b.sample_no in taken
    ]
    if errors:
        session.rollback()
        raise Invalid(
            code="monitoring.rows_invalid",
            errors=[
                {
                    "loc": ["file", e.line, e.field],
                    "line": e.line,
                    "field": e.field,
                    "msg": e.message,
                    "type": e.type,
                }
                for e in sorted(errors, key=lambda e: e.line)
            ],
        )
    made = SampleImport(
        batch_id=entry.batch.id or 0, filename=filename[:200], rows=len(parsed), by=user.username
    )
    session.add(made)
    session.flush()
    for _, body in parsed:
        session.add(_sample(entry, user, body, made.id))
    _record(
        session,
        f"batch:{code}",
        user.username,
        {"imported": {"file": filename[:200], "rows": len(parsed), "import": made.id}},
    )
    try:
        session.flush()
    except IntegrityError as error:  # a sample entered by another meanwhile
        session.rollback()
        raise Conflict(
            "monitoring.sample_exists", "a sample of the file was entered meanwhile"
        ) from error
    opened = evaluate(session=session, settings=settings, plan=entry.plan, actor=user.username)
    session.commit()
    session.refresh(made)
    return made, opened


# --- clean-up ------------------------------------------------------------------------------


def lock_year(session: Session, year: int) -> None:
    """One writer at a time decides the year's clean-ups: SQLite's write lock; on
    PostgreSQL an advisory lock of the year, until the transaction ends."""
    lock_for_write(session)
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(func.pg_advisory_xact_lock(func.hashtext(f"monitoring:{year}"))))


def delisting_no(year: int, sample_id: int, prefix: str = "") -> str:
    """A failed sample's delisting: ``QC2026000012``, numbered by the sample."""
    return f"{prefix}{DELISTING_PREFIX}{year}{sample_id:06d}"


def evaluate(
    *, session: Session, settings: Settings, plan: MonitoringPlan, actor: str
) -> list[str]:
    """Opens the clean-up of every commodity of the plan over its threshold (once a
    year), and a delisting for every failed sample of a commodity being cleaned up that
    has none yet. Not committed; the new files' numbers are returned."""
    opened: dict[str, CleanUp] = {
        c.commodity: c for c in session.exec(select(CleanUp).where(CleanUp.year == plan.year))
    }
    for commodity, (tested, failed_n) in sorted(counts(session, plan.year).items()):
        if commodity in opened or commodity not in commodities_of(plan):
            continue
        if not over(plan, tested, failed_n):
            continue
        made = CleanUp(
            year=plan.year,
            commodity=commodity,
            tested=tested,
            failed=failed_n,
            threshold=plan.threshold,
            opened_by=actor,
        )
        session.add(made)
        session.flush()
        opened[commodity] = made
        _record(
            session,
            f"plan:{plan.year}",
            actor,
            {
                "cleanup_opened": {
                    "commodity": commodity,
                    "tested": tested,
                    "failed": failed_n,
                    "threshold": plan.threshold,
                }
            },
        )
    if not opened:
        return []
    failed = session.exec(
        select(Sample)
        .outerjoin(Delisting, col(Delisting.sample_id) == col(Sample.id))
        .where(
            Sample.year == plan.year,
            col(Sample.passed).is_(False),
            col(Sample.commodity).in_(list(opened)),
            col(Delisting.id).is_(None),
        )
        .order_by(col(Sample.id))
    ).all()
    rules = rules_in_force(session=session, settings=settings)
    numbers = []
    for sample in failed:
        assert sample.id is not None
        cleanup = opened[sample.commodity]
        no = delisting_no(plan.year, sample.id, settings.case_no_prefix)
        casefile.open_file(
            session=session,
            case_no=no,
            kind=CaseKind.DELISTING,
            unit=sample.unit,
            actor=actor,
            rule_set=rules.for_received(utcnow()).code,
        )
        session.add(
            Delisting(cleanup_id=cleanup.id or 0, sample_id=sample.id, case_no=no, unit=sample.unit)
        )
        history.append(
            session=session,
            case_no=no,
            actor=actor,
            type="registered",
            data={
                "kind": CaseKind.DELISTING,
                "sample": sample.sample_no,
                "commodity": sample.commodity,
                "cleanup": cleanup.id,
            },
        )
        numbers.append(no)
    session.flush()
    return numbers


def cleanups(session: Session, year: int | None = None) -> list[CleanUp]:
    query = select(CleanUp)
    if year is not None:
        query = query.where(CleanUp.year == year)
    return list(session.exec(query.order_by(col(CleanUp.year).desc(), col(CleanUp.id))))


def cleanup_of(session: Session, cleanup_id: int) -> CleanUp:
    found = session.get(CleanUp, cleanup_id)
    if found is None:
        raise NotFound("monitoring.no_cleanup", f"there is no clean-up {cleanup_id}")
    return found


def delistings(
    session: Session, cleanup_ids: list[int], branch: str | None
) -> list[tuple[Delisting, Sample, Case]]:
    query = (
        select(Delisting, Sample, Case)
        .join(Sample, col(Sample.id) == col(Delisting.sample_id))
        .join(Case, col(Case.case_no) == col(Delisting.case_no))
        .where(col(Delisting.cleanup_id).in_(cleanup_ids))
    )
    if branch is not None:
        query = query.where(Delisting.unit == branch)
    return [(d, s, c) for d, s, c in session.exec(query.order_by(col(Delisting.id)))]


def delisting_of_sample(session: Session, sample_id: int) -> Delisting | None:
    return session.exec(select(Delisting).where(Delisting.sample_id == sample_id)).first()


def delisting_of_case(session: Session, case_no: str) -> tuple[Delisting, Sample]:
    found = session.exec(
        select(Delisting, Sample)
        .join(Sample, col(Sample.id) == col(Delisting.sample_id))
        .where(Delisting.case_no == case_no)
    ).first()
    if found is None:
        raise NotFound("monitoring.not_a_delisting", f"{case_no} is not a delisting")
    return found[0], found[1]


# --- a report from a failed sample ---------------------------------------------------------


def open_report(
    *, session: Session, settings: Settings, user: User, sample_no: str, catalogue: Catalogue
) -> tuple[str, str, bool]:
    """Registers the report (举报, ex officio) against the failed sample's outlet, linked to
    the sample, once: asked again, the report opened first (False). Answers its number,
    its status and whether it was opened now."""
    if user.role not in (Role.SUPERVISOR, Role.HANDLER):
        raise NotAllowed("auth.role", "a report is opened by supervisors and handlers")
    found = sample_of(session, user, sample_no)
    if found.passed:
        raise Conflict("monitoring.sample_passed", f"sample {sample_no} passed")
    lock_for_write(session)
    session.refresh(found, with_for_update=True)
    if found.report_no is not None:
        return _report(session, found.report_no)
    unit = session.exec(select(Unit).where(Unit.code == found.unit)).first()
    district = unit.districts[0] if unit is not None and unit.districts else None
    failed = "、".join(found.failed_items)
    what = " ".join(x for x in (found.brand, found.product, found.model) if x)
    description = (
        f"商品质量监测不合格（样品 {found.sample_no}）：{what}"
        + (f"，批号 {found.lot}" if found.lot else "")
        + f"，{found.sampled_on.isoformat()} 抽样于 {found.outlet}（{found.business}，"
        f"统一社会信用代码 {found.credit_code}），经 {found.tested_by} 检验，不合格项目：{failed}。"
    )
    report = cases.register(
        session=session,
        rules=rules_in_force(session=session, settings=settings),
        user=user,
        body=CaseCreate(
            kind=CaseKind.REPORT,
            channel=Channel.EX_OFFICIO,
            anonymous=True,  # the bureau's own finding: there is no reporter to protect
            respondent=Respondent(
                name=found.business, district=district, address=found.outlet_address
            ),
            category=catalogue.commodity(found.commodity),
            description=description,
        ),
        prefix=settings.case_no_prefix,
        commit=False,
    )
    done = session.execute(
        sql_update(Sample)
        .where(col(Sample.id) == found.id, col(Sample.report_no).is_(None))
        .values(report_no=report.case_no)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        again = sample_of(session, user, sample_no)
        return _report(session, str(again.report_no))
    history.append(
        session=session,
        case_no=report.case_no,
        actor=user.username,
        type="sample_reported",
        data={"sample": found.sample_no},
    )
    _record(session, f"sample:{sample_no}", user.username, {"reported": report.case_no})
    session.commit()
    return report.case_no, str(report.status), True


def _report(session: Session, case_no: str) -> tuple[str, str, bool]:
    status = session.exec(select(Case.status).where(Case.case_no == case_no)).one()
    session.rollback()
    return case_no, str(status), False


def unlink_report(*, session: Session, sample_no: str, case_no: str) -> None:
    """The report whose workflow certainly did not start is discarded: the sample is
    free to open one again."""
    session.execute(
        sql_update(Sample)
        .where(col(Sample.sample_no) == sample_no, col(Sample.report_no) == case_no)
        .values(report_no=None)
    )
    session.commit()


# --- disclosure ----------------------------------------------------------------------------


def published(session: Session) -> list[SamplingBatch]:
    return list(
        session.exec(
            select(SamplingBatch)
            .where(col(SamplingBatch.published_at).is_not(None))
            .order_by(col(SamplingBatch.published_at).desc())
        )
    )


def disclosed(session: Session, code: str) -> tuple[SamplingBatch, list[Sample]]:
    """A published batch and its failed samples; an unpublished one is not found."""
    found = session.exec(select(SamplingBatch).where(SamplingBatch.code == code)).first()
    if found is None or found.published_at is None:
        raise NotFound("monitoring.no_batch", f"there is no published batch {code}")
    failed = session.exec(
        select(Sample)
        .where(Sample.batch_id == found.id, col(Sample.passed).is_(False))
        .order_by(col(Sample.commodity), col(Sample.id))
    ).all()
    return found, list(failed)


def targets_of(plan: MonitoringPlan) -> list[Target]:
    return [Target.model_validate(t) for t in plan.targets]
