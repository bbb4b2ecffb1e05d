from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from api.db import utcnow
from api.deps import CurrentUser, SessionDep, SettingsDep
from api.rules.rulesets import Ground
from api.rules.service import rules_in_force

router = APIRouter(tags=["reference"])


class GroundsPublic(BaseModel):
    rule_set: str
    rule_set_name: str
    kind: str
    data: list[Ground]
    count: int


@router.get("/rules/grounds", response_model=GroundsPublic)
def list_grounds(
    settings: SettingsDep,
    session: SessionDep,
    _user: CurrentUser,
    kind: Annotated[Literal["reject", "terminate"], Query()],
    received_at: Annotated[datetime | None, Query()] = None,
) -> GroundsPublic:
    """The ground codes of the rule set in force (or in force at ``received_at``)."""
    if received_at is not None and received_at.tzinfo is None:
        raise HTTPException(422, "received_at needs a time zone offset")
    try:
        ruleset = rules_in_force(session=session, settings=settings).for_received(
            received_at or utcnow()
        )
    except ValueError as error:
        raise HTTPException(
            422, [{"loc": ["query", "received_at"], "msg": str(error), "type": "value_error"}]
        ) from error
    grounds = ruleset.grounds_of(kind)
    return GroundsPublic(
        rule_set=ruleset.code,
        rule_set_name=ruleset.name,
        kind=kind,
        data=grounds,
        count=len(grounds),
    )
