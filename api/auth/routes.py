from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.auth.security import create_access_token
from api.deps import CurrentUser, SessionDep, SettingsDep
from api.users import service as users
from api.users.models import UserPublic

router = APIRouter(tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


@router.post("/auth/token", response_model=Token)
def login(
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> Token:
    """Exchanges a username and password for a bearer token."""
    user = users.authenticate(session=session, username=form.username, password=form.password)
    if user is None:
        raise HTTPException(401, "wrong username or password", {"WWW-Authenticate": "Bearer"})
    return Token(access_token=create_access_token(settings=settings, username=user.username))


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    """The signed-in user: username, role and unit."""
    return UserPublic(username=user.username, role=user.role, unit=user.unit)
