"""Public-service sector reviews (社会评议: 供电, 金融).

- **The sectors** and their review points (评议重点) are ``config/reviews.json``, with the
  complaint categories a sector's findings may come from.
- **A review** (the city's: the admin and the city's supervisors) names its sector, its
  period and the businesses it reviews. Its file (kind ``review``, ``PY2026001``) is opened
  with it; its ``DutyWorkflow`` reaches the period's last day, where what was found and
  rectified is reported and kept (``api.reviews.steps``).
- **Findings.** Each is recorded against a reviewed business and a review point, from a
  complaint of the sector (the case list filtered by the complaint's category) or the
  reviewers' own, and gives a rectification order (整改, kind ``review_order``,
  ``PZ2026000001``): the following-up unit's task, its deadline, escalated when late.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api import documents
from api.casefile import history
from api.casefile import service as casefile
from api.casefile.lifecycle import CaseKind
from api.casefile.models import Case
from api.config import Settings
from api.db import utcnow
from api.deadlines.models import DeadlineState
from api.errors import Conflict, Invalid, NotAllowed, NotFound
from api.reviews.models import (
    FindingIn,
    Review,
    ReviewChange,
    ReviewCreate,
    ReviewFinding,
    ReviewReport,
    ReviewUpdate,
    SectorsDocument,
)
from api.rules.service import rules_in_force
from api.stations.duties import duties_of
from api.units.models import Unit, UnitKind
from api.users.models import CITY_UNIT, Role, User
from api.workdays import ZONE, local_date

REVIEW_PREFIX = "PY"  # 评议
ORDER_PREFIX = "PZ"  # 评议整改


@dataclass(frozen=True)
class Sector:
    name: str
    categories: tuple[str, ...]
    points: dict[str, str]  # code → the review point


SECTORS = "reviews"  # their reference document (api.documents)


def sectors_in_force(session: Session, path: Path) -> dict[str, Sector]:
    """The sectors of the admin's last save, else of ``config/reviews.json``."""
    return sectors(documents.content(session, SECTORS, path))


def sectors_in_use(session: Session, body: SectorsDocument) -> list[dict[str, Any]]:
    """A sector the document would drop while a review is of it, or a point while a
    finding names it: each a refusal."""
    kept = {s.code: {p.code for p in s.points} for s in body.sectors}
    wrong = []
    used = session.exec(
        select(Review.sector, ReviewFinding.point)
        .join(ReviewFinding, col(ReviewFinding.review) == col(Review.code), isouter=True)
        .distinct()
    ).all()
    for sector in sorted({s for s, _ in used} - set(kept)):
        wrong.append(documents.in_use("sectors", sector, "a review"))
    for sector, point in sorted((s, p) for s, p in used if p is not None and s in kept):
        if point not in kept[sector]:
            wrong.append(documents.in_use("sectors", point, "a finding"))
    return wrong


def sectors(data: dict[str, Any]) -> dict[str, Sector]:
    return {
        s["code"]: Sector(
            s["name"], tuple(s["categories"]), {p["code"]: p["name"] for p in s["points"]}
        )
        for s in data["sectors"]
    }


# --- who may -------------------------------------------------------------------------------


def keeps(user: User) -> bool:
    """The admin and the city's supervisors keep the reviews."""
    return user.role == Role.ADMIN or (user.role == Role.SUPERVISOR and user.city_wide)


def keeper(user: User) -> None:
    if not keeps(user):
        raise NotAllowed("auth.role", "sector reviews are kept by the city")


def readable(user: User) -> str | None:
    """The unit whose findings a reader sees: None for the city (all)."""
    if user.role not in (Role.SUPERVISOR, Role.HANDLER, Role.AUDITOR, Role.ADMIN):
        raise NotAllowed("auth.role", "sector reviews are read by supervisors and handlers")
    return None if user.unit == CITY_UNIT else user.unit


# --- reviews -------------------------------------------------------------------------------


def listed(session: Session) -> list[Review]:
    return list(session.exec(select(Review).order_by(col(Review.starts_on).desc(), col(Review.id))))


def get(session: Session, code: str) -> Review:
    found = session.exec(select(Review).where(Review.code == code)).first()
    if found is None:
        raise NotFound("reviews.not_found", f"no review {code}")
    return found


def of_case(session: Session, case_no: str) -> Review:
    found = session.exec(select(Review).where(Review.case_no == case_no)).first()
    if found is None:
        raise NotFound("reviews.not_found", f"{case_no} is not a review's file")
    return found


def review_no(review: Review, prefix: str = "") -> str:
    return f"{prefix}{REVIEW_PREFIX}{review.starts_on.year}{review.id or 0:03d}"


def order_no(year: int, finding_id: int, prefix: str = "") -> str:
    return f"{prefix}{ORDER_PREFIX}{year}{finding_id:06d}"


def _open(
    session: Session, settings: Settings, kind: CaseKind, no: str, unit: str, actor: str
) -> None:
    rules = rules_in_force(session=session, settings=settings)
    casefile.open_file(
        session=session,
        case_no=no,
        kind=kind,
        unit=unit,
        actor=actor,
        rule_set=rules.for_received(utcnow()).code,
    )


def create(
    *,
    session: Session,
    settings: Settings,
    user: User,
    body: ReviewCreate,
    known: dict[str, Sector],
) -> Review:
    """The review and its file (its workflow started by the caller). Its period ends
    today or later: the file is timed to it."""
    keeper(user)
    if body.sector not in known:
        raise Invalid(("sector", f"not a sector: {body.sector}"), code="reviews.unknown_sector")
    if body.ends_on < local_date(utcnow()):
        raise Invalid(("ends_on", "the period is over"), code="reviews.period_over")
    made = Review(
        code=body.code,
        sector=body.sector,
        name=body.name,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        businesses=[b.model_dump() for b in body.businesses],
        created_by=user.username,
    )
    session.add(made)
    try:
        session.flush()
    except IntegrityError as error:
        session.rollback()
        raise Conflict("reviews.taken", f"a review {body.code} exists") from error
    made.case_no = review_no(made, settings.case_no_prefix)
    _open(session, settings, CaseKind.REVIEW, made.case_no, CITY_UNIT, user.username)
    history.append(
        session=session,
        case_no=made.case_no,
        actor=user.username,
        type="registered",
        data={"kind": CaseKind.REVIEW, "review": body.code, "sector": body.sector},
    )
    session.add(made)
    session.add(ReviewChange(review=body.code, by=user.username, change={"created": body.name}))
    session.commit()
    session.refresh(made)
    return made


def update(*, session: Session, user: User, code: str, body: ReviewUpdate) -> Review:
    """Saves the name and the businesses from the version read (409 ``reviews.changed``);
    the period is fixed (its file is timed to it: 409 ``reviews.period_fixed``), and a
    business with findings stays."""
    keeper(user)
    found = get(session, code)
    if (body.starts_on, body.ends_on) != (found.starts_on, found.ends_on):
        raise Conflict("reviews.period_fixed", f"{code} runs: its period cannot change")
    kept = {b.credit_code for b in body.businesses}
    found_against = set(
        session.exec(select(ReviewFinding.credit_code).where(ReviewFinding.review == code)).all()
    )
    dropped = sorted(found_against - kept)
    if dropped:
        raise Invalid(
            ("businesses", f"{dropped[0]} has findings: it stays"), code="reviews.business_found"
        )
    after = {"name": body.name, "businesses": [b.model_dump() for b in body.businesses]}
    before = {"name": found.name, "businesses": found.businesses}
    done = session.execute(
        sql_update(Review)
        .where(col(Review.code) == code, col(Review.version) == body.version)
        .values(**after, version=body.version + 1)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Conflict("reviews.changed", f"{code} was saved by someone else meanwhile")
    edited = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    session.add(ReviewChange(review=code, by=user.username, change={"edited": edited}))
    session.commit()
    session.expire_all()
    return get(session, code)


def changes(session: Session, code: str) -> list[ReviewChange]:
    get(session, code)
    return list(
        session.exec(
            select(ReviewChange).where(ReviewChange.review == code).order_by(col(ReviewChange.id))
        )
    )


def businesses(review: Review) -> dict[str, str]:
    return {b["credit_code"]: b["name"] for b in review.businesses}


# --- the sector's complaints ---------------------------------------------------------------


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZONE)


def complaints(session: Session, user: User, review: Review, sector: Sector) -> list[Case]:
    """The complaints of the sector (by their category) received within the period, as
    this user may see them."""
    query = (
        select(Case)
        .where(casefile.visible_filter(user=user))
        .where(Case.kind == CaseKind.COMPLAINT, col(Case.category).in_(sector.categories))
        .where(col(Case.received_at) >= _day_start(review.starts_on))
        .where(col(Case.received_at) < _day_start(review.ends_on + timedelta(days=1)))
        .order_by(col(Case.received_at))
    )
    return list(session.exec(query))


# --- findings ------------------------------------------------------------------------------


def _ended(session: Session, review: Review) -> bool:
    return (
        session.exec(select(ReviewReport.id).where(ReviewReport.review == review.code)).first()
        is not None
    )


def add_finding(
    *,
    session: Session,
    settings: Settings,
    user: User,
    code: str,
    body: FindingIn,
    known: dict[str, Sector],
) -> ReviewFinding:
    """Records the finding and opens its rectification order (its workflow started by
    the caller). 422 naming the field: a business the review does not review, a point not
    of its sector, a case that is not a visible complaint of the sector, a day outside
    the period or after today, a unit that is not the city or a branch."""
    keeper(user)
    review = get(session, code)
    if _ended(session, review):
        raise Conflict("reviews.ended", f"{code} is over: its report is made")
    sector = known[review.sector]
    wrong: list[tuple[str, str]] = []
    if body.credit_code not in businesses(review):
        wrong.append(("credit_code", "not a business this review reviews"))
    if body.point not in sector.points:
        wrong.append(("point", f"not a review point of {sector.name}"))
    today = local_date(utcnow())
    if not review.starts_on <= body.found_on <= min(review.ends_on, today):
        wrong.append(("found_on", "outside the review's period, or after today"))
    unit = body.unit or CITY_UNIT
    kind = session.exec(select(Unit.kind).where(Unit.code == unit)).first()
    if kind not in (UnitKind.BRANCH, UnitKind.CENTRE):
        wrong.append(("unit", f"not the city or a branch: {unit}"))
    if body.case_no is not None:
        case = session.exec(
            select(Case).where(Case.case_no == body.case_no, casefile.visible_filter(user=user))
        ).first()
        if (
            case is None
            or case.kind != CaseKind.COMPLAINT
            or case.category not in sector.categories
        ):
            wrong.append(("case_no", f"not a complaint of {sector.name}"))
    if wrong:
        raise Invalid(*wrong, code="reviews.finding_invalid")
    history.lock_case(session, str(review.case_no))  # one finding at a time per review
    if body.case_no is not None:
        taken = session.exec(
            select(ReviewFinding.id).where(
                ReviewFinding.review == code, ReviewFinding.source_case_no == body.case_no
            )
        ).first()
        if taken is not None:
            raise Conflict("reviews.finding_exists", f"{body.case_no} is a finding already")
    made = ReviewFinding(
        review=code,
        credit_code=body.credit_code,
        point=body.point,
        description=body.description,
        source_case_no=body.case_no,
        unit=unit,
        found_on=body.found_on,
        by=user.username,
    )
    session.add(made)
    try:
        session.flush()
    except IntegrityError as error:
        session.rollback()
        raise Conflict("reviews.finding_exists", f"{body.case_no} is a finding already") from error
    assert made.id is not None
    made.order_no = order_no(review.starts_on.year, made.id, settings.case_no_prefix)
    _open(session, settings, CaseKind.REVIEW_ORDER, made.order_no, unit, user.username)
    history.append(
        session=session,
        case_no=made.order_no,
        actor=user.username,
        type="registered",
        data={"kind": CaseKind.REVIEW_ORDER, "review": code, "point": body.point},
    )
    session.add(made)
    session.add(
        ReviewChange(
            review=code,
            by=user.username,
            change={"finding": {"id": made.id, "point": body.point, "order": made.order_no}},
        )
    )
    session.commit()
    session.refresh(made)
    return made


def findings(session: Session, code: str, unit: str | None) -> list[ReviewFinding]:
    query = select(ReviewFinding).where(ReviewFinding.review == code)
    if unit is not None:
        query = query.where(ReviewFinding.unit == unit)
    return list(session.exec(query.order_by(col(ReviewFinding.id))))


def finding_of_order(session: Session, case_no: str) -> ReviewFinding:
    found = session.exec(select(ReviewFinding).where(ReviewFinding.order_no == case_no)).first()
    if found is None:
        raise NotFound("reviews.not_an_order", f"{case_no} is not a rectification order")
    return found


# --- the report ----------------------------------------------------------------------------


def report(session: Session, review: Review, sector: Sector, on: date) -> dict[str, Any]:
    """Per review point and per business: found, rectified, open and overdue, as of the
    end of ``on``."""
    found = findings(session, review.code, None)
    states = duties_of(session, [f.order_no for f in found if f.order_no])
    names = businesses(review)

    def line() -> dict[str, int]:
        return {"found": 0, "rectified": 0, "open": 0, "overdue": 0}

    points: dict[str, dict[str, Any]] = {p: {"name": n, **line()} for p, n in sector.points.items()}
    firms: dict[str, dict[str, Any]] = {c: {"name": n, **line()} for c, n in names.items()}
    totals: dict[str, Any] = line()
    for f in found:
        duty = states.get(f.order_no or "")
        done = f.rectified_on is not None and f.rectified_on <= on
        late = not done and duty is not None and duty.due_date is not None and duty.due_date < on
        late = late or (duty is not None and duty.overdue and not done)
        for target in (points.get(f.point), firms.get(f.credit_code), totals):
            if target is None:
                continue
            target["found"] += 1
            target["rectified" if done else "open"] += 1
            if late:
                target["overdue"] += 1
    return {"on": on.isoformat(), "points": points, "businesses": firms, "totals": totals}


def final_report(session: Session, code: str) -> ReviewReport | None:
    return session.exec(select(ReviewReport).where(ReviewReport.review == code)).first()


def overdue_orders(session: Session, numbers: list[str]) -> int:
    return sum(
        1
        for d in duties_of(session, numbers).values()
        if d.deadline is not None and d.deadline.state == DeadlineState.OVERDUE
    )
