"""The web workplace's sign-in: a session cookie, its CSRF token, and logout.

The cookie holds a random token (HttpOnly, SameSite=Lax, Secure in production); the
database keeps only its SHA-256 (``WebSession``). A form's CSRF token is an HMAC of the
session's token under the secret key: it changes with each sign-in, and a page of another
site can neither read it nor make it. The JSON API keeps its bearer tokens and never reads
the cookie, so a cookie alone can change nothing through it.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlmodel import Session, col, select

from api.auth.models import WebSession
from api.config import Settings
from api.db import utcnow
from api.users import service as users
from api.users.models import User

COOKIE = "weiquan_session"
CSRF_FIELD = "csrf_token"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(*, session: Session, settings: Settings, user: User) -> str:
    """A new session for the user; the token goes into the cookie, never into the table."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        WebSession(
            token_hash=_hash(token),
            username=user.username,
            created_at=now,
            expires_at=now + timedelta(minutes=settings.session_ttl_minutes),
        )
    )
    session.commit()
    return token


def user_of(*, session: Session, token: str | None) -> User | None:
    """The active user of a live session, or None (unknown, ended, expired, disabled)."""
    if not token or len(token) > 100:
        return None
    row = session.get(WebSession, _hash(token))
    if row is None or row.ended_at is not None or row.expires_at <= utcnow():
        return None
    user = users.get_by_username(session=session, username=row.username)
    if user is None or not user.active:
        return None
    return user


def end(*, session: Session, token: str | None) -> None:
    """Logs out: the session is ended at once (its cookie no longer signs anyone in)."""
    if not token or len(token) > 100:
        return
    row = session.get(WebSession, _hash(token))
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        session.add(row)
        session.commit()


def csrf_token(*, settings: Settings, token: str) -> str:
    """The CSRF token every form of this session carries."""
    return hmac.new(settings.secret_key.encode(), b"csrf:" + token.encode(), "sha256").hexdigest()


def csrf_ok(*, settings: Settings, token: str | None, sent: str | None) -> bool:
    if not token or not sent:
        return False
    return hmac.compare_digest(csrf_token(settings=settings, token=token), sent)


def new_login_token() -> str:
    """The login form's own CSRF token (a cookie and a hidden field that must agree)."""
    return secrets.token_urlsafe(24)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def end_all(*, session: Session, username: str) -> None:
    """Ends every live session of a user (disabled, or their password reset), in the
    caller's transaction."""
    now = utcnow()
    for row in session.exec(
        select(WebSession).where(
            WebSession.username == username, col(WebSession.ended_at).is_(None)
        )
    ).all():
        row.ended_at = now
        session.add(row)
