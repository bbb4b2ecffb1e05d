from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.casefile import history
from api.casefile.lifecycle import CASES, CaseKind, Channel, Status
from api.casefile.models import Case, Event
from api.casefile.parties import mask, sees_parties
from api.casefile.service import get_visible, visible_filter
from api.cases.models import CaseCreate, CasePublic, CaseSummary
from api.db import count_ahead, lock_for_write, utcnow
from api.deadlines.models import Deadline, DeadlinePublic
from api.errors import Conflict, Invalid
from api.incidents import service as incidents
from api.mediation import service as mediation
from api.rules.rulesets import RuleBook
from api.units import service as units
from api.users.models import CITY_UNIT, Role, User
from api.workdays import ZONE

# A clock a few seconds ahead on the client is not a complaint from the future.
CLOCK_SKEW = timedelta(minutes=2)
CASE_NO_PREFIX = {CaseKind.COMPLAINT: "TS", CaseKind.REPORT: "JB"}  # 投诉 / 举报


class DuplicateClientRef(Exception):
    """Another request registered a case with this client_ref first."""


def by_client_ref(*, session: Session, user: User, client_ref: str) -> Case | None:
    """The case registered before under this idempotency key, if the user may see it."""
    case = session.exec(select(Case).where(Case.client_ref == client_ref)).first()
    if case is None:
        return None
    visible = session.exec(
        select(Case.id).where(Case.id == case.id).where(visible_filter(user=user))
    ).first()
    if visible is None:
        raise Conflict(
            "case.client_ref_taken", f"client_ref {client_ref} is already used by another case"
        )
    return case


def register(
    *,
    session: Session,
    rules: RuleBook,
    user: User,
    body: CaseCreate,
    prefix: str = "",
    campaign_codes: Collection[str] = (),
    linked_case_no: str | None = None,
    commit: bool = True,
) -> Case:
    """Registers (登记) a case; the caller starts its workflow."""
    now = utcnow()
    received_at = body.received_at or now
    wrong = body.party_errors()  # every mistake at once, the time's among them
    if received_at > now + CLOCK_SKEW:
        wrong.insert(0, ("received_at", "received_at may not be in the future"))
    if wrong:
        raise Invalid(*wrong)
    if body.campaign is not None and body.campaign not in campaign_codes:
        raise Invalid(("campaign", f"unknown campaign: {body.campaign}"))
    try:
        ruleset = rules.for_received(received_at)
    except ValueError as error:
        raise Invalid(("received_at", str(error))) from error
    suggested = units.suggest_for_district(session=session, district=body.respondent.district)
    case = Case(
        case_no=f"tmp-{uuid4().hex[:24]}",
        kind=body.kind,
        channel=body.channel,
        status=Status.REGISTERED,
        suggested_unit=suggested.code if suggested else None,
        received_at=received_at,
        registered_at=now,
        registered_by=user.username,
        registered_unit=user.unit,
        rule_set=ruleset.code,
        category=body.category,
        description=body.description,
        claim=body.claim,
        complainant=body.complainant.model_dump(exclude_none=True) if body.complainant else None,
        reporter=body.reporter.model_dump(exclude_none=True) if body.reporter else None,
        anonymous=body.anonymous,
        linked_case_no=linked_case_no,
        campaign=body.campaign,
        respondent=body.respondent.model_dump(exclude_none=True),
        client_ref=body.client_ref,
        sender=body.sender.model_dump(mode="json") if body.sender else None,
        sender_due_date=body.sender.due_date if body.sender else None,
    )
    session.add(case)
    try:
        session.flush()
    except IntegrityError as error:
        session.rollback()
        if (
            body.client_ref
            and session.exec(select(Case.id).where(Case.client_ref == body.client_ref)).first()
        ):
            raise DuplicateClientRef() from error
        raise
    case.case_no = _next_number(
        session, f"{prefix}{CASE_NO_PREFIX[body.kind]}{now.astimezone(ZONE):%Y%m%d}"
    )
    session.add(case)
    session.flush()
    history.append(
        session=session,
        case_no=case.case_no,
        actor=user.username,
        type="registered",
        data={
            "kind": case.kind,
            "status": case.status,
            "channel": case.channel,
            "received_at": received_at.isoformat(),
            "rule_set": ruleset.code,
            "suggested_unit": case.suggested_unit,
            "anonymous": case.anonymous,
            "linked_case_no": linked_case_no,
            "campaign": case.campaign,
        },
    )
    if commit:
        session.commit()
    return case


def _next_number(session: Session, stem: str) -> str:
    """The next number of its kind and day: ``TS20261202000007`` is the day's seventh
    complaint. Complaints and reports count apart, so the report registered with a
    complaint does not carry the complaint's number plus one (a link anyone could read)."""
    lock_for_write(session)
    if session.get_bind().dialect.name == "postgresql":
        session.exec(select(func.pg_advisory_xact_lock(func.hashtext(stem))))
    last = session.exec(
        select(func.max(Case.case_no)).where(Case.case_no >= stem, Case.case_no < stem + "~")
    ).one()
    tail = last[len(stem) :] if last else ""
    return f"{stem}{(int(tail) if tail.isdigit() else 0) + 1:06d}"


def list_visible(
    *,
    session: Session,
    user: User,
    kind: CaseKind | None,
    status: Status | None,
    unit: str | None,
    overdue: bool | None,
    limit: int,
    offset: int,
    received_from: datetime | None = None,
    received_before: datetime | None = None,
    categories: list[str] | None = None,
) -> tuple[list[Case], int, bool]:
    """The cases this user sees, newest received first, and their count (``count_ahead``:
    whether it is exact)."""
    # A bulletin's or a duty's file is not a consumer's case: never listed with them.
    where = [visible_filter(user=user, campaigns=False), col(Case.kind).in_(CASES)]
    if categories:
        where.append(col(Case.category).in_(categories))
    if received_from is not None:
        where.append(col(Case.received_at) >= received_from)
    if received_before is not None:
        where.append(col(Case.received_at) < received_before)
    if kind is not None:
        where.append(col(Case.kind) == kind)
    if status is not None:
        where.append(col(Case.status) == status)
    if unit is not None:
        where.append(col(Case.unit) == unit)
    if overdue is not None:
        where.append(col(Case.overdue) == overdue)
    # Newest first, read from the indexes on (…, received_at, id) (``Case``) and stopped
    # at the page's end; ``id`` breaks ties, so pages neither overlap nor skip.
    order = (col(Case.received_at).desc(), col(Case.id).desc())
    ids = select(Case.id).where(*where).order_by(*order)
    count, exact = count_ahead(session, ids, offset=offset)
    rows = session.exec(select(Case).where(*where).order_by(*order).offset(offset).limit(limit))
    return list(rows.all()), count, exact


def sees_reporter(user: User, case: Case) -> bool:
    """The reporter is sealed: only the case's handlers and its supervisors see them."""
    if user.role == Role.SUPERVISOR:
        return user.unit in (CITY_UNIT, case.unit)
    return user.role == Role.HANDLER and case.unit is not None and user.unit == case.unit


def reporter_as_seen(*, session: Session, user: User, case: Case) -> dict[str, Any] | None:
    """The reporter for this user: revealed (and the read logged in the history), or sealed."""
    if case.reporter is None:
        return None
    if not sees_reporter(user, case):
        return {"sealed": True}
    history.append(
        session=session,
        case_no=case.case_no,
        actor=user.username,
        type="reporter_identity_read",
        data={"role": user.role, "unit": user.unit},
    )
    session.commit()
    return case.reporter


def sealed_report(*, session: Session, case: Case) -> Case | None:
    """The real-name report whose link to ``case`` is sealed: a complaint filed "also a
    report" and that report are one person, so whoever may not see the reporter may not
    see the link either (the complaint shows the complainant in full). None: no such link
    (no link, or a report without a reporter to protect, such as a clue)."""
    if case.linked_case_no is None:
        return None
    if case.kind == CaseKind.REPORT:
        report: Case | None = case
    else:
        report = session.exec(
            select(Case).where(Case.case_no == case.linked_case_no, Case.kind == CaseKind.REPORT)
        ).first()
    if report is None or report.reporter is None:
        return None
    return report


def link_as_seen(*, session: Session, user: User, case: Case) -> str | None:
    """The linked case's number for this user: shown (and, when it points at a sealed
    reporter, the read logged on the report), or None, as if there were no link."""
    report = sealed_report(session=session, case=case)
    if report is None:
        return case.linked_case_no
    if not sees_reporter(user, report):
        return None
    if report is not case:  # reading the report itself is logged as a reporter read
        history.append(
            session=session,
            case_no=report.case_no,
            actor=user.username,
            type="report_link_read",
            data={"role": user.role, "unit": user.unit, "from": case.case_no},
        )
        session.commit()
    return case.linked_case_no


def events_as_seen(*, session: Session, user: User, case: Case) -> list[Event]:
    """The case's history for this user: the link to a sealed report left out for those
    who may not see the reporter."""
    found = history.events(session=session, case_no=case.case_no)
    report = sealed_report(session=session, case=case)
    if report is None or sees_reporter(user, report):
        return found
    for event in found:
        hidden = {k: None for k in _LINK_KEYS.get(event.type, ()) if event.data.get(k)}
        if hidden:
            session.expunge(event)  # what is shown, never what is stored
            event.data = {**event.data, **hidden}
    return found


# Where an event names the other end of a sealed link.
_LINK_KEYS = {"registered": ("linked_case_no",), "report_link_read": ("from",)}


def to_public(*, session: Session, user: User, case: Case) -> CasePublic:
    deadlines = session.exec(
        select(Deadline).where(Deadline.case_no == case.case_no).order_by(col(Deadline.id))
    ).all()
    show = sees_parties(user)
    return CasePublic(
        case_no=case.case_no,
        kind=case.kind,
        channel=case.channel,
        status=case.status,
        unit=case.unit,
        suggested_unit=case.suggested_unit,
        received_at=case.received_at.astimezone(ZONE),
        registered_at=case.registered_at.astimezone(ZONE),
        rule_set=case.rule_set,
        overdue=case.overdue,
        category=case.category,
        description=case.description,
        claim=case.claim,
        complainant=case.complainant if show else mask(case.complainant),
        reporter=reporter_as_seen(session=session, user=user, case=case),
        anonymous=case.anonymous,
        linked_case_no=link_as_seen(session=session, user=user, case=case),
        campaign=case.campaign,
        respondent=case.respondent,
        outcome=case.outcome,
        satisfaction=case.satisfaction,
        closed_at=case.closed_at.astimezone(ZONE) if case.closed_at else None,
        sender=case.sender,
        deadlines=[
            DeadlinePublic(
                name=d.name,
                started_on=d.started_on,
                due_at=d.due_at.astimezone(ZONE),
                due_date=d.due_date,
                provisional=d.provisional,
                state=d.state,
                working_days=d.working_days,
                calendar_days=d.calendar_days,
                rule_set=d.rule_set,
                unit=d.unit,
                extended_working_days=d.extended_working_days,
                paused_working_days=d.paused_working_days,
                fixed=d.fixed,
                warn_at=d.warn_at.astimezone(ZONE) if d.warn_at else None,
                notice_at=d.notice_at.astimezone(ZONE) if d.notice_at else None,
                criticise_at=d.criticise_at.astimezone(ZONE) if d.criticise_at else None,
                rungs=list(d.rungs),
                policy=d.policy,
            )
            for d in deadlines
        ],
        mediation=mediation.ladder(session=session, case_no=case.case_no),
        incidents=incidents.open_of_case(session=session, case_no=case.case_no),
    )


def public(*, session: Session, user: User, case_no: str) -> CasePublic:
    """The case as this user may see it."""
    case = get_visible(session=session, user=user, case_no=case_no)
    return to_public(session=session, user=user, case=case)


def to_summary(case: Case) -> CaseSummary:
    return CaseSummary(
        case_no=case.case_no,
        kind=case.kind,
        status=case.status,
        unit=case.unit,
        received_at=case.received_at.astimezone(ZONE),
        overdue=case.overdue,
        category=case.category,
    )


def clue_reports(*, session: Session, case_no: str) -> int:
    """How many reports the clues found in this complaint have opened."""
    return session.exec(
        select(func.count())
        .select_from(Case)
        .where(Case.linked_case_no == case_no, Case.channel == Channel.EX_OFFICIO)
    ).one()
