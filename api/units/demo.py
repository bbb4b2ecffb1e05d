"""The demo users of the embedded default: one per role at the centre, a handler and a head
for each branch, and the staff of each station. Never in production."""

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from api.units.models import Unit, UnitKind
from api.users import service as users
from api.users.models import CITY_UNIT, Role, User

DEMO_PASSWORD = "demo"


def seed_demo_users(*, session: Session) -> None:
    """The demo users (docs/api.md), password ``demo``; the embedded default only."""
    wanted = [
        ("operator", Role.OPERATOR, CITY_UNIT),
        ("supervisor", Role.SUPERVISOR, CITY_UNIT),
        ("auditor", Role.AUDITOR, CITY_UNIT),
        ("admin", Role.ADMIN, CITY_UNIT),
    ]
    branches = session.exec(select(Unit).where(Unit.kind == UnitKind.BRANCH)).all()
    wanted += [(b.code, Role.HANDLER, b.code) for b in branches]
    # A branch head (分局负责人) who supervises their own unit only.
    wanted += [(f"{b.code}-supervisor", Role.SUPERVISOR, b.code) for b in branches]
    # The staff of each consumer-rights station (维权服务站) and ODR enterprise.
    stations = session.exec(select(Unit).where(Unit.kind == UnitKind.STATION)).all()
    wanted += [(s.code, Role.STATION, s.code) for s in stations]
    missing = [w for w in wanted if users.get_by_username(session=session, username=w[0]) is None]
    if not missing:
        return
    # One hash of the shared demo password serves every demo user: argon2 is slow on
    # purpose (about 0.1 s a hash), and a fresh database seeds twenty of them.
    demo_hash = users.hasher.hash(DEMO_PASSWORD)
    for username, role, unit in missing:
        session.add(User(username=username, password_hash=demo_hash, role=role, unit=unit))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # another process seeded them first
