from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlmodel import Session

from api.db import utcnow
from api.deps import CurrentUser, SessionDep, SettingsDep, require
from api.errors import Invalid, NotFound
from api.rules import service as rules
from api.rules.models import (
    GroundsPublic,
    RuleSetChange,
    RuleSetChangePublic,
    RuleSetChangesPublic,
    RuleSetPublic,
    RuleSetRecord,
    RuleSetsPublic,
    RuleSetUpdate,
)
from api.rules.service import rules_in_force
from api.users.models import Role, User
from api.workdays import ZONE

router = APIRouter(tags=["reference"])


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
        raise Invalid(("received_at", "received_at needs a time zone offset"), where="query")
    try:
        ruleset = rules_in_force(session=session, settings=settings).for_received(
            received_at or utcnow()
        )
    except ValueError as error:
        raise Invalid(("received_at", str(error)), where="query") from error
    grounds = ruleset.grounds_of(kind)
    return GroundsPublic(
        rule_set=ruleset.code,
        rule_set_name=ruleset.name,
        kind=kind,
        data=grounds,
        count=len(grounds),
    )


# Limits leave out the figures they do not have, as they are written in the rule-set file.
@router.get("/rules", response_model=RuleSetsPublic, response_model_exclude_none=True)
def list_rule_sets(session: SessionDep, _user: CurrentUser) -> RuleSetsPublic:
    """Every rule set with its time limits and ground codes, oldest first."""
    data = [_public(r) for r in rules.list_all(session=session)]
    return RuleSetsPublic(data=data, count=len(data))


@router.get("/rules/{code}", response_model=RuleSetPublic, response_model_exclude_none=True)
def get_rule_set(code: str, session: SessionDep, _user: CurrentUser) -> RuleSetPublic:
    """One rule set with its time limits and ground codes."""
    return _public(_existing(session, code))


@router.put("/rules/{code}", response_model=RuleSetPublic, response_model_exclude_none=True)
def update_rule_set(
    code: str,
    body: RuleSetUpdate,
    session: SessionDep,
    user: Annotated[User, require(Role.ADMIN)],
) -> RuleSetPublic:
    """Changes a rule set (admin): a new version, on record; deadlines already set keep theirs."""
    record = rules.update(
        session=session,
        code=code,
        body=body.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"version"}),
        by=user.username,
        expected_version=body.version,
    )
    return _public(record)


@router.get(
    "/rules/{code}/changes",
    response_model=RuleSetChangesPublic,
    dependencies=[require(Role.ADMIN, Role.AUDITOR, Role.SUPERVISOR)],
)
def list_rule_set_changes(code: str, session: SessionDep) -> RuleSetChangesPublic:
    """The recorded changes of a rule set, newest first: who, when, before and after."""
    _existing(session, code)
    data = [_change_public(c) for c in rules.changes(session=session, code=code)]
    return RuleSetChangesPublic(data=data, count=len(data))


def _existing(session: Session, code: str) -> RuleSetRecord:
    record = rules.get(session=session, code=code)
    if record is None:
        raise NotFound("rules.not_found", f"rule set {code} not found")
    return record


def _public(record: RuleSetRecord) -> RuleSetPublic:
    ruleset = rules.to_ruleset(record)
    return RuleSetPublic(
        code=record.code,
        name=record.name,
        effective_from=record.effective_from.astimezone(ZONE),
        version=record.version,
        limits=ruleset.limits,
        grounds=ruleset.grounds,
        updated_at=record.updated_at.astimezone(ZONE),
        updated_by=record.updated_by,
    )


def _change_public(change: RuleSetChange) -> RuleSetChangePublic:
    return RuleSetChangePublic(
        code=change.code,
        version=change.version,
        at=change.at.astimezone(ZONE),
        by=change.by,
        before=change.before,
        after=change.after,
    )
