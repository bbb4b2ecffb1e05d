"""The login audit: every sign-in attempt, lockout and unlock; the login limits read it."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from api.db import UTCDateTime, utcnow

USERNAME_LENGTH = 60  # as User.username
CLIENT_LENGTH = 64  # an IPv6 address with a zone, or a host name


class LoginOutcome(StrEnum):
    SUCCESS = "success"
    # The failures, counted by the limits (an unknown name by the name tried).
    WRONG_PASSWORD = "wrong_password"
    UNKNOWN_USER = "unknown_user"
    INACTIVE = "inactive"  # the account is disabled (the password is not told)
    # Attempts refused before the password was verified.
    LOCKED = "locked"  # the username is locked
    TOO_MANY_ATTEMPTS = "too_many_attempts"  # the client address is over its limit
    # Events: a lockout begins (of a username, of a client address), an admin unlocks.
    LOCKOUT = "lockout"
    CLIENT_LOCKOUT = "client_lockout"
    UNLOCKED = "unlocked"


FAILURES = (LoginOutcome.WRONG_PASSWORD, LoginOutcome.UNKNOWN_USER, LoginOutcome.INACTIVE)


class LoginAttemptBase(SQLModel):
    at: datetime = Field(sa_type=UTCDateTime, default_factory=utcnow, index=True)
    # The name tried (truncated to the column), whether or not such a user exists.
    username: str = Field(max_length=USERNAME_LENGTH)
    # ``request.client.host``; None when the server does not know it.
    client: str | None = Field(default=None, max_length=CLIENT_LENGTH)
    outcome: LoginOutcome = Field(sa_type=String(20))
    # Who acted, for an unlock (the admin); None for the attempts themselves.
    by: str | None = Field(default=None, max_length=USERNAME_LENGTH)


class LoginAttempt(LoginAttemptBase, table=True):
    """One row per attempt or event. The password tried is never stored."""

    # What the limit queries filter on: a name's (or an address's) rows of some outcomes
    # since some time. The outcome sits before ``at`` so that the refused attempts a locked
    # name collects are not walked through on every later attempt.
    __table_args__ = (
        Index("ix_loginattempt_username_outcome_at", "username", "outcome", "at"),
        Index("ix_loginattempt_client_outcome_at", "client", "outcome", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)


class LoginAttemptPublic(LoginAttemptBase):
    id: int


class LoginAttemptsPublic(SQLModel):
    data: list[LoginAttemptPublic]
    count: int


class WebSession(SQLModel, table=True):
    """A sign-in to the web workplace: the session cookie holds a random token, and only
    its SHA-256 is kept here, so whoever reads the table cannot sign in as anyone.
    Logging out (or an admin disabling the user) ends it at once."""

    token_hash: str = Field(primary_key=True, max_length=64)
    username: str = Field(max_length=USERNAME_LENGTH, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
