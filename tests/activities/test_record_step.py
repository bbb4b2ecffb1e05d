"""The ``record_step`` activity runs at least once: a retry must change nothing."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlmodel import Session, func, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.cases import CaseActivities
from api.casefile.models import Event
from api.cases import service as cases
from api.cases.models import CaseCreate
from api.main import create_app, prepare_database
from api.rules.service import rules_in_force
from api.tasks.models import Task
from api.users import service as users
from tests.conftest import SERVICE_TOKEN, Database, blocking_allowed
from tests.factories import complaint
from workflows.messages import RecordStepInput


@pytest_asyncio.fixture
async def activities(database: Database) -> AsyncIterator[CaseActivities]:
    app = create_app(database.settings, engine=database.engine)
    await asyncio.to_thread(prepare_database, database.engine, database.settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://api",
        headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
    ) as client:
        yield CaseActivities(client)


def registered_case(database: Database) -> str:
    with blocking_allowed(), Session(database.engine) as session:
        operator = users.get_by_username(session=session, username="operator")
        assert operator is not None
        case = cases.register(
            session=session,
            rules=rules_in_force(session=session, settings=database.settings),
            user=operator,
            body=CaseCreate.model_validate(complaint()),
        )
        return case.case_no


def counts(database: Database, case_no: str) -> tuple[int, int]:
    with blocking_allowed(), Session(database.engine) as session:
        tasks = session.exec(select(func.count()).where(Task.case_no == case_no)).one()
        events = session.exec(select(func.count()).where(Event.case_no == case_no)).one()
        return tasks, events


async def test_a_retried_step_changes_nothing(
    database: Database, activities: CaseActivities
) -> None:
    case_no = registered_case(database)
    step = RecordStepInput(case_no=case_no, key="1:open_triage", step="open_triage")
    env = ActivityEnvironment()

    first = await env.run(activities.record_step, step)
    after_first = counts(database, case_no)
    again = await env.run(activities.record_step, step)

    assert again == first
    assert counts(database, case_no) == after_first
    assert first.status == "triage"
    assert [t.kind for t in first.open_tasks] == ["triage"]
    assert [d.name for d in first.deadlines] == ["triage"]


async def test_a_step_the_case_cannot_take_is_refused(
    database: Database, activities: CaseActivities
) -> None:
    case_no = registered_case(database)
    env = ActivityEnvironment()
    step = RecordStepInput(
        case_no=case_no, key="1:triage", step="triage", task_id=999, submission_id="x"
    )
    with pytest.raises(ApplicationError, match="409"):  # Temporal retries it with backoff
        await env.run(activities.record_step, step)
    assert counts(database, case_no) == (0, 1), "nothing but the registration is recorded"


async def test_the_internal_route_needs_the_service_credential(database: Database) -> None:
    app = create_app(database.settings, engine=database.engine)
    await asyncio.to_thread(prepare_database, database.engine, database.settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as client:
        response = await client.post(
            "/internal/v1/cases/X/steps",
            json={"case_no": "X", "key": "1", "step": "open_triage"},
            headers={"Authorization": "Bearer not-the-token"},
        )
    assert response.status_code == 401
