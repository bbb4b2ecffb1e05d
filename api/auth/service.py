"""Signing in with login limits, the login audit, and an admin's unlock.

The rules (the figures are ``Settings.login_*``):

- A username with ``login_max_failures`` failed logins (wrong password, unknown user,
  inactive account) within ``login_window_minutes`` is locked for
  ``login_lockout_minutes``: every attempt answers 429 ``auth.locked`` until then, the right
  password too. An unknown name is counted by the name tried, like a real one, so a lockout
  does not tell which names exist.
- A client address with ``login_max_failures_per_client`` failures within the window, over
  any names, is refused as long (429 ``auth.too_many_attempts``).
- A username's count starts afresh after a success, an admin's unlock or the end of its
  lockout; an address's after the end of its lockout only (a success must not reset it,
  or one valid account would let its holder probe every other name from that address).
- The limits are checked before the password is verified: a refused attempt costs no
  argon2 (that is what protects the API from a burst), and is recorded as refused.

Every attempt and event is a row of ``LoginAttempt``; the password tried is never stored.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from api.auth.models import (
    CLIENT_LENGTH,
    FAILURES,
    USERNAME_LENGTH,
    LoginAttempt,
    LoginAttemptPublic,
    LoginAttemptsPublic,
    LoginOutcome,
)
from api.config import Settings
from api.db import utcnow
from api.errors import NotFound
from api.users import service as users
from api.users.models import User

# The rows after which a username's failures are counted afresh.
_USERNAME_RESETS = (LoginOutcome.SUCCESS, LoginOutcome.UNLOCKED, LoginOutcome.LOCKOUT)


@dataclass(frozen=True)
class Locked:
    """Why an attempt was refused before its password was verified."""

    code: str  # auth.locked | auth.too_many_attempts
    retry_after: int  # whole seconds, at least 1
    detail: str
    outcome: LoginOutcome  # as the refused attempt is recorded


def sign_in(
    *, session: Session, settings: Settings, username: str, password: str, client: str | None
) -> User | Locked | None:
    """The user for a right password; a ``Locked`` when a limit refuses the attempt
    (without verifying the password); None for a failure. Each is recorded."""
    name = username[:USERNAME_LENGTH]
    address = client[:CLIENT_LENGTH] if client else None
    now = utcnow()

    locked = _username_lock(session=session, settings=settings, name=name, now=now)
    if locked is None and address is not None:
        locked = _client_lock(session=session, settings=settings, address=address, now=now)
    if locked is not None:
        _record(session, name=name, client=address, outcome=locked.outcome, at=now)
        session.commit()
        return locked

    # Not locked: the password is verified (argon2, about 0.1-0.3 s), then the outcome is
    # recorded and the counts are taken again. Counting then inserting is not atomic: a
    # handful of bad logins for one name (or from one address) in flight at the same time
    # all pass the check above before any of them is recorded, so the limit may be
    # overshot by the number in flight (at most the API's worker threads). That stays
    # bounded: each attempt is recorded (and committed) before it answers, so every attempt
    # that starts later sees it, and the count is compared with ``>=``, so an overshoot
    # still locks. Accepted rather than serialising every login on a database lock.
    user = users.authenticate(session=session, username=username, password=password)
    at = utcnow()
    if user is not None:
        _record(session, name=name, client=address, outcome=LoginOutcome.SUCCESS, at=at)
        session.commit()
        return user
    known = users.get_by_username(session=session, username=username)
    if known is None:
        outcome = LoginOutcome.UNKNOWN_USER
    elif not known.active:
        outcome = LoginOutcome.INACTIVE
    else:
        outcome = LoginOutcome.WRONG_PASSWORD
    _record(session, name=name, client=address, outcome=outcome, at=at)
    session.flush()
    if _username_failures(session=session, settings=settings, name=name, now=at) >= (
        settings.login_max_failures
    ):
        _record(session, name=name, client=address, outcome=LoginOutcome.LOCKOUT, at=at)
    if address is not None and _client_failures(
        session=session, settings=settings, address=address, now=at
    ) >= (settings.login_max_failures_per_client):
        _record(session, name=name, client=address, outcome=LoginOutcome.CLIENT_LOCKOUT, at=at)
    session.commit()
    return None


def unlock(*, session: Session, settings: Settings, username: str, by: str) -> bool:
    """Ends the user's lockout and starts their count afresh (also when they were not
    locked); whether they were locked. 404 for a username that is no user."""
    if users.get_by_username(session=session, username=username) is None:
        raise NotFound("user.not_found", f"user {username} not found")
    name = username[:USERNAME_LENGTH]
    now = utcnow()
    was_locked = _username_lock(session=session, settings=settings, name=name, now=now) is not None
    _record(session, name=name, client=None, outcome=LoginOutcome.UNLOCKED, at=now, by=by)
    session.commit()
    return was_locked


def attempts(
    *, session: Session, username: str | None, limit: int, offset: int
) -> LoginAttemptsPublic:
    """The audit, newest first; ``count`` is every row that matches."""
    where = [] if username is None else [col(LoginAttempt.username) == username]
    count = session.exec(select(func.count()).select_from(LoginAttempt).where(*where)).one()
    rows = session.exec(
        select(LoginAttempt)
        .where(*where)
        .order_by(col(LoginAttempt.at).desc(), col(LoginAttempt.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return LoginAttemptsPublic(
        data=[LoginAttemptPublic.model_validate(r, from_attributes=True) for r in rows],
        count=count,
    )


def _record(
    session: Session,
    *,
    name: str,
    client: str | None,
    outcome: LoginOutcome,
    at: datetime,
    by: str | None = None,
) -> None:
    session.add(LoginAttempt(at=at, username=name, client=client, outcome=outcome, by=by))


def _horizon(settings: Settings, now: datetime) -> datetime:
    """Rows older than this decide nothing: past the window and past any lockout."""
    minutes = max(settings.login_window_minutes, settings.login_lockout_minutes)
    return now - timedelta(minutes=minutes)


def _last_reset(*, session: Session, name: str, since: datetime) -> LoginAttempt | None:
    query = select(LoginAttempt).where(
        col(LoginAttempt.username) == name,
        col(LoginAttempt.outcome).in_(_USERNAME_RESETS),
        col(LoginAttempt.at) > since,
    )
    return session.exec(query.order_by(col(LoginAttempt.at).desc()).limit(1)).first()


def _last_client_lockout(*, session: Session, address: str, since: datetime) -> LoginAttempt | None:
    query = select(LoginAttempt).where(
        col(LoginAttempt.client) == address,
        col(LoginAttempt.outcome) == LoginOutcome.CLIENT_LOCKOUT,
        col(LoginAttempt.at) > since,
    )
    return session.exec(query.order_by(col(LoginAttempt.at).desc()).limit(1)).first()


def _username_lock(
    *, session: Session, settings: Settings, name: str, now: datetime
) -> Locked | None:
    last = _last_reset(session=session, name=name, since=_horizon(settings, now))
    if last is None or last.outcome != LoginOutcome.LOCKOUT:
        return None
    seconds = _seconds_left(settings, last.at, now)
    if seconds is None:
        return None
    return Locked(
        code="auth.locked",
        retry_after=seconds,
        detail=(
            f"this account is locked after {settings.login_max_failures} failed logins: "
            f"try again in {_for_how_long(seconds)}, or ask an administrator to unlock it"
        ),
        outcome=LoginOutcome.LOCKED,
    )


def _client_lock(
    *, session: Session, settings: Settings, address: str, now: datetime
) -> Locked | None:
    last = _last_client_lockout(session=session, address=address, since=_horizon(settings, now))
    seconds = None if last is None else _seconds_left(settings, last.at, now)
    if seconds is None:
        return None
    return Locked(
        code="auth.too_many_attempts",
        retry_after=seconds,
        detail=(
            f"too many failed logins from this address: it is locked, "
            f"try again in {_for_how_long(seconds)}"
        ),
        outcome=LoginOutcome.TOO_MANY_ATTEMPTS,
    )


def _seconds_left(settings: Settings, locked_at: datetime, now: datetime) -> int | None:
    """Whole seconds (at least 1) until a lockout begun at ``locked_at`` ends; None if over."""
    left = (locked_at + timedelta(minutes=settings.login_lockout_minutes) - now).total_seconds()
    return max(1, math.ceil(left)) if left > 0 else None


def _username_failures(*, session: Session, settings: Settings, name: str, now: datetime) -> int:
    since = now - timedelta(minutes=settings.login_window_minutes)
    last = _last_reset(session=session, name=name, since=since)
    if last is not None:
        since = last.at
    query = select(func.count()).where(
        col(LoginAttempt.username) == name,
        col(LoginAttempt.outcome).in_(FAILURES),
        col(LoginAttempt.at) > since,
    )
    return session.exec(query).one()


def _client_failures(*, session: Session, settings: Settings, address: str, now: datetime) -> int:
    since = now - timedelta(minutes=settings.login_window_minutes)
    last = _last_client_lockout(session=session, address=address, since=since)
    if last is not None:
        since = last.at
    query = select(func.count()).where(
        col(LoginAttempt.client) == address,
        col(LoginAttempt.outcome).in_(FAILURES),
        col(LoginAttempt.at) > since,
    )
    return session.exec(query).one()


def _for_how_long(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
