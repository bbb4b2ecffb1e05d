"""Special campaigns (专项整治, issue 13 part 2): the plan's campaigns seeded with their
quotas and kept by the admin; a report counts toward a campaign for the branch that filed
it, from the later of its filing and its tagging, and no longer once untagged; the
campaign's workflow warns the branches behind at each quarter's end and records met or
missed at the end."""

from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import openpyxl
import pytest
from sqlalchemy import delete
from sqlmodel import select
from temporalio.client import ScheduleBackfill, ScheduleCalendarSpec, ScheduleOverlapPolicy
from temporalio.testing import WorkflowEnvironment

from api.campaigns.models import Campaign, CampaignTag
from api.casefile.models import Event
from api.workdays import ZONE
from tests.api.test_reports import report
from tests.conftest import Stack, open_task, register
from tests.factories import eventually
from worker import ensure_campaigns_schedule
from workflows.duty import CAMPAIGNS_SCHEDULE_ID, schedule_id

URL = "/api/v1/campaigns"
CITY, ADMIN, HEAD = "supervisor", "admin", "guichi-supervisor"
QUARTER_ENDS = ((3, 31), (6, 30), (9, 30), (12, 31))
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def today() -> Any:
    return datetime.now(ZONE).date()


def campaign(code: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name": "电动自行车专项整治",
        "categories": ["电动自行车", "充电器"],
        "starts_on": today().isoformat(),
        "ends_on": (today() + timedelta(days=120)).isoformat(),
        "quotas": {"guichi": 1, "dongzhi": 2},
    }
    body.update(overrides)
    return body


async def filed(stack: Stack, unit: str = "guichi", **overrides: Any) -> str:
    """An anonymous report sent to ``unit`` and filed (立案) there; its number."""
    body = report(anonymous=True, **overrides)
    del body["reporter"]
    created = await stack.call("POST", "/api/v1/cases", "operator", json=body)
    assert created.status_code == 201, created.text
    case_no: str = created.json()["case_no"]
    for kind, as_, decision in (
        ("triage", "operator", {"decision": "accept", "unit": unit}),
        ("verify", unit, {"decision": "file", "reason": "有违法嫌疑"}),
    ):
        task = await open_task(stack, case_no, kind, as_)
        done = await stack.call("POST", f"/api/v1/tasks/{task['id']}/complete", as_, json=decision)
        assert done.status_code == 200, done.text
    await open_task(stack, case_no, "investigate", unit)
    return case_no


def progress_of(body: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {p["unit"]: (p["filed"], p["quota"]) for p in body["progress"]}


async def test_the_plans_campaigns_are_seeded_with_their_quotas_and_kept_by_the_admin(
    stack: Stack,
) -> None:
    listed = await stack.call("GET", URL, CITY)
    assert listed.status_code == 200, listed.text
    by_code = {c["code"]: c for c in listed.json()["data"]}
    assert len(by_code) == 5
    fire = by_code["fire-products"]
    assert fire["quotas"] == {
        "guichi": 2,
        "dongzhi": 2,
        "qingyang": 2,
        "shitai": 2,
        "jiuhuashan": 1,
        "kaifaqu": 1,
    }
    assert "灭火器" in fire["categories"] and fire["counted"] is True
    assert by_code["household-appliances"]["counted"] is False
    # A branch sees its own line only.
    own = (await stack.call("GET", f"{URL}/fire-products", HEAD)).json()
    assert own["quotas"] == {"guichi": 2} and [p["unit"] for p in own["progress"]] == ["guichi"]

    url = f"{URL}/fire-products"
    edit = {k: fire[k] for k in ("name", "categories", "starts_on", "ends_on", "counted")}
    for quotas, field in (({"mars": 2}, "quotas.mars"), ({"guichi": -1}, "quotas.guichi")):
        bad = await stack.call("PUT", url, ADMIN, json={**edit, "quotas": quotas, "version": 1})
        assert bad.status_code == 422, bad.text
        assert ".".join(str(p) for p in bad.json()["detail"][0]["loc"][1:]) == field
    backwards = {**edit, "ends_on": "2025-01-01", "quotas": {}, "version": 1}
    bad = await stack.call("PUT", url, ADMIN, json=backwards)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "ends_on"]
    refused = await stack.call("PUT", url, HEAD, json={**edit, "quotas": {}, "version": 1})
    assert refused.status_code == 403
    saved = await stack.call(
        "PUT", url, ADMIN, json={**edit, "quotas": {**fire["quotas"], "guichi": 3}, "version": 1}
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["quotas"]["guichi"] == 3 and saved.json()["version"] == 2
    stale = await stack.call("PUT", url, ADMIN, json={**edit, "quotas": {}, "version": 1})
    assert stale.status_code == 409 and stale.json()["code"] == "campaigns.changed"
    (change,) = (await stack.call("GET", f"{url}/changes", CITY)).json()
    assert change["by"] == ADMIN
    assert change["change"]["edited"]["quotas"]["to"]["guichi"] == 3

    made = await stack.call("POST", URL, ADMIN, json=campaign("e-bikes"))
    assert made.status_code == 201, made.text
    again = await stack.call("POST", URL, ADMIN, json=campaign("e-bikes"))
    assert again.status_code == 409 and again.json()["code"] == "campaigns.taken"
    assert (await stack.call("POST", URL, CITY, json=campaign("other"))).status_code == 403


async def test_a_report_counts_for_the_branch_that_filed_it_from_its_tagging(
    stack: Stack,
) -> None:
    made = await stack.call("POST", URL, ADMIN, json=campaign("e-bikes"))
    assert made.status_code == 201, made.text
    tagged = await filed(stack, campaign="e-bikes")
    await filed(stack, campaign=None)  # filed, untagged: counted nowhere
    elsewhere = await filed(stack, "dongzhi", campaign=None)
    found = (await stack.call("GET", f"{URL}/e-bikes", CITY)).json()
    assert progress_of(found) == {"guichi": (1, 1), "dongzhi": (0, 2)}

    # Tagged after its filing, a report counts from then; untagged, no longer.
    url = f"/api/v1/cases/{elsewhere}/campaign"
    assert (await stack.call("PUT", url, "guichi", json={"campaign": "e-bikes"})).status_code in (
        403,
        404,
    )
    unknown = await stack.call("PUT", url, "dongzhi", json={"campaign": "nowhere"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == [
        "body",
        "campaign",
    ]
    on = await stack.call("PUT", url, "dongzhi", json={"campaign": "e-bikes"})
    assert on.status_code == 200 and on.json()["changed"] is True
    same = await stack.call("PUT", url, "dongzhi", json={"campaign": "e-bikes"})
    assert same.json()["changed"] is False
    off = await stack.call("PUT", f"/api/v1/cases/{tagged}/campaign", HEAD, json={"campaign": None})
    assert off.status_code == 200, off.text
    found = (await stack.call("GET", f"{URL}/e-bikes", CITY)).json()
    assert progress_of(found) == {"guichi": (0, 1), "dongzhi": (1, 2)}
    with stack.db() as session:
        tags = session.exec(select(CampaignTag).where(CampaignTag.case_no == tagged)).all()
        assert [(t.previous, t.campaign, t.by) for t in tags] == [("e-bikes", None, HEAD)]
        types = [
            e.type
            for e in session.exec(select(Event).where(Event.case_no == tagged).order_by(Event.seq))
        ]
        assert "campaign_untagged" in types
    # Only a report is tagged.
    complaint_no = await register(stack)
    refused = await stack.call(
        "PUT", f"/api/v1/cases/{complaint_no}/campaign", CITY, json={"campaign": "e-bikes"}
    )
    assert refused.status_code == 409 and refused.json()["code"] == "campaigns.not_a_report"

    # The month's bulletin figures show it, each branch against its quota.
    month = today().strftime("%Y-%m")
    month_figures = await stack.call("GET", f"/api/v1/bulletins/{month}/figures", CITY)
    assert month_figures.status_code == 200, month_figures.text
    shown = {c["code"]: c for c in month_figures.json()["campaigns"]}
    assert "household-appliances" not in shown  # not counted toward the targets
    lines = {b["unit"]: (b["filed"], b["quota"]) for b in shown["e-bikes"]["branches"]}
    assert lines == {"guichi": (0, 1), "dongzhi": (1, 2)}

    sheet = await stack.call("GET", f"{URL}/e-bikes", CITY, params={"format": "xlsx"})
    assert sheet.status_code == 200
    rows = list(openpyxl.load_workbook(BytesIO(sheet.content)).active.iter_rows(values_only=True))
    assert rows[2][:3] == ("单位", "立案数", "目标数")
    assert ("东至县局", 1, 2) in [r[:3] for r in rows[3:]]


def only_this_one(stack: Stack) -> None:
    """Leaves out the plan's seeded campaigns: their files would run on the time-skipping
    server beside the one a test times."""
    with stack.db() as session:
        session.execute(delete(Campaign))
        session.commit()


async def test_the_campaign_warns_the_branches_behind_and_ends_met_or_missed(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    """A campaign of 120 days from today: at the quarter's end within it, 东至县局 (none of
    its 2 filed) is warned and 贵池分局 (its 1 filed) is not; at the end 贵池分局 met its
    quota and 东至县局 missed it, and the file closed."""
    stack = skipping_stack
    only_this_one(stack)
    made = await stack.call("POST", URL, ADMIN, json=campaign("e-bikes"))
    assert made.status_code == 201, made.text
    await filed(stack, campaign="e-bikes")
    year = today().year
    refused = await stack.call("POST", f"{URL}/years", HEAD, json={"year": year})
    assert refused.status_code == 403
    started = await stack.call("POST", f"{URL}/years", CITY, json={"year": year})
    assert started.status_code == 201, started.text
    file_no = next(c for c in started.json()["data"] if c["code"] == "e-bikes")["file_no"]
    assert file_no is not None

    # Time passes to the day after the first quarter's end within the period.
    ends = [datetime(today().year + y, m, d).date() for y in (0, 1) for m, d in QUARTER_ENDS]
    first = min(e for e in ends if e >= today())
    await skipping_env.sleep(timedelta(days=(first - today()).days + 1, hours=1))
    warning = await open_task(stack, file_no, "campaign_behind", "dongzhi-supervisor")
    assert warning["context"]["filed"] == 0 and warning["context"]["quota"] == 2
    tasks = await stack.call(
        "GET", "/api/v1/tasks", CITY, params={"case_no": file_no, "kind": "campaign_behind"}
    )
    assert {t["unit"] for t in tasks.json()["data"]} == {"dongzhi"}
    answered = await stack.call(
        "POST",
        f"/api/v1/tasks/{warning['id']}/complete",
        "dongzhi-supervisor",
        json={"measures": "组织对辖区电动车销售门店开展拉网式检查"},
    )
    assert answered.status_code == 200, answered.text

    await skipping_env.sleep(timedelta(days=125 - (first - today()).days))

    async def ended() -> Any:
        found = (await stack.call("GET", f"{URL}/e-bikes", CITY)).json()
        return found if found["status"] == "closed" else None

    found = await eventually(ended, timeout=30)
    assert {p["unit"]: p["met"] for p in found["progress"]} == {"guichi": True, "dongzhi": False}
    stops = (await stack.call("GET", f"{URL}/e-bikes/checkpoints", CITY)).json()
    assert stops[-1]["final"] is True and stops[-1]["name"] == "campaign_end"
    assert stops[0]["results"]["dongzhi"]["behind"] is True
    assert stops[0]["results"]["guichi"]["behind"] is False
    with stack.db() as session:
        ends = [
            e.data
            for e in session.exec(
                select(Event).where(Event.case_no == file_no, Event.type == "campaign_ended")
            )
        ]
    assert ends == [{"met": ["guichi"], "missed": ["dongzhi"]}]


@SQLITE_ONLY
async def test_the_campaigns_in_the_workplace(stack: Stack) -> None:
    """A branch reads its progress; the admin edits a campaign's quotas on its form, each
    error beside its field; a handler tags a report to a campaign from its page."""
    from tests.api.test_workplace import browser, field_error, text_of

    made = await stack.call("POST", URL, ADMIN, json=campaign("e-bikes"))
    assert made.status_code == 201, made.text
    report_no = await filed(stack, campaign=None)
    async with (
        browser(stack, HEAD) as head,
        browser(stack, ADMIN) as admin,
        browser(stack, "guichi") as handler,
    ):
        listed = text_of((await head.get("/campaigns")).text)
        assert "流通领域消防产品专项整治" in listed and "电动自行车专项整治" in listed
        assert "贵池分局" in listed and "东至县局" not in listed
        assert 'id="start-campaigns"' not in (await head.get("/campaigns")).text

        page = await admin.get("/campaigns/e-bikes")
        assert page.status_code == 200 and 'id="campaign-form"' in page.text
        typed = {
            "name": "电动自行车专项整治",
            "categories": "电动自行车、充电器",
            "starts_on": campaign("x")["starts_on"],
            "ends_on": campaign("x")["ends_on"],
            "counted": "1",
            "quota.guichi": "-1",
            "quota.dongzhi": "2",
            "version": "1",
        }
        refused = await admin.post("/campaigns/e-bikes", typed)
        assert refused.status_code == 422
        assert field_error(refused.text, "c-quota-guichi") != ""
        assert 'value="-1"' in refused.text  # what was typed stays
        saved = await admin.post("/campaigns/e-bikes", {**typed, "quota.guichi": "3"})
        assert saved.status_code == 303, saved.text
        shown = text_of((await admin.get(saved.headers["location"])).text)
        assert "已保存" in shown and "目标数" in shown

        case_page = await handler.get(f"/cases/{report_no}")
        assert 'id="tag-campaign"' in case_page.text
        tagged = await handler.post(f"/cases/{report_no}/campaign", {"campaign": "e-bikes"})
        assert tagged.status_code == 303, tagged.text
        after = text_of((await handler.get(tagged.headers["location"])).text)
        assert "专项整治已保存" in after and "已列入： 电动自行车专项整治" in after
        progress = text_of((await head.get("/campaigns/e-bikes")).text)
        assert "贵池分局 1 3" in progress


@SQLITE_ONLY
async def test_the_schedule_opens_each_years_campaigns_once(stack: Stack) -> None:
    """Backfilling January 2025 runs the schedule as if missed: the file of the campaign
    of 2025 is opened once (the plan's of 2026 are not) and its workflow started; its
    quarters and its last day long past, it looks at the progress at once and ends, its
    branch warned at each quarter and missing its quota (nothing was filed)."""
    body = campaign("last-year", starts_on="2025-01-01", ends_on="2025-12-31", quotas={"guichi": 1})
    assert (await stack.call("POST", URL, ADMIN, json=body)).status_code == 201
    await ensure_campaigns_schedule(stack.client, stack.settings)
    await ensure_campaigns_schedule(stack.client, stack.settings)  # updated, not doubled
    schedule = schedule_id(stack.settings.case_no_prefix, CAMPAIGNS_SCHEDULE_ID)
    handle = stack.client.get_schedule_handle(schedule)
    try:
        described = await handle.describe()
        (calendar,) = described.schedule.spec.calendars
        assert isinstance(calendar, ScheduleCalendarSpec)
        assert (calendar.month[0].start, calendar.day_of_month[0].start) == (1, 1)
        span = ScheduleBackfill(
            start_at=datetime(2024, 12, 31, tzinfo=UTC),
            end_at=datetime(2025, 1, 2, tzinfo=UTC),
            overlap=ScheduleOverlapPolicy.ALLOW_ALL,
        )
        await handle.backfill(span)
        await handle.backfill(span)  # the same due time again: nothing opened twice

        async def ended() -> Any:
            found = (await stack.call("GET", f"{URL}/last-year", CITY)).json()
            return found if found["status"] == "closed" else None

        found = await eventually(ended, timeout=60)
        assert [p["met"] for p in found["progress"]] == [False]
        listed = (await stack.call("GET", URL, CITY)).json()["data"]
        assert [c["code"] for c in listed if c["file_no"]] == ["last-year"]
        stops = (await stack.call("GET", f"{URL}/last-year/checkpoints", CITY)).json()
        assert [s["name"] for s in stops] == [
            "campaign_2025q1",
            "campaign_2025q2",
            "campaign_2025q3",
            "campaign_end",
        ]
        tasks = await stack.call(
            "GET",
            "/api/v1/tasks",
            CITY,
            params={"case_no": found["file_no"], "kind": "campaign_behind"},
        )
        # Warned at each quarter; the open warnings were cancelled when the file closed.
        assert [t["unit"] for t in tasks.json()["data"]] == ["guichi"] * 3
    finally:
        await handle.delete()
