"""Reading the ladder, and recording what the branch gathers on the way: the sessions it
holds (调解记录) and the parties' consents (当事人同意) that a move up the ladder needs.

Sessions and consents are evidence, not steps: they change no task or deadline, so they
are written here directly, with an event in the case's history.
"""

import json
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from api.casefile import history
from api.casefile.models import Case
from api.casefile.parties import mask, sees_parties
from api.db import utcnow
from api.errors import Conflict, Invalid, NotAllowed
from api.mediation.ladder import LEVEL, RUNG_OF, Rung, Stage
from api.mediation.models import (
    Committee,
    ConsentCreate,
    ConsentPublic,
    LadderDetail,
    LadderPublic,
    Mediation,
    MediationConsent,
    MediationRung,
    MediationSession,
    MediationState,
    RungPublic,
    SessionCreate,
    SessionPublic,
)
from api.users.models import Role, User
from api.workdays import ZONE, local_date


@lru_cache
def committee_list(path: Path) -> tuple[Committee, ...]:
    """The people's mediation committees of the configured file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return tuple(Committee.model_validate(c) for c in data["committees"])


def committees(path: Path) -> dict[str, str]:
    """Code → name of the people's mediation committees."""
    return {c.code: c.name for c in committee_list(path)}


def mediations(*, session: Session, case_no: str) -> list[Mediation]:
    return list(
        session.exec(
            select(Mediation).where(Mediation.case_no == case_no).order_by(col(Mediation.number))
        ).all()
    )


def running(*, session: Session, case_no: str) -> Mediation | None:
    """The case's mediation that is still on the ladder, if any."""
    return session.exec(
        select(Mediation).where(
            Mediation.case_no == case_no, Mediation.state != MediationState.ENDED
        )
    ).first()


def ladder(*, session: Session, case_no: str) -> LadderPublic | None:
    """Where the ladder stands and what each rung gave, across the case's mediations
    (a station's reconciliation, then the branch's mediation, then a redo)."""
    runs = mediations(session=session, case_no=case_no)
    if not runs:
        return None
    numbers = {m.id: m.number for m in runs}
    records = session.exec(
        select(MediationRung)
        .where(MediationRung.case_no == case_no)
        .order_by(col(MediationRung.id))
    ).all()
    latest = runs[-1]
    stage = Stage(latest.stage)
    rung: Rung | None = RUNG_OF.get(stage)
    return LadderPublic(
        number=latest.number,
        state=latest.state,
        current_rung=rung,
        current_level=LEVEL[rung] if rung else None,
        stage=stage,
        unit=latest.unit,
        outcome=latest.outcome,
        rungs=[
            RungPublic(
                number=numbers[r.mediation_id],
                rung=r.rung,
                level=LEVEL[Rung(r.rung)],
                via=r.via,
                unit=r.unit,
                entered_at=r.entered_at.astimezone(ZONE),
                outcome=r.outcome,
                ended_at=r.ended_at.astimezone(ZONE) if r.ended_at else None,
                details=r.details,
            )
            for r in records
        ],
    )


def detail(*, session: Session, case_no: str, user: User) -> LadderDetail | None:
    summary = ladder(session=session, case_no=case_no)
    if summary is None:
        return None
    numbers = {m.id: m.number for m in mediations(session=session, case_no=case_no)}
    named = sees_parties(user)
    sessions = session.exec(
        select(MediationSession)
        .where(MediationSession.case_no == case_no)
        .order_by(col(MediationSession.held_on), col(MediationSession.id))
    ).all()
    consents = session.exec(
        select(MediationConsent)
        .where(MediationConsent.case_no == case_no)
        .order_by(col(MediationConsent.id))
    ).all()
    return LadderDetail(
        **summary.model_dump(),
        sessions=[_session_public(s, numbers[s.mediation_id], named) for s in sessions],
        consents=[_consent_public(c, numbers[c.mediation_id]) for c in consents],
    )


def _session_public(row: MediationSession, number: int, named: bool) -> SessionPublic:
    return SessionPublic(
        id=row.id or 0,
        number=number,
        held_on=row.held_on,
        place=row.place,
        attendees=row.attendees if named else [mask(a) or {} for a in row.attendees],
        minutes=row.minutes,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at.astimezone(ZONE),
    )


def _consent_public(row: MediationConsent, number: int) -> ConsentPublic:
    return ConsentPublic(
        id=row.id or 0,
        number=number,
        purpose=row.purpose,
        party=row.party,
        given=row.given,
        given_on=row.given_on,
        form=row.form,
        note=row.note,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at.astimezone(ZONE),
    )


def _mediating(*, session: Session, case: Case, user: User) -> Mediation:
    """The running mediation, if this user is a handler of the unit that mediates it."""
    mediation = running(session=session, case_no=case.case_no)
    if mediation is None:
        raise Conflict("mediation.not_running", f"case {case.case_no} is not in mediation")
    if user.role != Role.HANDLER or user.unit != mediation.unit:
        raise NotAllowed(
            "mediation.not_yours",
            f"the mediation of {case.case_no} is for the handlers of {mediation.unit}",
        )
    return mediation


def _field(field: str, message: str) -> Invalid:
    return Invalid((field, message))


def _not_later_than_today(field: str, day: date) -> None:
    if day > local_date(utcnow()):
        raise _field(field, f"{field} may not be in the future")


def _record(
    *,
    session: Session,
    case: Case,
    user: User,
    row: MediationSession | MediationConsent,
    event: str,
    data: dict[str, Any],
) -> None:
    """Stores a piece of evidence and its event in the case's history, in one commit."""
    # The history's sequence is per case: one writer at a time (PostgreSQL; SQLite
    # serialises writers itself).
    session.exec(select(Case.id).where(Case.case_no == case.case_no).with_for_update()).first()
    session.add(row)
    session.flush()
    history.append(
        session=session,
        case_no=case.case_no,
        actor=user.username,
        type=event,
        data={"id": row.id, **data},
    )
    session.commit()


def record_session(
    *, session: Session, case: Case, user: User, body: SessionCreate
) -> SessionPublic:
    """调解记录: a session the branch held, while it mediates (rung 1)."""
    mediation = _mediating(session=session, case=case, user=user)
    if mediation.stage != Stage.MEDIATING:
        raise Conflict(
            "mediation.not_mediating",
            f"sessions are recorded during administrative mediation, not {mediation.stage}",
        )
    _not_later_than_today("held_on", body.held_on)
    if body.held_on < local_date(mediation.started_at):
        raise _field("held_on", "held_on is before this mediation began")
    row = MediationSession(
        mediation_id=mediation.id or 0,
        case_no=case.case_no,
        held_on=body.held_on,
        place=body.place,
        attendees=[a.model_dump() for a in body.attendees],
        minutes=body.minutes,
        recorded_by=user.username,
    )
    _record(
        session=session,
        case=case,
        user=user,
        row=row,
        event="mediation_session",
        # How many attended, not who: names stay on the session row.
        data={
            "number": mediation.number,
            "held_on": body.held_on.isoformat(),
            "attendees": len(body.attendees),
        },
    )
    return _session_public(row, mediation.number, True)


def record_consent(
    *, session: Session, case: Case, user: User, body: ConsentCreate
) -> ConsentPublic:
    """A party's consent to (or refusal of) people's mediation or a joint application for
    judicial confirmation, as the branch took it down."""
    mediation = _mediating(session=session, case=case, user=user)
    _not_later_than_today("given_on", body.given_on)
    if body.given_on < local_date(mediation.started_at):
        raise _field("given_on", "given_on is before this mediation began")
    row = MediationConsent(
        mediation_id=mediation.id or 0,
        case_no=case.case_no,
        purpose=body.purpose,
        party=body.party,
        given=body.given,
        given_on=body.given_on,
        form=body.form,
        note=body.note,
        recorded_by=user.username,
    )
    _record(
        session=session,
        case=case,
        user=user,
        row=row,
        event="consent_recorded" if body.given else "consent_refused",
        data={
            "number": mediation.number,
            "purpose": body.purpose,
            "party": body.party,
            "given_on": body.given_on.isoformat(),
            "form": body.form,
        },
    )
    return _consent_public(row, mediation.number)
