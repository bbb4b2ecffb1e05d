"""The station network's registry (名录): the city's divisions as data, the stations opened,
edited and closed (each change on record, a closed station's history kept), and their
coverage of the city (一会两站 in every community and village, 12315 五进 of every host
type in every branch).

Who: the city's supervisors and the admin keep every branch's stations, a branch's
supervisor its own; supervisors, auditors and admins read them (a branch its own)."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api import documents
from api.config import Settings
from api.errors import Conflict, Invalid, NotAllowed, NotFound
from api.mediation.ladder import MOVES, Outcome, Rung
from api.mediation.models import MediationRung
from api.stations import duties
from api.stations.models import (
    AssessmentIn,
    Division,
    DivisionLevel,
    HostType,
    Station,
    StationAssessment,
    StationChange,
    StationClose,
    StationCreate,
    StationFields,
    StationPublic,
    StationType,
    StationUpdate,
)
from api.units.models import Unit, UnitKind
from api.users.models import Role, User

# --- who may do what -------------------------------------------------------------------------

READERS = (Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)


def readable_branch(user: User, branch: str | None) -> str | None:
    """The branch a reader sees: any for the city, their own for a branch (asking for
    another is 403)."""
    if user.role not in READERS:
        raise NotAllowed("auth.role", "the station registry is for supervisors and auditors")
    if user.city_wide:
        return branch
    if branch is not None and branch != user.unit:
        raise NotAllowed("unit.not_yours", f"{branch} is not your unit")
    return user.unit


def _keeper(user: User) -> None:
    if user.role not in (Role.ADMIN, Role.SUPERVISOR):
        raise NotAllowed("auth.role", "stations are kept by supervisors and the admin")


def _may_keep(user: User, branch: str) -> None:
    keeper = user.role == Role.ADMIN or (user.role == Role.SUPERVISOR and user.city_wide)
    own = user.role == Role.SUPERVISOR and user.unit == branch
    if not (keeper or own):
        raise NotAllowed("unit.not_yours", f"the stations of {branch} are not yours to keep")


# --- the registry ----------------------------------------------------------------------------


def _checked(session: Session, body: StationFields) -> None:
    """What a station names must exist and fit: a branch, a township of it, a village of
    that township, a 五进 host type only with a host business."""
    unit = session.get(Unit, body.branch)
    if unit is None or unit.kind != UnitKind.BRANCH:
        raise Invalid(("branch", f"{body.branch} is not a branch"), code="stations.unknown_branch")
    township = session.get(Division, body.township)
    if township is None or township.level != DivisionLevel.TOWNSHIP:
        raise Invalid(
            ("township", f"{body.township} is not a township"), code="stations.unknown_division"
        )
    if township.branch != body.branch:
        raise Invalid(
            ("township", f"{township.name} is not covered by {body.branch}"),
            code="stations.outside_branch",
        )
    if body.village is not None:
        village = session.get(Division, body.village)
        if village is None or village.level != DivisionLevel.VILLAGE:
            raise Invalid(
                ("village", f"{body.village} is not a community or village"),
                code="stations.unknown_division",
            )
        if village.township_code != body.township:
            raise Invalid(
                ("village", f"{village.name} is not in {township.name}"),
                code="stations.outside_township",
            )
        if village.retired_on is not None:
            raise Invalid(
                ("village", f"{village.name} was merged away"), code="stations.division_retired"
            )
    if body.five_in is not None and not body.host_name:
        raise Invalid(
            ("host_name", "a 12315 五进 station names the business that hosts it"),
            code="stations.host_missing",
        )
    if body.unit is not None:
        own = session.get(Unit, body.unit)
        if own is None or own.kind != UnitKind.STATION:
            raise Invalid(
                ("unit", f"{body.unit} is not a station's unit"), code="stations.unknown_unit"
            )


def _fields(body: StationFields) -> dict[str, Any]:
    data = body.model_dump(mode="json", exclude={"version", "code"})
    return data


def create(*, session: Session, user: User, body: StationCreate) -> Station:
    _keeper(user)
    _may_keep(user, body.branch)
    _checked(session, body)
    station = Station(code=body.code, **StationFields.model_validate(_fields(body)).model_dump())
    session.add(station)
    session.add(
        StationChange(station=body.code, by=user.username, change={"opened": _fields(body)})
    )
    try:
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise Conflict("stations.taken", f"a station {body.code} exists already") from error
    session.refresh(station)
    return station


def get(*, session: Session, user: User, code: str) -> Station:
    station = session.exec(select(Station).where(Station.code == code)).first()
    if station is None:
        raise NotFound("stations.not_found", f"no station {code}")
    readable_branch(user, station.branch)
    return station


def _write(
    session: Session,
    user: User,
    code: str,
    version: int,
    change: dict[str, Any],
    values: dict[str, Any],
) -> Station:
    """One change, from the version the person saw, as one conditional UPDATE: two people
    saving one station cannot both win (409 for the second), nor edit a closed one."""
    _keeper(user)
    station = get(session=session, user=user, code=code)
    _may_keep(user, station.branch)
    if station.closed_on is not None:
        raise Conflict("stations.closed", f"{code} is closed")
    done = session.execute(
        sql_update(Station)
        .where(
            col(Station.code) == code,
            col(Station.version) == version,
            col(Station.closed_on).is_(None),
        )
        .values(**values, version=version + 1)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Conflict("stations.changed", f"{code} was changed meanwhile; reload it")
    session.add(StationChange(station=code, by=user.username, change=change))
    session.commit()
    session.refresh(station)
    return station


def update(*, session: Session, user: User, code: str, body: StationUpdate) -> Station:
    """Saves the station's fields; the change records what moved, before → after."""
    _keeper(user)
    current = get(session=session, user=user, code=code)
    _may_keep(user, body.branch)
    _checked(session, body)
    after = _fields(body)
    before = StationFields.model_validate(
        {k: getattr(current, k) for k in StationFields.model_fields}
    ).model_dump(mode="json")
    moved = {k: {"from": before[k], "to": after[k]} for k in after if before.get(k) != after[k]}

    values = StationFields.model_validate(after).model_dump()
    return _write(session, user, code, body.version, {"edited": moved}, values)


def close(*, session: Session, user: User, code: str, body: StationClose) -> Station:
    """Closes the station: it leaves the coverage, and its record and history stay."""

    change = {"closed": {"on": body.closed_on.isoformat(), "reason": body.reason}}
    values = {"closed_on": body.closed_on, "closed_reason": body.reason}
    return _write(session, user, code, body.version, change, values)


def changes(*, session: Session, user: User, code: str) -> list[StationChange]:
    get(session=session, user=user, code=code)
    return list(
        session.exec(
            select(StationChange)
            .where(StationChange.station == code)
            .order_by(col(StationChange.id))
        ).all()
    )


def listed(*, session: Session, user: User, branch: str | None, open_only: bool) -> list[Station]:
    seen = readable_branch(user, branch)
    query = select(Station)
    if seen is not None:
        query = query.where(Station.branch == seen)
    if open_only:
        query = query.where(col(Station.closed_on).is_(None))
    return list(session.exec(query.order_by(col(Station.branch), col(Station.code))).all())


def public(session: Session, station: Station) -> StationPublic:
    return publics(session, [station])[0]


def publics(session: Session, stations: list[Station]) -> list[StationPublic]:
    """The stations as the API shows them, their divisions named (one query for all)."""
    codes = {c for s in stations for c in (s.township, s.village) if c}
    names = dict(
        session.exec(
            select(Division.code, Division.name).where(col(Division.code).in_(codes))
        ).all()
    )
    return [
        StationPublic(
            **{k: getattr(s, k) for k in StationPublic.model_fields if hasattr(s, k)},
            township_name=names.get(s.township, s.township),
            village_name=names.get(s.village) if s.village else None,
        )
        for s in stations
    ]


# --- what a station does, and how it is assessed -------------------------------------------


# How a rung of 和解 ends when the business settled it (the ladder's moves say which).
SETTLED = frozenset(
    m.rung_outcome
    for moves in MOVES.values()
    for m in moves.values()
    if m.outcome == Outcome.RECONCILED
)


def record(*, session: Session, stations: list[Station]) -> dict[str, dict[str, int]]:
    """Each station's disputes (those its unit registered, 和解 its first rung) and those
    settled there (和解成功), by station code."""
    by_unit = {s.unit: s.code for s in stations if s.unit}
    out = {s.code: {"disputes": 0, "reconciled": 0} for s in stations}
    if not by_unit:
        return out
    for unit, outcome in session.exec(
        select(MediationRung.unit, MediationRung.outcome).where(
            MediationRung.rung == Rung.RECONCILIATION, col(MediationRung.unit).in_(list(by_unit))
        )
    ).all():
        counts = out[by_unit[unit]]
        counts["disputes"] += 1
        counts["reconciled"] += outcome in SETTLED
    return out


@dataclass(frozen=True)
class Checklist:
    pass_mark: int
    items: dict[str, tuple[str, int]]  # code → (name, most points)

    @classmethod
    def of(cls, data: dict[str, Any]) -> "Checklist":
        items = {i["code"]: (i["name"], int(i["points"])) for i in data["items"]}
        return cls(int(data["pass_mark"]), items)


CHECKLIST = "station-checklist"  # its reference document (api.documents)


def checklist_of(*, session: Session, settings: Settings) -> Checklist:
    """The checklist in force: the admin's last save, else ``config/station-checklist.json``."""
    return Checklist.of(documents.content(session, CHECKLIST, settings.station_checklist_file))


def assess(
    *,
    session: Session,
    settings: Settings,
    user: User,
    code: str,
    body: AssessmentIn,
    checklist: Checklist,
) -> tuple[StationAssessment, str | None]:
    """Records an assessment: every item of the checklist scored, none above its points
    (422 naming the item); the total against the pass mark. Below it, the station's
    rectification is opened in the same transaction; its file number is returned."""
    _keeper(user)
    station = get(session=session, user=user, code=code)
    _may_keep(user, station.branch)
    unknown = sorted(set(body.scores) - set(checklist.items))
    if unknown:
        raise Invalid(
            (f"scores.{unknown[0]}", "not an item of the checklist"), code="stations.unknown_item"
        )
    for item, (name, most) in checklist.items.items():
        if item not in body.scores:
            raise Invalid((f"scores.{item}", f"{name}: not scored"), code="stations.item_missing")
        if not 0 <= body.scores[item] <= most:
            raise Invalid(
                (f"scores.{item}", f"{name}: 0 to {most} points"), code="stations.score_range"
            )
    total = sum(body.scores.values())
    done = StationAssessment(
        station=code,
        year=body.year,
        assessed_on=body.assessed_on,
        assessor=user.username,
        scores=dict(body.scores),
        total=total,
        pass_mark=checklist.pass_mark,
        passed=total >= checklist.pass_mark,
        note=body.note,
    )
    session.add(done)
    session.add(
        StationChange(
            station=code,
            by=user.username,
            change={"assessed": {"year": body.year, "total": total, "passed": done.passed}},
        )
    )
    session.flush()
    rectification = duties.open_rectification(
        session=session, settings=settings, assessment=done, branch=station.branch
    )
    try:
        session.commit()
    except IntegrityError as error:  # another assessment opened its rectification first
        session.rollback()
        raise Conflict(
            "stations.rectification_open", f"{code} is being assessed by another; try again"
        ) from error
    session.refresh(done)
    return done, rectification.case_no if rectification else None


def assessments(*, session: Session, user: User, code: str) -> list[StationAssessment]:
    get(session=session, user=user, code=code)
    return list(
        session.exec(
            select(StationAssessment)
            .where(StationAssessment.station == code)
            .order_by(col(StationAssessment.year), col(StationAssessment.id))
        ).all()
    )


def latest_assessments(
    *, session: Session, user: User, year: int, branch: str | None
) -> dict[str, StationAssessment]:
    """Each open station's latest assessment of the year (those below the pass mark are
    to be rectified)."""
    stations = listed(session=session, user=user, branch=branch, open_only=True)
    codes = [s.code for s in stations]
    out: dict[str, StationAssessment] = {}
    for a in session.exec(
        select(StationAssessment)
        .where(StationAssessment.year == year, col(StationAssessment.station).in_(codes))
        .order_by(col(StationAssessment.id))
    ).all():
        out[a.station] = a
    return out


# --- coverage --------------------------------------------------------------------------------

# 一会两站: a consumer association's branch in every township (街道), a 12315 liaison
# station and a rights service station in every community and village.
VILLAGE_KINDS = (StationType.LIAISON, StationType.SERVICE)


@dataclass
class Gap:
    """A community or village without its 一会两站 in full: what it lacks."""

    code: str
    name: str
    township: str
    lacks: list[str]


@dataclass
class BranchCoverage:
    branch: str
    name: str
    villages: int = 0
    covered: int = 0
    gaps: list[Gap] = field(default_factory=list)
    five_in: dict[str, int] = field(default_factory=dict)  # host type → open stations
    # What its stations did: the disputes they registered, and those settled by 和解.
    disputes: int = 0
    reconciled: int = 0

    @property
    def rate(self) -> float | None:
        return round(self.covered / self.villages, 4) if self.villages else None

    @property
    def five_in_missing(self) -> list[str]:
        return [h.value for h in HostType if not self.five_in.get(h.value)]


def coverage(*, session: Session, user: User, branch: str | None) -> list[BranchCoverage]:
    """Each branch's coverage by the stations open today."""
    seen = readable_branch(user, branch)
    units = session.exec(
        select(Unit.code, Unit.name).where(Unit.kind == UnitKind.BRANCH).order_by(col(Unit.code))
    ).all()
    out = {code: BranchCoverage(code, name) for code, name in units if seen in (None, code)}
    stations = session.exec(select(Station).where(col(Station.closed_on).is_(None))).all()
    associations = {s.township for s in stations if s.type == StationType.ASSOCIATION}
    done = record(session=session, stations=list(stations))
    for s in stations:
        if s.branch in out:
            out[s.branch].disputes += done[s.code]["disputes"]
            out[s.branch].reconciled += done[s.code]["reconciled"]
    at_village: dict[str, set[StationType]] = {}
    for s in stations:
        if s.village is not None and s.type in VILLAGE_KINDS:
            at_village.setdefault(s.village, set()).add(StationType(s.type))
        if s.five_in is not None and s.branch in out:
            found = out[s.branch].five_in
            found[s.five_in] = found.get(s.five_in, 0) + 1
    towns = dict(
        session.exec(
            select(Division.code, Division.name).where(Division.level == DivisionLevel.TOWNSHIP)
        ).all()
    )
    for village in session.exec(
        select(Division)
        .where(Division.level == DivisionLevel.VILLAGE, col(Division.retired_on).is_(None))
        .order_by(col(Division.code))
    ).all():
        each = out.get(village.branch or "")
        if each is None:
            continue
        each.villages += 1
        lacks = []
        if village.township_code not in associations:
            lacks.append(StationType.ASSOCIATION.value)
        lacks += [k.value for k in VILLAGE_KINDS if k not in at_village.get(village.code, set())]
        if lacks:
            township = towns.get(village.township_code or "", village.township_code or "")
            each.gaps.append(Gap(village.code, village.name, township, lacks))
        else:
            each.covered += 1
    return list(out.values())
