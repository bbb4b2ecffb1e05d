"""The API's dependencies, as ``Annotated`` aliases."""

import hmac
from collections.abc import Iterator
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session
from temporalio.client import Client

from api.config import Settings
from api.db import Database
from api.errors import ApiError, NotAllowed
from api.security import bearer_of
from api.temporal import TemporalConnection
from api.tracing import Tracing
from api.users import service as users
from api.users.models import Role, User
from workflows.messages import FirstStep

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


# The dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` one in the
# threadpool, a hop each request would pay for nothing.


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(request: Request) -> Iterator[Session]:
    """A session for a plain ``def`` route (it runs in the threadpool)."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def get_database(request: Request) -> Database:
    """The database for an ``async def`` route: work runs in the threadpool (api.db)."""
    return Database(request.app.state.engine)


DatabaseDep = Annotated[Database, Depends(get_database)]


class StepEngine(Protocol):
    """The step engine's part in a registration (``api.internal.engine``, which ``api.main``
    hands the app): it imports every concept's steps, the cases' among them, so the
    routes that register cases cannot import it themselves."""

    def first_step(self, *, session: Session, settings: Settings, case_no: str) -> FirstStep:
        """A new case's first step, applied in its registration's transaction."""
        ...

    def discard(self, *, session: Session, case_no: str) -> None:
        """A case whose workflow certainly never started, removed with all it wrote."""
        ...


async def get_step_engine(request: Request) -> StepEngine:
    return request.app.state.step_engine  # type: ignore[no-any-return]


StepEngineDep = Annotated[StepEngine, Depends(get_step_engine)]


async def get_tracing(request: Request) -> Tracing | None:
    """The process's tracing, None when off (api.tracing)."""
    return request.app.state.tracing  # type: ignore[no-any-return]


TracingDep = Annotated[Tracing | None, Depends(get_tracing)]


async def get_temporal(request: Request) -> Client:
    try:
        return await request.app.state.temporal.client()  # type: ignore[no-any-return]
    except Exception as error:
        raise ApiError(
            503, "service.unavailable", "the workflow service (Temporal) is not reachable"
        ) from error


TemporalClientDep = Annotated[Client, Depends(get_temporal)]


async def get_temporal_connection(request: Request) -> TemporalConnection:
    """The connection itself, for work that may wait for Temporal after the answer."""
    return request.app.state.temporal  # type: ignore[no-any-return]


TemporalConnectionDep = Annotated[TemporalConnection, Depends(get_temporal_connection)]


def _unauthenticated() -> ApiError:
    return ApiError(
        401,
        "auth.unauthenticated",
        "not authenticated: a valid bearer token is required",
        {"WWW-Authenticate": "Bearer"},
    )


def get_current_user(
    request: Request, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2)]
) -> User:
    if not token:
        raise _unauthenticated()
    bearer = bearer_of(settings=settings, token=token)
    if bearer is None:
        raise _unauthenticated()
    # A session of its own, closed at once: an async route that then waits for Temporal
    # must not hold a pooled connection for the user it read.
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        user = users.get_by_username(session=session, username=bearer.username)
    if user is None or not user.active:
        raise _unauthenticated()
    # A token issued before the password was last reset is void (iat counts whole seconds).
    reset = user.tokens_valid_after
    if reset is not None and bearer.issued_at < reset.replace(microsecond=0):
        raise _unauthenticated()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require(*roles: Role) -> Any:
    """A dependency that lets only the given roles through (403 otherwise)."""

    def check(user: CurrentUser) -> User:
        if user.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise NotAllowed("auth.role", f"this needs the role {allowed}; you are {user.role}")
        return user

    return Depends(check)


def require_service(settings: SettingsDep, token: Annotated[str | None, Depends(oauth2)]) -> None:
    """The internal routes answer only the worker's service credential."""
    if not token or not hmac.compare_digest(token, settings.service_token):
        raise _unauthenticated()
