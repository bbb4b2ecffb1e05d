"""The admin's work on users (用户管理): create one, change a role or unit, disable or
enable one, reset a password. Every change is recorded (``UserChange``); a password never
is. A user disabled, or whose password is reset, is signed out of the workplace at once.

Where a user may sit follows the organisation: the centre's staff (operators, auditors,
admins) sit at the city centre, a handler at a branch, a supervisor at the centre or a
branch, a station's staff at their station."""

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api.auth import sessions
from api.config import Settings
from api.db import utcnow
from api.errors import Conflict, Invalid, NotFound
from api.units import service as units
from api.units.models import UnitKind
from api.users import service as users
from api.users.models import (
    PasswordReset,
    Role,
    User,
    UserChange,
    UserCreate,
    UserUpdate,
)

# The kinds of unit each role may belong to.
PLACES: dict[Role, frozenset[UnitKind]] = {
    Role.OPERATOR: frozenset({UnitKind.CENTRE}),
    Role.AUDITOR: frozenset({UnitKind.CENTRE}),
    Role.ADMIN: frozenset({UnitKind.CENTRE}),
    Role.SUPERVISOR: frozenset({UnitKind.CENTRE, UnitKind.BRANCH}),
    Role.HANDLER: frozenset({UnitKind.BRANCH}),
    Role.STATION: frozenset({UnitKind.STATION}),
}


def list_all(*, session: Session, role: Role | None = None, unit: str | None = None) -> list[User]:
    query = select(User).order_by(col(User.unit), col(User.username))
    if role is not None:
        query = query.where(User.role == role)
    if unit is not None:
        query = query.where(User.unit == unit)
    return list(session.exec(query).all())


def get(*, session: Session, username: str) -> User:
    user = users.get_by_username(session=session, username=username)
    if user is None:
        raise NotFound("user.not_found", f"user {username} not found")
    return user


def changes(*, session: Session, username: str) -> list[UserChange]:
    """The recorded changes of a user, newest first."""
    get(session=session, username=username)
    return list(
        session.exec(
            select(UserChange)
            .where(UserChange.username == username)
            .order_by(col(UserChange.id).desc())
        ).all()
    )


def _check_place(session: Session, role: Role, unit: str) -> None:
    found = units.get(session=session, code=unit)
    if found is None:
        raise Invalid(("unit", f"unknown unit {unit}"), code="users.unknown_unit")
    if UnitKind(found.kind) not in PLACES[role]:
        raise Invalid(
            ("unit", f"a {role.value} cannot belong to the {found.kind} unit {unit}"),
            code="users.wrong_unit",
        )


def _check_password(settings: Settings, password: str) -> None:
    if len(password) < settings.password_min_length:
        raise Invalid(
            ("password", f"the password needs {settings.password_min_length} characters or more"),
            code="users.weak_password",
        )


def _record(session: Session, username: str, by: str, change: dict[str, Any]) -> None:
    session.add(UserChange(username=username, by=by, change=change))


def create(*, session: Session, settings: Settings, body: UserCreate, by: User) -> User:
    _check_place(session, body.role, body.unit)
    _check_password(settings, body.password)
    if users.get_by_username(session=session, username=body.username) is not None:
        raise Conflict("users.taken", f"the username {body.username} is taken")
    user = User(
        username=body.username,
        password_hash=users.hasher.hash(body.password),
        role=body.role,
        unit=body.unit,
    )
    session.add(user)
    _record(
        session, body.username, by.username, {"created": {"role": body.role, "unit": body.unit}}
    )
    try:
        session.commit()
    except IntegrityError as error:  # the same name created by another request meanwhile
        session.rollback()
        raise Conflict("users.taken", f"the username {body.username} is taken") from error
    session.refresh(user)
    return user


def _active_admins(session: Session) -> int:
    return len(session.exec(select(User.id).where(User.role == Role.ADMIN, User.active)).all())


def update(*, session: Session, username: str, body: UserUpdate, by: User) -> User:
    """Changes what ``body`` gives. An admin cannot disable themselves or take away their
    own admin role, so that someone is always left to manage the users."""
    # One change of a user at a time: the row is read for update where the database can.
    user = session.exec(select(User).where(User.username == username).with_for_update()).first()
    if user is None:
        raise NotFound("user.not_found", f"user {username} not found")
    role = body.role or Role(user.role)
    unit = body.unit or user.unit
    if (role, unit) != (user.role, user.unit):
        _check_place(session, role, unit)
    losing_admin = (
        user.role == Role.ADMIN and user.active and (role != Role.ADMIN or body.active is False)
    )
    if losing_admin and user.username == by.username:
        raise Conflict("users.self", "an admin cannot disable or demote themselves")
    if losing_admin and _active_admins(session) <= 1:
        raise Conflict("users.last_admin", "the last active admin must stay")
    change: dict[str, Any] = {}
    for key, new in (("role", role), ("unit", unit), ("active", body.active)):
        old = getattr(user, key)
        if new is not None and new != old:
            change[key] = [old, new]
            setattr(user, key, new)
    if not change:
        return user
    session.add(user)
    _record(session, username, by.username, change)
    if "active" in change and not user.active:
        sessions.end_all(session=session, username=username)
    session.commit()
    session.refresh(user)
    return user


def reset_password(
    *, session: Session, settings: Settings, username: str, body: PasswordReset, by: User
) -> None:
    """Sets a new password; the user's workplace sessions end, and they sign in with it."""
    user = get(session=session, username=username)
    _check_password(settings, body.password)
    user.password_hash = users.hasher.hash(body.password)
    user.tokens_valid_after = utcnow()  # the bearer tokens issued before stop working
    session.add(user)
    _record(session, username, by.username, {"password": "reset"})
    sessions.end_all(session=session, username=username)
    session.commit()
