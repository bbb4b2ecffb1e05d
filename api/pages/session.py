"""Who is signed in to the workplace, and the CSRF check of every form it posts."""

from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from api.auth import sessions
from api.config import Settings
from api.errors import NotAllowed
from api.users.models import User


class SignInRequired(Exception):
    """No live session: the page answers with the login page, coming back afterwards."""

    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


def page_user(request: Request) -> User:
    """The session cookie's user (a plain ``def``: it runs in the threadpool)."""
    token = request.cookies.get(sessions.COOKIE)
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        user = sessions.user_of(session=session, token=token)
    if user is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(back if request.method == "GET" else "/inbox")
    return user


PageUser = Annotated[User, Depends(page_user)]


def csrf(request: Request) -> str:
    """The CSRF token of this session's forms ("" when signed out)."""
    token = request.cookies.get(sessions.COOKIE)
    settings: Settings = request.app.state.settings
    return sessions.csrf_token(settings=settings, token=token) if token else ""


async def posted(request: Request) -> dict[str, str]:
    """The form's fields, once its CSRF token is checked (403 without the right one)."""
    form = await request.form()
    settings: Settings = request.app.state.settings
    sent = form.get(sessions.CSRF_FIELD)
    if not sessions.csrf_ok(
        settings=settings,
        token=request.cookies.get(sessions.COOKIE),
        sent=sent if isinstance(sent, str) else None,
    ):
        raise NotAllowed("csrf.missing", "the form's CSRF token is missing or wrong")
    return {k: v for k, v in form.items() if isinstance(v, str)}


Posted = Annotated[dict[str, str], Depends(posted)]
