"""Records workflow histories for ``test_replay.py``: not collected by ``make test``.

After a change to a workflow that running cases must survive, record the new shape next
to the old ones (``workflow.patched`` keeps the old ones replaying)::

    .venv/bin/pytest tests/workflows/record_histories.py -p no:randomly

Each flow below drives the real stack on the dev server (or the time-skipping server) and
writes the history of every workflow it ran to ``tests/workflows/histories/<name>.json``
(a mediation's as ``<name>.mediation-<n>.json``). The histories hold case numbers, ids
and non-personal facts only (``test_privacy.py``).
"""

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from api.config import Settings
from api.mediation.models import Mediation
from tests.api import test_monitoring as monitoring_
from tests.api import test_reviews as reviews_
from tests.api import test_station_duties as duties_
from tests.conftest import Stack, open_task, register
from tests.factories import complaint, eventually
from tests.mediation import (
    applied,
    both_consent,
    deadline,
    done,
    notice,
    to_committee,
    to_window,
    today,
)
from workflows.audit import AuditCheckpointWorkflow
from workflows.bulletin import schedule_id as bulletin_schedule_id
from workflows.case import workflow_id
from workflows.duty import CAMPAIGNS_SCHEDULE_ID, YearlyCampaigns
from workflows.duty import schedule_id as duty_schedule_id
from workflows.mediation import mediation_id
from workflows.messages import CampaignsRequest, CheckpointInput

HISTORIES = Path(__file__).parent / "histories"
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


async def save(stack: Stack, name: str, case_no: str, kind: str = "complaint") -> None:
    """Writes the case's workflow history and those of its mediations, once they end."""
    ids = {name: workflow_id(case_no, kind)}
    with stack.db() as session:
        for number in session.exec(
            select(Mediation.number).where(Mediation.case_no == case_no)
        ).all():
            ids[f"{name}.mediation-{number}"] = mediation_id(case_no, number)
    for file_name, each in ids.items():
        handle = stack.client.get_workflow_handle(each)
        await handle.result()
        history = await handle.fetch_history()
        (HISTORIES / f"{file_name}.json").write_text(
            json.dumps(history.to_json_dict(), indent=1) + "\n", encoding="utf-8"
        )


async def close(stack: Stack, case_no: str) -> None:
    await done(
        stack, case_no, "callback", "operator", {"reached": True, "satisfaction": "satisfied"}
    )


@SQLITE_ONLY
async def test_record_peoples_mediation_confirmed(stack: Stack) -> None:
    case_no = await to_window(stack)
    await both_consent(stack, case_no, "judicial_confirmation")
    await done(stack, case_no, "judicial_application", "guichi", applied())
    await done(
        stack,
        case_no,
        "court_ruling",
        "guichi",
        {"ruling": "confirmed", "ruling_no": "（2026）皖1702民特1号", "ruled_on": today()},
    )
    await close(stack, case_no)
    await save(stack, "v7_mediation_people_confirmed_closed", case_no)


@SQLITE_ONLY
async def test_record_withdrawn_in_peoples_mediation(stack: Stack) -> None:
    case_no = await to_committee(stack)
    response = await stack.call(
        "POST", f"/api/v1/cases/{case_no}/withdraw", "operator", json={"reason": "和解"}
    )
    assert response.status_code == 200, response.text
    await save(stack, "v7_mediation_withdrawn_in_committee", case_no)


@SQLITE_ONLY
async def test_record_station_unsettled_then_agreement_redo(stack: Stack) -> None:
    created = await stack.call(
        "POST", "/api/v1/cases", "st-wanda", json=complaint(channel="station")
    )
    case_no = created.json()["case_no"]
    await done(stack, case_no, "reconcile", "st-wanda", {"outcome": "not_settled", "reason": "x"})
    await done(stack, case_no, "triage", "operator", {"decision": "accept", "unit": "guichi"})
    body = {"outcome": "agreement", "summary": "维修", "reply": "已维修"}
    await done(stack, case_no, "handle", "guichi", body)
    await done(
        stack, case_no, "callback", "operator", {"reached": True, "satisfaction": "unsatisfied"}
    )
    await done(stack, case_no, "review", "supervisor", {"decision": "redo", "reason": "未退款"})
    await done(stack, case_no, "handle", "guichi", body)
    await close(stack, case_no)
    await save(stack, "v7_station_unsettled_accepted_redone_closed", case_no)


@SQLITE_ONLY
async def test_record_report_filed_and_decided(stack: Stack) -> None:
    body = complaint(kind="report", reporter={"name": "赵六", "phone": "13911112222"})
    del body["complainant"]
    created = await stack.call("POST", "/api/v1/cases", "operator", json=body)
    case_no = created.json()["case_no"]
    await done(stack, case_no, "triage", "operator", {"decision": "accept", "unit": "guichi"})
    await done(stack, case_no, "verify", "guichi", {"decision": "file", "reason": "有违法嫌疑"})
    await done(stack, case_no, "notify_reporter", "guichi", {"channel": "phone"})
    await done(stack, case_no, "investigate", "guichi", {"decision": "penalty", "summary": "罚款"})
    await save(stack, "v7_report_filed_told_penalty", case_no, kind="report")


async def test_record_mediation_ended_by_law_then_litigation_not_sued(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    stack = skipping_stack
    case_no = await register(stack)
    await done(stack, case_no, "triage", "operator", {"decision": "accept", "unit": "guichi"})
    await deadline(stack, case_no, "handle")
    await skipping_env.sleep(timedelta(days=70))  # past the 45 working days
    await open_task(stack, case_no, "notify_termination", "guichi")
    await done(stack, case_no, "notify_termination", "guichi", notice("litigation"))
    await done(
        stack,
        case_no,
        "court_outcome",
        "guichi",
        {"outcome": "not_sued", "summary": "消费者未起诉"},
    )
    await eventually(lambda: open_task(stack, case_no, "callback", "operator"))
    await close(stack, case_no)
    await save(stack, "v7_mediation_expired_litigation_not_sued_closed", case_no)


def report(**overrides: object) -> dict[str, object]:
    body = complaint(kind="report", reporter={"name": "赵六", "phone": "13911112222"})
    del body["complainant"]
    return {**body, **overrides}


async def registered(stack: Stack, body: dict[str, object]) -> str:
    created = await stack.call("POST", "/api/v1/cases", "operator", json=body)
    assert created.status_code == 201, created.text
    case_no: str = created.json()["case_no"]
    return case_no


ACCEPT = {"decision": "accept", "unit": "guichi"}


@SQLITE_ONLY
async def test_record_report_not_filed_and_the_reporter_told(stack: Stack) -> None:
    case_no = await registered(stack, report())
    await done(stack, case_no, "triage", "operator", ACCEPT)
    await done(stack, case_no, "verify", "guichi", {"decision": "no_file", "reason": "证据不足"})
    await done(stack, case_no, "notify_reporter", "guichi", {"channel": "letter"})
    await save(stack, "v3_report_not_filed_told", case_no, kind="report")


@SQLITE_ONLY
async def test_record_report_transferred(stack: Stack) -> None:
    case_no = await registered(stack, report())
    await done(
        stack,
        case_no,
        "triage",
        "operator",
        {"decision": "refer", "to": "县税务局", "reason": "属税务部门职责"},
    )
    await save(stack, "v3_report_referred", case_no, kind="report")


@SQLITE_ONLY
async def test_record_report_extension_refused(stack: Stack) -> None:
    case_no = await registered(stack, report(anonymous=True, reporter=None))
    await done(stack, case_no, "triage", "operator", ACCEPT)
    asked = await stack.call(
        "POST",
        f"/api/v1/cases/{case_no}/deadlines/verify/extension",
        "guichi",
        json={"working_days": 10, "reason": "需调取交易记录"},
    )
    assert asked.status_code == 200, asked.text
    await done(
        stack, case_no, "approve_extension", "supervisor", {"approve": False, "reason": "时间充足"}
    )
    await done(stack, case_no, "verify", "guichi", {"decision": "no_file", "reason": "证据不足"})
    await save(stack, "v3_report_extension_refused_not_filed", case_no, kind="report")


@SQLITE_ONLY
async def test_record_callback_unreachable_three_times(stack: Stack) -> None:
    case_no = await register(stack)
    await done(stack, case_no, "triage", "operator", ACCEPT)
    await done(
        stack,
        case_no,
        "handle",
        "guichi",
        {"outcome": "agreement", "summary": "退货", "amount_recovered": 0, "reply": "已退货"},
    )
    for _ in range(3):
        await done(stack, case_no, "callback", "operator", {"reached": False})
    await save(stack, "v7_callback_unreachable_closed", case_no)


@SQLITE_ONLY
async def test_record_hand_down_with_its_senders_deadline(stack: Stack) -> None:
    due = (date.fromisoformat(today()) + timedelta(days=20)).isoformat()
    sender = {
        "authority": "池州市市场监督管理局",
        "reference": "池市监交〔2026〕8号",
        "due_date": due,
    }
    case_no = await registered(stack, complaint(channel="hand_down", sender=sender))
    await done(stack, case_no, "triage", "operator", ACCEPT)
    await done(
        stack,
        case_no,
        "handle",
        "guichi",
        {"outcome": "agreement", "summary": "退货", "amount_recovered": 0, "reply": "已退货"},
    )
    await close(stack, case_no)
    await save(stack, "v3_hand_down_closed", case_no)


@SQLITE_ONLY
async def test_record_audit_checkpoint(stack: Stack) -> None:
    await register(stack)
    handle = await stack.client.start_workflow(
        AuditCheckpointWorkflow.run,
        CheckpointInput(key="recorded"),
        id="audit-checkpoint-recorded",
        task_queue=stack.settings.task_queue,
    )
    await handle.result()
    history = await handle.fetch_history()
    (HISTORIES / "v3_audit_checkpoint.json").write_text(
        json.dumps(history.to_json_dict(), indent=1) + "\n", encoding="utf-8"
    )


@SQLITE_ONLY
async def test_record_audit_checkpoint_archiving(stack: Stack) -> None:
    """The checkpoint after a case closed (patch ``archive-v1``): its histories are
    archived first, then the heads signed."""
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    rejected = await stack.call(
        "POST",
        f"/api/v1/tasks/{triage['id']}/complete",
        "operator",
        json={"decision": "reject", "ground": "R15-1", "reason": "不属本局职责"},
    )
    assert rejected.status_code == 200, rejected.text
    await stack.client.get_workflow_handle(f"complaint-{case_no}").result()
    handle = await stack.client.start_workflow(
        AuditCheckpointWorkflow.run,
        CheckpointInput(key="recorded-archive"),
        id="audit-checkpoint-recorded-archive",
        task_queue=stack.settings.task_queue,
    )
    await handle.result()
    history = await handle.fetch_history()
    (HISTORIES / "v4_audit_checkpoint_archiving.json").write_text(
        json.dumps(history.to_json_dict(), indent=1) + "\n", encoding="utf-8"
    )


async def write(stack: Stack, name: str, workflow_id: str) -> None:
    """Writes one workflow's history once it ends."""
    handle = stack.client.get_workflow_handle(workflow_id)

    async def ended() -> bool:
        # Not ``result()``: on the time-skipping server its long poll may come back empty.
        return (await handle.describe()).status != WorkflowExecutionStatus.RUNNING

    await eventually(ended, timeout=60)
    history = await handle.fetch_history()
    (HISTORIES / f"{name}.json").write_text(
        json.dumps(history.to_json_dict(), indent=1) + "\n", encoding="utf-8"
    )


@SQLITE_ONLY
async def test_record_demonstration_sites_sent_back_and_approved(year_end_stack: Stack) -> None:
    """The year's lists given by hand (``YearlyDemonstrations``), and one branch's list
    (``DutyWorkflow``) named, sent back, named again and approved."""
    stack = year_end_stack
    await duties_.open_stations(stack)
    year = date.today().year
    started = await stack.call(
        "POST", "/api/v1/stations/demonstrations", "supervisor", json={"year": year}
    )
    assert started.status_code == 201, started.text
    file_no = f"{stack.settings.case_no_prefix}SF{year}GUICHI"
    head = "guichi-supervisor"
    await done(stack, file_no, "name_sites", head, duties_.sites())
    await done(
        stack, file_no, "review_sites", "supervisor", {"decision": "send_back", "reason": "不规范"}
    )
    await done(stack, file_no, "name_sites", head, duties_.sites(supermarket="gc-supermarket-2"))
    await done(stack, file_no, "review_sites", "supervisor", {"decision": "approve"})
    await write(stack, "v5_demonstration_sent_back_approved", f"demonstration-{file_no}")
    yearly = f"{duty_schedule_id(stack.settings.case_no_prefix)}-{year}"
    await write(stack, "v5_yearly_demonstrations", yearly)


@SQLITE_ONLY
async def test_record_demonstration_late_escalated(stack: Stack) -> None:
    """Last year's list given now: due 31 March of last year, overdue at once,
    supervised, chased and criticised, then named late and approved."""
    await duties_.open_stations(stack)
    year = date.today().year - 1
    opened = await stack.call(
        "POST", "/api/v1/stations/demonstrations", "supervisor", json={"year": year}
    )
    assert opened.status_code in (200, 201), opened.text
    file_no = f"{stack.settings.case_no_prefix}SF{year}GUICHI"
    await open_task(stack, file_no, "supervise", "supervisor")
    await done(stack, file_no, "name_sites", "guichi-supervisor", duties_.sites())
    await done(stack, file_no, "review_sites", "supervisor", {"decision": "approve"})
    await write(stack, "v5_demonstration_late_escalated", f"demonstration-{file_no}")


@SQLITE_ONLY
async def test_record_station_rectified(stack: Stack) -> None:
    """A station assessed below the pass mark, rectified by its branch."""
    made = await stack.call(
        "POST", "/api/v1/stations", "guichi-supervisor", json=duties_.station("gc-1")
    )
    assert made.status_code == 201, made.text
    body = {"year": date.today().year, "assessed_on": str(date.today()), "scores": low_scores()}
    failed = await stack.call(
        "POST", "/api/v1/stations/gc-1/assessments", "guichi-supervisor", json=body
    )
    file_no = failed.json()["rectification"]
    await done(stack, file_no, "rectify", "guichi", {"summary": "补齐台账", "done_on": today()})
    await write(stack, "v5_station_rectified", f"rectification-{file_no}")


def low_scores() -> dict[str, int]:
    checklist = json.loads(Settings().station_checklist_file.read_text("utf-8"))
    return {i["code"]: i["points"] for i in checklist["items"]} | {"ledger": 5, "settlement": 5}


@SQLITE_ONLY
async def test_record_bulletin_published(stack: Stack) -> None:
    """A month's bulletin started by hand (``MonthlyBulletin``), drafted and published
    (``BulletinWorkflow``)."""
    from tests.api.test_bulletins import file_no, publish, start

    await start(stack)
    await publish(stack, file_no(stack))
    await write(stack, "v5_bulletin_published", f"bulletin-{file_no(stack)}")
    monthly = f"{bulletin_schedule_id(stack.settings.case_no_prefix)}-2026-11"
    await write(stack, "v5_monthly_bulletin", monthly)


async def test_record_campaign_warned_and_ended(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    """A campaign of 120 days started by hand (``YearlyCampaigns``): its file
    (``DutyWorkflow``, kind campaign) warns a branch behind at the quarter's end, takes its
    answer, and ends with met and missed."""
    from tests.api import test_campaigns as campaigns_

    stack = skipping_stack
    made = await stack.call("POST", "/api/v1/campaigns", "admin", json=campaigns_.campaign("rec"))
    assert made.status_code == 201, made.text
    await campaigns_.filed(stack, campaign="rec")
    year = date.today().year
    started = await stack.call("POST", "/api/v1/campaigns/years", "supervisor", json={"year": year})
    assert started.status_code == 201, started.text
    file_no = next(c for c in started.json()["data"] if c["code"] == "rec")["file_no"]
    await skipping_env.sleep(timedelta(days=100))
    await done(stack, file_no, "campaign_behind", "dongzhi-supervisor", {"measures": "加强检查"})
    await skipping_env.sleep(timedelta(days=30))

    async def closed() -> bool:
        found = (await stack.call("GET", "/api/v1/campaigns/rec", "supervisor")).json()
        return bool(found["status"] == "closed")

    await eventually(closed, timeout=30)
    await write(stack, "v5_campaign_warned_ended", f"campaign-{file_no}")


@SQLITE_ONLY
async def test_record_yearly_campaigns(stack: Stack) -> None:
    """The schedule's workflow for 2025: it opens the year's campaign and starts its file."""
    from tests.api import test_campaigns as campaigns_

    body = campaigns_.campaign("rec", starts_on="2025-01-01", ends_on="2025-12-31")
    assert (await stack.call("POST", "/api/v1/campaigns", "admin", json=body)).status_code == 201
    handle = await stack.client.start_workflow(
        YearlyCampaigns.run,
        CampaignsRequest(year=2025),
        id=f"{duty_schedule_id(stack.settings.case_no_prefix, CAMPAIGNS_SCHEDULE_ID)}-2025",
        task_queue=stack.settings.task_queue,
    )
    await handle.result()
    await write(stack, "v5_yearly_campaigns", handle.id)


@SQLITE_ONLY
async def test_record_delisting_done(stack: Stack) -> None:
    """A failed sample's delisting (退市), opened by its commodity's clean-up and done by
    its branch."""
    await monitoring_.ready(stack, minimum_samples=1)
    entered = await monitoring_.enter(stack, monitoring_.sample("H1", False))
    (file_no,) = entered.json()["delistings"]
    await done(stack, file_no, "delist", "guichi", {"quantity": 6, "done_on": today()})
    await write(stack, "v5_delisting_done", f"delisting-{file_no}")


@SQLITE_ONLY
async def test_record_review_order_rectified(stack: Stack) -> None:
    """A finding's rectification order (整改), followed up by 贵池分局 and rectified."""
    made = await stack.call("POST", "/api/v1/reviews", "supervisor", json=reviews_.review())
    assert made.status_code == 201, made.text
    found = await stack.call(
        "POST", "/api/v1/reviews/power/findings", "supervisor", json=reviews_.finding(unit="guichi")
    )
    assert found.status_code == 201, found.text
    order = found.json()["order_no"]
    body = {"summary": "建立抢修到场时限制度", "done_on": today()}
    await done(stack, order, "review_rectified", "guichi-supervisor", body)
    await write(stack, "v5_review_order_rectified", f"review_order-{order}")


async def test_record_review_reported(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    """A review's file, timed to its period's end, where it keeps the report and closes."""
    stack = skipping_stack
    body = reviews_.review(ends_on=(date.today() + timedelta(days=10)).isoformat())
    made = await stack.call("POST", "/api/v1/reviews", "supervisor", json=body)
    assert made.status_code == 201, made.text
    file_no = made.json()["file_no"]
    await skipping_env.sleep(timedelta(days=12))

    async def closed() -> bool:
        found = (await stack.call("GET", "/api/v1/reviews/power", "supervisor")).json()
        return bool(found["status"] == "closed")

    await eventually(closed, timeout=30)
    await write(stack, "v5_review_reported", f"review-{file_no}")
