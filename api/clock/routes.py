"""The clock routes of a case's deadline: pause, resume, and ask for an extension."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from sqlmodel import SQLModel

from api import process
from api.cases import service as cases
from api.cases.models import CasePublic, ExtensionRequest, PauseRequest, ResumeRequest
from api.clock import service as clock
from api.deps import CurrentUser, DatabaseDep, SettingsDep, TemporalClientDep
from api.errors import DECISION_RESPONSES
from workflows.case import CaseWorkflow

router = APIRouter(prefix="/cases", tags=["cases"])

DeadlineName = Annotated[str, PathParam(min_length=1, max_length=40)]


@dataclass
class ClockCall:
    """A request about the clock of the case's deadline ``name``, with what it needs."""

    case_no: str
    name: DeadlineName
    db: DatabaseDep
    settings: SettingsDep
    temporal: TemporalClientDep
    user: CurrentUser

    async def send(self, body: SQLModel, handler: Callable[..., Any]) -> CasePublic:
        decide = partial(
            clock.decision,
            settings=self.settings,
            user=self.user,
            case_no=self.case_no,
            name=self.name,
            body=body.model_dump(),
            handler=handler,
        )
        await process.submit(
            db=self.db, client=self.temporal, settings=self.settings, decide=decide
        )
        return await self.db.run(cases.public, user=self.user, case_no=self.case_no)


Clock = Annotated[ClockCall, Depends()]


@router.post(
    "/{case_no}/deadlines/{name}/pause", response_model=CasePublic, responses=DECISION_RESPONSES
)
async def pause_clock(body: PauseRequest, call: Clock) -> CasePublic:
    """Stops a deadline's clock for testing or appraisal (鉴定检测)."""
    return await call.send(body, CaseWorkflow.pause_clock)


@router.post(
    "/{case_no}/deadlines/{name}/resume", response_model=CasePublic, responses=DECISION_RESPONSES
)
async def resume_clock(body: ResumeRequest, call: Clock) -> CasePublic:
    """Starts the clock again; the deadline moves by the working days it stood."""
    return await call.send(body, CaseWorkflow.resume_clock)


@router.post(
    "/{case_no}/deadlines/{name}/extension",
    response_model=CasePublic,
    responses=DECISION_RESPONSES,
)
async def request_extension(body: ExtensionRequest, call: Clock) -> CasePublic:
    """Asks for more working days (延期申请); a supervisor approves or refuses it.

    A statutory extension (核查 +15 working days, 调查 +30 days) is granted once; a
    deadline has one request open at a time (409 ``extension.already_granted``,
    ``extension.pending``)."""
    return await call.send(body, CaseWorkflow.request_extension)
