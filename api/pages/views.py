"""What each page shows, read through the same services as the JSON routes (plain
functions of a session: the routes run them in the threadpool)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from api import labels
from api.calendar.service import working_calendar
from api.campaigns import service as campaigns
from api.casefile import service as casefile
from api.casefile.fold import CaseAsOf, fold
from api.casefile.lifecycle import CaseKind, Status, is_open
from api.casefile.models import Case
from api.cases import service as cases
from api.cases.models import CasePublic
from api.config import Settings
from api.db import utcnow
from api.errors import NotFound
from api.inbox import service as inbox
from api.mediation import ladder
from api.mediation import service as mediation
from api.mediation.models import LadderDetail, Mediation
from api.mediation.steps import LADDER_KINDS, consent_gap, has_ended
from api.monitoring import service as monitoring
from api.monitoring.models import Sample
from api.pages import forms, present
from api.reviews import service as reviews
from api.rules.service import rules_in_force
from api.stations import duties
from api.stations.models import Station, StationAssessment
from api.tasks import kinds
from api.tasks import service as tasks
from api.tasks.models import ACTIVE, INBOX_ORDER, Task, TaskKind, status_is
from api.units import service as units
from api.units.models import UnitKind
from api.users.models import Role, User
from api.workdays import ZONE, deadline_instant, local_date, local_midnight


def unit_names(session: Session) -> dict[str, str]:
    return {u.code: u.name for u in units.list_all(session=session)}


@dataclass
class TaskRow:
    task: Task
    label: str
    unit: str
    due: present.Due | None
    status: str
    can_act: bool
    mine: bool


STATES = {"warning": "临近到期", "overdue": "已超期"}


def _warning_cutoff(session: Session, settings: Settings, now: datetime) -> datetime:
    """Deadlines expiring before this instant have ``escalation_warning_working_days`` or
    fewer working days left after today: those the inbox marks as warning."""
    calendar = working_calendar(session=session)
    today = local_date(now)
    last = calendar.add_working_days(today, settings.escalation_warning_working_days).end
    return deadline_instant(last)


def task_rows(
    *,
    session: Session,
    settings: Settings,
    user: User,
    kind: TaskKind | None = None,
    state: str | None = None,
    case_no: str | None = None,
    limit: int = 200,
) -> tuple[list[TaskRow], int]:
    """The open tasks this user sees, soonest deadline first (the inbox)."""
    now = utcnow()
    query = tasks.visible_query(user=user).where(status_is(*ACTIVE))
    if kind is not None:
        query = query.where(Task.kind == kind)
    if case_no is not None:
        query = query.where(Task.case_no == case_no)
    if state == "overdue":
        query = query.where(col(Task.due_at) <= now)
    elif state == "warning":
        cutoff = _warning_cutoff(session, settings, now)
        query = query.where(col(Task.due_at) > now, col(Task.due_at) < cutoff)
    found = session.exec(query.order_by(*INBOX_ORDER).limit(limit + 1)).all()
    names = unit_names(session)
    calendar = working_calendar(session=session)
    rows = [
        TaskRow(
            task=t,
            label=kinds.LABELS.get(t.kind, t.kind),
            unit=names.get(t.unit, t.unit),
            due=present.due(
                t.due_at,
                now=now,
                calendar=calendar,
                warning_days=settings.escalation_warning_working_days,
            )
            if t.due_at
            else None,
            status=labels.name(labels.TASK_STATUS, t.status),
            can_act=tasks.can_act(user=user, task=t),
            mine=t.assignee == user.username,
        )
        for t in found[:limit]
    ]
    return rows, len(found)


@dataclass
class EventRow:
    seq: int
    at: str
    actor: str
    label: str
    summary: str


@dataclass
class CaseView:
    case: CasePublic
    names: dict[str, str]
    deadlines: list[tuple[str, present.Due, Any]]
    ladder: LadderDetail | None
    events: list[EventRow]
    tasks: list[TaskRow]
    as_of: datetime | None
    then: CaseAsOf | None
    then_deadlines: list[tuple[str, present.Due]]
    campaigns: dict[str, str]  # what a clue's report can be tagged to
    duty: "DutyFacts | None" = None  # a duty's file (示范点名单, 整改)


@dataclass(frozen=True)
class DutyFacts:
    """What a duty's file is about, as its page shows it instead of a consumer's facts."""

    facts: list[tuple[str, str, str]]  # (label, text, link or "")


def duty_facts(session: Session, case: Case) -> DutyFacts | None:
    """The year, branch and sites of a demonstration list; the station and its score of
    a rectification; None for a consumer's case."""
    if case.kind == CaseKind.DEMONSTRATION:
        listed = duties.list_of_case(session, case.case_no)
        names = dict(
            session.exec(
                select(Station.code, Station.name).where(
                    col(Station.code).in_(list(listed.sites.values()))
                )
            ).all()
        )
        facts = [("年度", f"{listed.year}年", "")]
        for host, code in listed.sites.items():
            label = labels.FIELD.get(host, host)
            facts.append((label, names.get(code, code), f"/stations/{code}"))
        if listed.returned:
            facts.append(("退回重报", f"{listed.returned} 次", ""))
        facts.append(
            ("全市名单", "各单位示范点名单", f"/stations/demonstrations?year={listed.year}")
        )
        return DutyFacts(facts)
    if case.kind == CaseKind.RECTIFICATION:
        found = duties.rectification_of_case(session, case.case_no)
        station = session.exec(select(Station).where(Station.code == found.station)).first()
        assessed = session.get(StationAssessment, found.assessment_id)
        facts = [("站点", station.name if station else found.station, f"/stations/{found.station}")]
        if assessed is not None:
            facts.append(("考核得分", f"{assessed.total} 分（合格线 {assessed.pass_mark} 分）", ""))
            facts.append(("考核日期", labels.day(assessed.assessed_on), ""))
        if found.done_on is not None:
            facts.append(("整改完成", f"{labels.day(found.done_on)}：{found.summary}", ""))
        return DutyFacts(facts)
    if case.kind == CaseKind.DELISTING:
        delisting, sample = monitoring.delisting_of_case(session, case.case_no)
        what = " ".join(x for x in (sample.brand, sample.product, sample.model) if x)
        facts = [
            ("样品", sample.sample_no, f"/monitoring/samples/{sample.sample_no}"),
            ("不合格商品", what + (f"（批号 {sample.lot}）" if sample.lot else ""), ""),
            ("经营场所", f"{sample.outlet}（{sample.business}）", ""),
            ("不合格项目", "、".join(sample.failed_items), ""),
            ("专项清查", "查看本次专项清查", f"/monitoring/cleanups/{delisting.cleanup_id}"),
        ]
        if delisting.done_on is not None:
            facts.append(
                ("退市完成", f"{labels.day(delisting.done_on)}：下架 {delisting.quantity} 件", "")
            )
        return DutyFacts(facts)
    if case.kind == CaseKind.REVIEW:
        review = reviews.of_case(session, case.case_no)
        period = f"{labels.day(review.starts_on)}至{labels.day(review.ends_on)}"
        return DutyFacts(
            [("社会评议", review.name, f"/reviews/{review.code}"), ("期间", period, "")]
        )
    if case.kind == CaseKind.REVIEW_ORDER:
        finding = reviews.finding_of_order(session, case.case_no)
        review = reviews.get(session, finding.review)
        business = reviews.businesses(review).get(finding.credit_code, finding.credit_code)
        facts = [
            ("社会评议", review.name, f"/reviews/{review.code}#findings"),
            ("被评议单位", f"{business}（{finding.credit_code}）", ""),
            ("发现的问题", finding.description, ""),
        ]
        if finding.source_case_no:
            facts.append(("来源投诉", finding.source_case_no, f"/cases/{finding.source_case_no}"))
        if finding.rectified_on is not None:
            done = f"{labels.day(finding.rectified_on)}：{finding.rectification}"
            facts.append(("整改完成", done, ""))
        return DutyFacts(facts)
    if case.kind == CaseKind.REPORT:
        sample_no = session.exec(
            select(Sample.sample_no).where(Sample.report_no == case.case_no)
        ).first()
        if sample_no is not None:
            return DutyFacts([("质量监测样品", sample_no, f"/monitoring/samples/{sample_no}")])
    return None


def case_view(
    *,
    session: Session,
    settings: Settings,
    user: User,
    case_no: str,
    as_of: datetime | None = None,
) -> CaseView:
    """The case page: the case as this user may see it, or as it stood at ``as_of``."""
    record = casefile.get_visible(session=session, user=user, case_no=case_no)
    shown = cases.to_public(session=session, user=user, case=record)
    names = unit_names(session)
    now = utcnow()
    calendar = working_calendar(session=session)
    warning = settings.escalation_warning_working_days
    deadlines = [
        (
            labels.name(labels.DEADLINE, d.name),
            present.due(
                d.due_at,
                now=now,
                calendar=calendar,
                warning_days=warning,
                state=d.state,
                provisional=d.provisional,
            ),
            d,
        )
        for d in shown.deadlines
    ]
    seen = cases.events_as_seen(session=session, user=user, case=record)
    then = None
    then_deadlines: list[tuple[str, present.Due]] = []
    if as_of is not None:
        seen = [e for e in seen if e.at <= as_of]
        then = fold(record.case_no, seen)
        then_deadlines = [
            (
                labels.name(labels.DEADLINE, d.name),
                present.due(
                    d.due_at,
                    now=as_of,
                    calendar=calendar,
                    warning_days=warning,
                    state="met" if d.met else d.state,
                ),
            )
            for d in then.deadlines
        ]
    events = [
        EventRow(
            seq=e.seq,
            at=present.moment(e.at),
            actor=e.actor,
            label=labels.name(labels.EVENT, e.type),
            summary=present.event_summary(e.type, e.data, names),
        )
        for e in seen
    ]
    rows, _ = task_rows(session=session, settings=settings, user=user, case_no=case_no)
    return CaseView(
        case=shown,
        names=names,
        deadlines=deadlines,
        ladder=mediation.detail(session=session, case_no=case_no, user=user),
        events=events,
        tasks=rows,
        as_of=as_of,
        then=then,
        then_deadlines=then_deadlines,
        campaigns=campaigns.names(session),
        duty=duty_facts(session, record),
    )


def parse_as_of(value: str | None) -> tuple[datetime | None, str]:
    """The picker's local date and time (Asia/Shanghai) as an instant, or an error."""
    if not value:
        return None, ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None, "请填写有效的日期和时间"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZONE)
    if moment > utcnow():
        return None, labels.ERROR["as_of.in_future"]
    return moment, ""


@dataclass
class TaskView:
    task: Task
    label: str
    case: CaseView
    form: forms.Form
    context: dict[str, Any]


def task_view(*, session: Session, settings: Settings, user: User, task_id: int) -> TaskView:
    """A task with its case and its kind's form (the form is empty)."""
    task = inbox.visible(session=session, user=user, task_id=task_id)
    case = case_view(session=session, settings=settings, user=user, case_no=task.case_no)
    rule_set = rules_in_force(session=session, settings=settings).by_code(case.case.rule_set)
    branches = {
        u.code: u.name for u in units.list_all(session=session) if u.kind == UnitKind.BRANCH
    }
    handlers = list(
        session.exec(
            select(User.username)
            .where(User.role == Role.HANDLER, User.unit == case.case.unit, User.active)
            .order_by(col(User.username))
        ).all()
    )
    sources = forms.Sources(
        rule_set=rule_set,
        branches=branches,
        handlers=handlers,
        committees=mediation.committees(settings.committees_file),
        stations=_five_in(session, task.unit) if task.kind == TaskKind.NAME_SITES else {},
    )
    form = forms.build(kinds.SCHEMAS[TaskKind(task.kind)], sources)
    mediating = session.get(Mediation, task.mediation_id) if task.mediation_id else None
    if mediating is not None and task.kind in LADDER_KINDS and not has_ended(mediating):
        forms.refuse_moves(form, _why_not(session, mediating))
    suggested = task.context.get("suggested_unit")
    accept_unit = form.field("accept.unit")
    if accept_unit is not None and suggested:
        accept_unit.value = suggested
    return TaskView(
        task=task,
        label=kinds.LABELS.get(task.kind, task.kind),
        case=case,
        form=form,
        context=task.context,
    )


def _five_in(session: Session, unit: str) -> dict[str, list[tuple[str, str]]]:
    """The unit's open 12315 五进 stations by host type, as the naming form offers them."""
    out: dict[str, list[tuple[str, str]]] = {}
    for station in session.exec(
        select(Station)
        .where(Station.branch == unit, col(Station.five_in).is_not(None))
        .where(col(Station.closed_on).is_(None))
        .order_by(col(Station.code))
    ):
        out.setdefault(str(station.five_in), []).append((station.code, station.name))
    return out


def _why_not(session: Session, mediating: Mediation) -> Callable[[str], str]:
    """Why the ladder does not allow a move now, in Chinese ("" when it does): the same
    table and consents ``legal_move`` checks when the completion is sent."""
    stage = ladder.Stage(mediating.stage)

    def why_not(decision: str) -> str:
        try:
            move = ladder.move(stage, decision)
        except ladder.IllegalMove:
            return labels.ERROR["mediation.illegal_move"]
        if move.consent is None:
            return ""
        gap = consent_gap(session=session, mediation=mediating, purpose=move.consent)
        if gap is None:
            return ""
        stands = "不同意" if gap.refused else "的同意尚未记录"
        return (
            f"须双方{CONSENT[move.consent.value]}，{PARTY[gap.party.value]}{stands}："
            "请先在案件页“记录当事人意见”"
        )

    return why_not


def task_of_case(*, session: Session, user: User, task_id: int) -> str:
    """The case number of a task this user sees (404 otherwise)."""
    task = inbox.visible(session=session, user=user, task_id=task_id)
    return task.case_no


def find_case(*, session: Session, user: User, case_no: str) -> str:
    """A case number as typed into the search box, if this user sees that case."""
    wanted = case_no.strip().upper()
    if not wanted:
        raise NotFound("case.not_found", "no case number given")
    return casefile.get_visible(session=session, user=user, case_no=wanted).case_no


@dataclass
class CaseRow:
    case_no: str
    kind: str
    status: str
    unit: str
    received: str
    overdue: bool
    category: str


def case_list(
    *,
    session: Session,
    user: User,
    kind: str | None,
    status: str | None,
    unit: str | None,
    start: date | None,
    end: date | None,
    overdue: bool,
    limit: int = 100,
) -> tuple[list[CaseRow], int, bool]:
    """The cases this user sees, newest received first, by kind, status, unit and the
    period they were received in (whole days, Asia/Shanghai); their count, and whether it
    is all of them (``api.db.count_ahead``)."""
    names = unit_names(session)
    rows, count, exact = cases.list_visible(
        session=session,
        user=user,
        kind=CaseKind(kind) if kind in set(CaseKind) else None,
        status=Status(status) if status in set(Status) else None,
        unit=unit if unit in names else None,
        overdue=True if overdue else None,
        limit=limit,
        offset=0,
        received_from=local_midnight(start) if start else None,
        received_before=local_midnight(end + timedelta(days=1)) if end else None,
    )
    shown = [
        CaseRow(
            case_no=c.case_no,
            kind=labels.name(labels.KIND, c.kind),
            status=labels.name(labels.STATUS, c.status),
            unit=names.get(c.unit, c.unit) if c.unit else "—",
            received=present.moment(c.received_at),
            overdue=c.overdue,
            category=c.category or "",
        )
        for c in rows
    ]
    return shown, count, exact


CONSENT = {"people_mediation": "同意人民调解", "judicial_confirmation": "共同申请司法确认"}
PARTY = {"complainant": "投诉人", "respondent": "被投诉人"}


def consents(ladder: LadderDetail | None) -> dict[str, dict[str, str]]:
    """Each consent a move up the ladder needs, and where each party stands on it (their
    latest record counts, as the step that checks it counts it)."""
    state: dict[str, dict[str, str]] = {
        purpose: dict.fromkeys(PARTY, "未记录") for purpose in CONSENT
    }
    for record in ladder.consents if ladder else []:
        word = "同意" if record.given else "不同意"
        state[record.purpose][record.party] = f"{word}（{present.day(record.given_on)}）"
    return state


def may_mediate(view: CaseView, user: User) -> bool:
    """Sessions and consents are recorded by the handlers of the unit mediating."""
    ladder = view.ladder
    return (
        ladder is not None
        and ladder.state == "open"
        and user.role == Role.HANDLER
        and user.unit == ladder.unit
    )


def may_report_clue(view: CaseView, user: User) -> bool:
    """A violation clue found while handling a complaint is reported by its handling unit
    (as ``POST /api/v1/cases/{no}/reports`` allows), while the complaint is open."""
    case = view.case
    return (
        view.as_of is None
        and user.role == Role.HANDLER
        and case.kind == CaseKind.COMPLAINT
        and case.unit == user.unit
        and is_open(Status(case.status))
    )
