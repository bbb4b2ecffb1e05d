from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.auth import accounts
from api.auth import service as logins
from api.auth.models import USERNAME_LENGTH, LoginAttemptsPublic
from api.deps import CurrentUser, SessionDep, SettingsDep, require
from api.errors import ApiError
from api.security import create_access_token
from api.users.models import (
    PasswordReset,
    Role,
    User,
    UserAdminPublic,
    UserChangePublic,
    UserChangesPublic,
    UserCreate,
    UserPublic,
    UsersPublic,
    UserUpdate,
)
from api.workdays import ZONE

router = APIRouter(tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class LockedPublic(BaseModel):
    detail: str
    code: str  # auth.locked (the username) | auth.too_many_attempts (the client address)


class UnlockedPublic(BaseModel):
    username: str
    locked: bool = False
    was_locked: bool


@router.post(
    "/auth/token",
    response_model=Token,
    responses={
        401: {"description": "wrong username or password"},
        429: {
            "model": LockedPublic,
            "description": "too many failed logins: the username or the client address is "
            "locked; Retry-After gives the seconds left",
        },
    },
)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Any:
    """Exchanges a username and password for a bearer token, within the login limits."""
    outcome = logins.sign_in(
        session=session,
        settings=settings,
        username=form.username,
        password=form.password,
        client=request.client.host if request.client else None,
    )
    if isinstance(outcome, logins.Locked):
        return JSONResponse(
            LockedPublic(detail=outcome.detail, code=outcome.code).model_dump(),
            status_code=429,
            headers={"Retry-After": str(outcome.retry_after)},
        )
    if outcome is None:
        raise ApiError(
            401, "auth.wrong_password", "wrong username or password", {"WWW-Authenticate": "Bearer"}
        )
    return Token(access_token=create_access_token(settings=settings, username=outcome.username))


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    """The signed-in user: username, role and unit."""
    return UserPublic(username=user.username, role=user.role, unit=user.unit)


@router.get(
    "/auth/logins",
    response_model=LoginAttemptsPublic,
    dependencies=[require(Role.ADMIN, Role.AUDITOR)],
)
def list_logins(
    session: SessionDep,
    username: Annotated[str | None, Query(max_length=USERNAME_LENGTH)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> LoginAttemptsPublic:
    """The login audit, newest first: attempts (success, wrong_password, unknown_user,
    inactive, and the refused locked / too_many_attempts), lockouts and unlocks."""
    return logins.attempts(session=session, username=username, limit=limit, offset=offset)


@router.post(
    "/users/{username}/unlock",
    response_model=UnlockedPublic,
    tags=["users"],
    responses={404: {"description": "no such user"}},
)
def unlock_user(
    username: str,
    session: SessionDep,
    settings: SettingsDep,
    admin: Annotated[User, require(Role.ADMIN)],
) -> UnlockedPublic:
    """Ends a user's login lockout; they can sign in at once (their count starts afresh)."""
    was_locked = logins.unlock(
        session=session, settings=settings, username=username, by=admin.username
    )
    return UnlockedPublic(username=username, was_locked=was_locked)


# --- the admin's users (用户管理) ---------------------------------------------------------


def _user_public(user: User) -> UserAdminPublic:
    return UserAdminPublic(
        username=user.username, role=user.role, unit=user.unit, active=user.active
    )


@router.get(
    "/users",
    response_model=UsersPublic,
    tags=["users"],
    dependencies=[require(Role.ADMIN, Role.AUDITOR)],
)
def list_users(
    session: SessionDep,
    role: Role | None = None,
    unit: Annotated[str | None, Query(max_length=40)] = None,
) -> UsersPublic:
    """The users, by unit then username; by role or unit when asked."""
    found = accounts.list_all(session=session, role=role, unit=unit)
    return UsersPublic(data=[_user_public(u) for u in found], count=len(found))


@router.post(
    "/users",
    response_model=UserAdminPublic,
    status_code=201,
    tags=["users"],
    responses={409: {"description": "users.taken: the username is taken"}},
)
def create_user(
    body: UserCreate,
    session: SessionDep,
    settings: SettingsDep,
    admin: Annotated[User, require(Role.ADMIN)],
) -> UserAdminPublic:
    """Creates a user (admin). The role decides the units it may belong to (422
    ``users.wrong_unit``); the password has ``WEIQUAN_PASSWORD_MIN_LENGTH`` characters or
    more (422 ``users.weak_password``)."""
    return _user_public(accounts.create(session=session, settings=settings, body=body, by=admin))


@router.patch(
    "/users/{username}",
    response_model=UserAdminPublic,
    tags=["users"],
    responses={
        404: {"description": "no such user"},
        409: {"description": "users.self or users.last_admin: someone must keep the users"},
    },
)
def update_user(
    username: str,
    body: UserUpdate,
    session: SessionDep,
    admin: Annotated[User, require(Role.ADMIN)],
) -> UserAdminPublic:
    """Changes a user's role, unit, or whether they may sign in (admin). A disabled user
    is signed out at once, and their bearer tokens stop working."""
    return _user_public(accounts.update(session=session, username=username, body=body, by=admin))


@router.post(
    "/users/{username}/password",
    status_code=204,
    tags=["users"],
    responses={404: {"description": "no such user"}},
)
def reset_password(
    username: str,
    body: PasswordReset,
    session: SessionDep,
    settings: SettingsDep,
    admin: Annotated[User, require(Role.ADMIN)],
) -> None:
    """Sets a new password for a user (admin); their workplace sessions end."""
    accounts.reset_password(
        session=session, settings=settings, username=username, body=body, by=admin
    )


@router.get(
    "/users/{username}/changes",
    response_model=UserChangesPublic,
    tags=["users"],
    dependencies=[require(Role.ADMIN, Role.AUDITOR)],
)
def list_user_changes(username: str, session: SessionDep) -> UserChangesPublic:
    """What admins changed about a user, newest first (never a password)."""
    found = accounts.changes(session=session, username=username)
    data = [
        UserChangePublic(username=c.username, at=c.at.astimezone(ZONE), by=c.by, change=c.change)
        for c in found
    ]
    return UserChangesPublic(data=data, count=len(data))
