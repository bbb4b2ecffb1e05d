"""A registration whose workflow never started is finished by the client's retry, or,
when no retry comes, by the API itself."""

import asyncio

from api.cases import service as cases
from api.cases.models import CaseCreate
from api.cases.repair import finish_registrations
from api.db import Database
from api.rules.service import rules_in_force
from api.users import service as users
from tests.conftest import Stack, open_task
from tests.factories import complaint


async def test_retrying_with_the_same_client_ref_starts_the_missing_workflow(stack: Stack) -> None:
    body = complaint(client_ref="hotline-call-0001")
    with stack.db() as session:
        # What a crash between saving the case and starting its workflow leaves behind.
        operator = users.get_by_username(session=session, username="operator")
        assert operator is not None
        case = cases.register(
            session=session,
            rules=rules_in_force(session=session, settings=stack.settings),
            user=operator,
            body=CaseCreate.model_validate(body),
            prefix=stack.settings.case_no_prefix,
        )
        case_no = case.case_no

    retried = await stack.call("POST", "/api/v1/cases", "operator", json=body)
    assert retried.status_code == 200, retried.text
    assert retried.json()["case_no"] == case_no

    triage = await open_task(stack, case_no, "triage", "operator")
    assert triage["case_no"] == case_no
    again = await stack.call("POST", "/api/v1/cases", "operator", json=body)
    assert again.status_code == 200 and again.json()["status"] == "triage"


async def test_a_registration_nobody_sends_again_is_finished_by_the_api(stack: Stack) -> None:
    with stack.db() as session:
        # Saved, then the API crashed (or Temporal never confirmed), and the client gave up.
        operator = users.get_by_username(session=session, username="operator")
        assert operator is not None
        case_no = cases.register(
            session=session,
            rules=rules_in_force(session=session, settings=stack.settings),
            user=operator,
            body=CaseCreate.model_validate(complaint()),
            prefix=stack.settings.case_no_prefix,
        ).case_no
    db = Database(stack.engine)

    # A registration a moment old may still be finishing: left alone.
    assert await finish_registrations(db=db, client=stack.client, settings=stack.settings) == []
    later = stack.settings.model_copy(update={"registration_repair_after_seconds": 0.001})
    await asyncio.sleep(0.01)
    assert await finish_registrations(db=db, client=stack.client, settings=later) == [case_no]

    triage = await open_task(stack, case_no, "triage", "operator")
    assert triage["case_no"] == case_no
    # Once its workflow runs it is no longer "registered": nothing more to do.
    assert await finish_registrations(db=db, client=stack.client, settings=later) == []
    response = await stack.call("GET", f"/api/v1/cases/{case_no}/history", "operator")
    assert [e["type"] for e in response.json()["events"]].count("registered") == 1
