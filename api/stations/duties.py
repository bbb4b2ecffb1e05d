"""The station network's duties, each a file with its task, deadline and escalation:

- **demonstration sites (示范点)**: every January each branch is given its list of the year
  to name, one open 12315 五进 station per host type, due on ``demonstration_due``; the
  city approves it (the stations are flagged) or sends it back;
- **rectification (整改)**: a station assessed below the pass mark is rectified by its
  branch within ``station_rectification_working_days``.

The files are opened here (once: a list per branch and year, a rectification per
assessment); their workflows (``workflows.duty``) take the steps of ``api.stations.steps``.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.casefile import history
from api.casefile import service as casefile
from api.casefile.lifecycle import CaseKind
from api.casefile.models import Case
from api.config import Settings
from api.db import utcnow
from api.deadlines.models import Deadline, DeadlineState
from api.errors import Invalid, NotAllowed, NotFound
from api.rules.service import rules_in_force
from api.stations.models import (
    DemonstrationList,
    Station,
    StationAssessment,
    StationRectification,
)
from api.units.models import Unit, UnitKind
from api.users.models import Role, User

DEMONSTRATION_PREFIX = "SF"  # 示范
RECTIFICATION_PREFIX = "ZG"  # 整改


def demonstration_no(year: int, branch: str, prefix: str = "") -> str:
    """A branch's list of the year: ``SF2027GUICHI`` (after the deployment's prefix)."""
    return f"{prefix}{DEMONSTRATION_PREFIX}{year}{branch.upper()}"


def rectification_no(year: int, assessment_id: int, prefix: str = "") -> str:
    """A station's rectification: ``ZG2027000012``, numbered by the assessment."""
    return f"{prefix}{RECTIFICATION_PREFIX}{year}{assessment_id:06d}"


def due_of(settings: Settings, year: int) -> date:
    """The last day a branch names its sites: ``demonstration_due`` of the year."""
    month, day = settings.demonstration_due_day
    return date(year, month, day)


def _file(
    session: Session, settings: Settings, case_no: str, kind: CaseKind, unit: str, actor: str
) -> Case:
    rules = rules_in_force(session=session, settings=settings)
    return casefile.open_file(
        session=session,
        case_no=case_no,
        kind=kind,
        unit=unit,
        actor=actor,
        rule_set=rules.for_received(utcnow()).code,
    )


# --- demonstration sites ---------------------------------------------------------------------


def open_year(*, session: Session, settings: Settings, year: int, actor: str) -> list[str]:
    """Every branch's list of the year, each opened once: a run asking again (the schedule
    caught up, a start by hand) is answered with the lists opened first."""
    branches = session.exec(
        select(Unit.code).where(Unit.kind == UnitKind.BRANCH).order_by(col(Unit.code))
    ).all()
    numbers = []
    for branch in branches:
        found = _list_of(session, year, branch)
        if found is None:
            no = demonstration_no(year, branch, settings.case_no_prefix)
            try:
                _file(session, settings, no, CaseKind.DEMONSTRATION, branch, actor)
                session.add(DemonstrationList(case_no=no, year=year, branch=branch))
                history.append(
                    session=session,
                    case_no=no,
                    actor=actor,
                    type="registered",
                    data={"kind": CaseKind.DEMONSTRATION, "year": year, "branch": branch},
                )
                session.commit()
            except IntegrityError:
                session.rollback()  # another run opened it meanwhile
                found = _list_of(session, year, branch)
                if found is None:
                    raise
                no = found.case_no
        else:
            no = found.case_no
        numbers.append(no)
    return numbers


def _list_of(session: Session, year: int, branch: str) -> DemonstrationList | None:
    return session.exec(
        select(DemonstrationList).where(
            DemonstrationList.year == year, DemonstrationList.branch == branch
        )
    ).first()


def list_of_case(session: Session, case_no: str) -> DemonstrationList:
    found = session.exec(
        select(DemonstrationList).where(DemonstrationList.case_no == case_no)
    ).first()
    if found is None:
        raise NotFound("stations.not_a_list", f"{case_no} is not a demonstration-site list")
    return found


def requested_year(year: int, today: date) -> int:
    """A year whose lists may be given by hand: this one, or the last (a deployment that
    missed its January; the schedule catches up within its window). 422 otherwise."""
    if year > today.year:
        raise Invalid(("year", f"{year} has not begun"), code="stations.year_not_begun")
    if year < today.year - 1:
        raise Invalid(("year", f"{year} is over"), code="stations.year_over")
    return year


def city_supervisor(user: User) -> None:
    if not (user.role == Role.SUPERVISOR and user.city_wide):
        raise NotAllowed("auth.role", "only the city's supervisors start the year's lists")


@dataclass(frozen=True)
class Duty:
    """A file's status and its open deadline, as its list shows it."""

    case: Case
    deadline: Deadline | None

    @property
    def due_date(self) -> date | None:
        return self.deadline.due_date if self.deadline else None

    @property
    def overdue(self) -> bool:
        return self.deadline is not None and self.deadline.state == DeadlineState.OVERDUE


def duties_of(session: Session, case_nos: list[str]) -> dict[str, Duty]:
    cases = {
        c.case_no: c for c in session.exec(select(Case).where(col(Case.case_no).in_(case_nos)))
    }
    latest: dict[str, Deadline] = {}
    for d in session.exec(
        select(Deadline).where(col(Deadline.case_no).in_(case_nos)).order_by(col(Deadline.id))
    ):
        latest[d.case_no] = d
    return {no: Duty(cases[no], latest.get(no)) for no in case_nos if no in cases}


def demonstrations(
    *, session: Session, year: int, branch: str | None
) -> list[tuple[DemonstrationList, Duty]]:
    """The year's lists: every branch's (None), or one branch's."""
    query = select(DemonstrationList).where(DemonstrationList.year == year)
    if branch is not None:
        query = query.where(DemonstrationList.branch == branch)
    lists = list(session.exec(query.order_by(col(DemonstrationList.branch))).all())
    duties = duties_of(session, [each.case_no for each in lists])
    return [(each, duties[each.case_no]) for each in lists if each.case_no in duties]


def site_problem(
    session: Session, branch: str, sites: dict[str, str]
) -> tuple[str, str, str] | None:
    """What is wrong with the named sites, if anything: (host type, code, message). Each
    must be an open 12315 五进 station of the branch, of that host type."""
    found = {
        s.code: s
        for s in session.exec(select(Station).where(col(Station.code).in_(list(sites.values()))))
    }
    for host, code in sites.items():
        station = found.get(code)
        if station is None:
            return host, "stations.not_found", f"no station {code}"
        if station.branch != branch:
            return host, "unit.not_yours", f"{code} is not a station of {branch}"
        if station.closed_on is not None:
            return host, "stations.closed", f"{code} is closed"
        if station.five_in != host:
            return host, "stations.wrong_host", f"{code} is not a 五进 station of this host type"
    return None


def check_sites(session: Session, branch: str, sites: dict[str, str]) -> None:
    """The named sites as a request names them: 422 naming the host type's field."""
    problem = site_problem(session, branch, sites)
    if problem is not None:
        host, code, message = problem
        raise Invalid((host, message), code=code)


# --- rectification ---------------------------------------------------------------------------


def open_rectification(
    *, session: Session, settings: Settings, assessment: StationAssessment, branch: str
) -> StationRectification | None:
    """The rectification of a station assessed below the pass mark, in the assessment's
    transaction (not committed here). None: the station has one open already, which the
    new assessment leaves to run."""
    if assessment.passed or assessment.id is None:
        return None
    open_one = session.exec(
        select(StationRectification).where(
            StationRectification.station == assessment.station,
            col(StationRectification.done_at).is_(None),
        )
    ).first()
    if open_one is not None:
        return None
    no = rectification_no(assessment.year, assessment.id, settings.case_no_prefix)
    _file(session, settings, no, CaseKind.RECTIFICATION, branch, assessment.assessor)
    found = StationRectification(
        case_no=no, station=assessment.station, assessment_id=assessment.id, year=assessment.year
    )
    session.add(found)
    history.append(
        session=session,
        case_no=no,
        actor=assessment.assessor,
        type="registered",
        data={
            "kind": CaseKind.RECTIFICATION,
            "station": assessment.station,
            "assessment_id": assessment.id,
            "total": assessment.total,
            "pass_mark": assessment.pass_mark,
        },
    )
    return found


def rectification_of_case(session: Session, case_no: str) -> StationRectification:
    found = session.exec(
        select(StationRectification).where(StationRectification.case_no == case_no)
    ).first()
    if found is None:
        raise NotFound("stations.not_a_rectification", f"{case_no} is not a rectification")
    return found


def rectifications(*, session: Session, station: str) -> list[tuple[StationRectification, Duty]]:
    rows = list(
        session.exec(
            select(StationRectification)
            .where(StationRectification.station == station)
            .order_by(col(StationRectification.id))
        ).all()
    )
    duties = duties_of(session, [r.case_no for r in rows])
    return [(r, duties[r.case_no]) for r in rows if r.case_no in duties]
