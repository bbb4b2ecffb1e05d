"""Registering (登记) a case: a complaint, a report, or both linked, and the reports that
clues found while mediating open. The caller answers, then starts the new cases' workflows
(``process.start_registered``)."""

from dataclasses import dataclass

from sqlmodel import Session, select

from api import process
from api.campaigns import service as campaigns
from api.casefile import history
from api.casefile import service as casefile
from api.casefile.lifecycle import CaseKind, Channel
from api.casefile.models import Case, Event, PendingStart, Respondent
from api.cases import service as cases
from api.cases.models import CaseCreate, CasePublic, ClueReport
from api.config import Settings
from api.deps import StepEngine
from api.errors import NotAllowed, conflict, invalid
from api.rules.service import rules_in_force
from api.users.models import Role, User


@dataclass(frozen=True)
class Registered:
    case_no: str  # the case to answer with
    to_start: list[process.ToStart]  # whose workflows must run
    existing: bool  # registered before under this client_ref


def register(
    *,
    session: Session,
    settings: Settings,
    user: User,
    body: CaseCreate,
    steps: StepEngine,
) -> Registered:
    """Registers the case (and its linked report) with its first step, in one transaction,
    or finds the one registered before under its ``client_ref``; says which workflows must
    be started."""
    if user.role == Role.STATION and body.channel != Channel.STATION:
        # A station's registration is what sends a complaint to its reconciliation first.
        raise invalid("channel", "a station registers with the channel station")
    if body.client_ref:
        existing = cases.by_client_ref(session=session, user=user, client_ref=body.client_ref)
        if existing is not None:
            return _existing(session, existing)
    rules = rules_in_force(session=session, settings=settings)
    campaign_codes = campaigns.names(session)
    try:
        case = cases.register(
            session=session,
            rules=rules,
            user=user,
            body=body,
            prefix=settings.case_no_prefix,
            campaign_codes=campaign_codes,
            commit=False,
        )
        registered = [case]
        if body.also_report:
            # 投诉兼举报: the complainant reports a violation too; a linked report.
            report = cases.register(
                session=session,
                rules=rules,
                user=user,
                body=body.model_copy(
                    update={
                        "kind": CaseKind.REPORT,
                        "reporter": body.complainant,
                        "complainant": None,
                        "also_report": False,
                        "client_ref": None,
                    }
                ),
                prefix=settings.case_no_prefix,
                campaign_codes=campaign_codes,
                linked_case_no=case.case_no,
                commit=False,
            )
            case.linked_case_no = report.case_no
            session.add(case)
            registered.append(report)
    except cases.DuplicateClientRef:
        # The same client_ref registered concurrently by another request: that one won.
        existing = cases.by_client_ref(session=session, user=user, client_ref=body.client_ref or "")
        assert existing is not None
        return _existing(session, existing)
    to_start = [_opened(session, settings, steps, c) for c in registered]
    session.commit()
    return Registered(case.case_no, to_start, existing=False)


def _opened(session: Session, settings: Settings, steps: StepEngine, case: Case) -> process.ToStart:
    """The new case's first step, and its workflow's start pending until Temporal confirms
    it (``process.started``)."""
    first = steps.first_step(session=session, settings=settings, case_no=case.case_no)
    session.add(PendingStart(case_no=case.case_no, kind=case.kind))
    return process.ToStart(case.case_no, case.kind, first)


def _existing(session: Session, case: Case) -> Registered:
    """A registration sent again: the case may lack its workflow (the first request died
    between saving it and starting it, or Temporal's answer was lost), and the retry
    finishes it."""
    to_start: list[process.ToStart] = []
    mine = process.unstarted(session=session, case=case)
    if mine is not None:
        to_start.append(mine)
        linked = session.exec(
            select(Case).where(Case.case_no == case.linked_case_no, Case.kind == CaseKind.REPORT)
        ).first()
        theirs = process.unstarted(session=session, case=linked) if linked is not None else None
        if theirs is not None:
            to_start.append(theirs)
    return Registered(case.case_no, to_start, existing=True)


def register_clue(
    *,
    session: Session,
    settings: Settings,
    user: User,
    case_no: str,
    body: ClueReport,
    steps: StepEngine,
) -> Registered:
    """Registers the report a complaint's clue opens, or finds the one its ``client_ref``
    opened before."""
    complaint = casefile.get_visible(session=session, user=user, case_no=case_no)
    if complaint.kind != CaseKind.COMPLAINT or complaint.unit != user.unit:
        raise NotAllowed(
            "clue.not_handling_unit", "only the handling unit of a complaint can report its clues"
        )
    history.lock_case(session, complaint.case_no)  # counted and opened by one request at a time
    if body.client_ref:
        before = session.exec(select(Case).where(Case.client_ref == body.client_ref)).first()
        if before is not None and before.linked_case_no == complaint.case_no:
            return _existing(session, before)  # sent again: the report opened the first time
        if before is not None:
            raise conflict(
                "case.client_ref_taken",
                f"client_ref {body.client_ref} is already used by another case",
            )
    reported = cases.clue_reports(session=session, case_no=complaint.case_no)
    if reported >= settings.max_clue_reports_per_case:
        raise conflict(
            "clue.too_many",
            f"case {case_no} has {reported} clue reports already, the most one case may open",
        )
    report = cases.register(
        session=session,
        rules=rules_in_force(session=session, settings=settings),
        user=user,
        body=CaseCreate(
            kind=CaseKind.REPORT,
            channel=Channel.EX_OFFICIO,
            anonymous=True,  # the bureau's own finding: there is no reporter to protect
            respondent=Respondent.model_validate(complaint.respondent),
            category=complaint.category,
            description=body.description,
            campaign=body.campaign,
            client_ref=body.client_ref,
        ),
        prefix=settings.case_no_prefix,
        campaign_codes=campaigns.names(session),
        linked_case_no=complaint.case_no,
        commit=False,
    )
    opened = _opened(session, settings, steps, report)
    session.commit()
    return Registered(report.case_no, [opened], existing=False)


def record_clue(*, session: Session, user: User, case_no: str, report_no: str) -> CasePublic:
    """Notes the clue in the complaint's history, once however often it is sent."""
    history.lock_case(session, case_no)
    noted = session.exec(
        select(Event.data).where(Event.case_no == case_no, Event.type == "clue_reported")
    ).all()
    if not any(data.get("report") == report_no for data in noted):
        history.append(
            session=session,
            case_no=case_no,
            actor=user.username,
            type="clue_reported",
            data={"report": report_no},
        )
    session.commit()
    # The handler who found the clue is answered with the report, which is the centre's
    # to triage (no unit yet, so it is not among the handler's cases).
    report = session.exec(select(Case).where(Case.case_no == report_no)).one()
    return cases.to_public(session=session, user=user, case=report)
