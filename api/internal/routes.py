"""Routes for the worker's activities only (service credential)."""

from fastapi import APIRouter, Depends, HTTPException

from api.calendar.service import working_calendar
from api.cases import steps
from api.cases.deadlines import LadderPolicy
from api.deps import SessionDep, SettingsDep, require_service
from api.mediation.service import committees
from api.rules.service import rules_in_force
from workflows.messages import RecordStepInput, StepResult

router = APIRouter(
    prefix="/internal/v1", tags=["internal"], dependencies=[Depends(require_service)]
)


@router.post("/cases/{case_no}/steps", response_model=StepResult)
def record_step(
    case_no: str, body: RecordStepInput, session: SessionDep, settings: SettingsDep
) -> StepResult:
    """Applies one workflow step, once per key: records it, moves tasks and deadlines."""
    if body.case_no != case_no:
        raise HTTPException(422, "case_no in the path and the body differ")
    ctx = steps.StepContext(
        session=session,
        calendar=working_calendar(session=session),
        rules=rules_in_force(session=session, settings=settings),
        ladder=LadderPolicy.of(settings),
        committees=committees(settings.committees_file),
    )
    return steps.apply(ctx=ctx, input=body)
