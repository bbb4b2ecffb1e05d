from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.auth import service as logins
from api.auth.models import USERNAME_LENGTH, LoginAttemptsPublic
from api.deps import CurrentUser, SessionDep, SettingsDep, require
from api.errors import ApiError
from api.security import create_access_token
from api.users.models import Role, User, UserPublic

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
