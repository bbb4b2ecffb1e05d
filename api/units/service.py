import json
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from api.units.models import Unit, UnitKind


def load_org(*, session: Session, path: Path) -> None:
    """Adds the units of the organisation file that the table does not have yet.

    A unit already in the table is left as it is (an admin may have changed it); a unit
    new to the file (a station opened since) is added.
    """
    org = json.loads(path.read_text(encoding="utf-8"))
    known = set(session.exec(select(Unit.code)).all())
    added = [Unit(**raw) for raw in org["units"] if raw["code"] not in known]
    if not added:
        return
    session.add_all(added)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # another process added them first


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
