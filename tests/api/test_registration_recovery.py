"""A registration whose workflow never started is finished by the client's retry."""

from api.cases import service as cases
from api.cases.models import CaseCreate
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
