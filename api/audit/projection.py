"""The case as the live tables hold it now, in the shape the fold of its history gives
(``api.casefile.fold``). The two must never disagree: tests hold them together."""

from sqlmodel import Session, col, select

from api.casefile.fold import (
    CaseAsOf,
    DeadlineAsOf,
    MediationAsOf,
    SupervisionAsOf,
    TaskAsOf,
)
from api.casefile.models import Case
from api.deadlines.models import Deadline
from api.errors import NotFound
from api.mediation.models import Mediation, MediationRung
from api.supervision.models import SupervisionRecord
from api.tasks import service as tasks


def current(*, session: Session, case_no: str) -> CaseAsOf:
    case = session.exec(select(Case).where(Case.case_no == case_no)).first()
    if case is None:
        raise NotFound("case.not_found", f"case {case_no} not found")
    deadlines = session.exec(
        select(Deadline).where(Deadline.case_no == case_no).order_by(col(Deadline.id))
    ).all()
    latest = session.exec(
        select(Mediation).where(Mediation.case_no == case_no).order_by(col(Mediation.number).desc())
    ).first()
    rung = (
        session.exec(
            select(MediationRung.rung)
            .where(MediationRung.mediation_id == latest.id)
            .order_by(col(MediationRung.id).desc())
        ).first()
        if latest is not None
        else None
    )
    records = session.exec(
        select(SupervisionRecord)
        .where(SupervisionRecord.case_no == case_no)
        .order_by(col(SupervisionRecord.id))
    ).all()
    return CaseAsOf(
        case_no=case.case_no,
        kind=case.kind,
        status=case.status,
        unit=case.unit,
        overdue=case.overdue,
        open_tasks=[
            TaskAsOf(id=t.id or 0, kind=t.kind, unit=t.unit)
            for t in sorted(tasks.active(session=session, case_no=case_no), key=lambda t: t.id or 0)
        ],
        deadlines=[
            DeadlineAsOf(
                id=d.id or 0,
                name=d.name,
                due_at=d.due_at,
                state=d.state,
                met=d.met_at is not None,
                policy=d.policy,
                rungs=list(d.rungs),
            )
            for d in deadlines
        ],
        mediation=(
            MediationAsOf(
                number=latest.number,
                rung=rung or latest.start_rung,
                stage=latest.stage,
                outcome=latest.outcome,
            )
            if latest is not None
            else None
        ),
        supervision=[SupervisionAsOf(kind=r.kind, deadline=r.deadline) for r in records],
    )
