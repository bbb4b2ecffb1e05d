import json
from pathlib import Path

from sqlmodel import Session, select

from api.units.models import Unit, UnitKind


def load_org(*, session: Session, path: Path) -> None:
    """Seeds the units from the organisation file when the table is empty."""
    if session.exec(select(Unit).limit(1)).first() is not None:
        return
    org = json.loads(path.read_text(encoding="utf-8"))
    for raw in org["units"]:
        session.add(Unit(**raw))
    session.commit()


def get(*, session: Session, code: str) -> Unit | None:
    return session.get(Unit, code)


def list_all(*, session: Session) -> list[Unit]:
    return list(session.exec(select(Unit).order_by(Unit.kind, Unit.code)).all())


def suggest_for_district(*, session: Session, district: str | None) -> Unit | None:
    """The branch whose jurisdiction holds the respondent's district, if any."""
    if not district:
        return None
    for unit in session.exec(select(Unit).where(Unit.kind == UnitKind.BRANCH)).all():
        if district.strip() in unit.districts:
            return unit
    return None
