"""The station network's duties (issue 13): each branch names its demonstration sites
(示范点) every year by the configured day, the city approves or sends the list back, a late
list is escalated like any late case; a station assessed below the pass mark is given to
its branch to rectify (整改) within the configured working days."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select
from temporalio.client import ScheduleBackfill, ScheduleCalendarSpec, ScheduleOverlapPolicy

from api.calendar.service import working_calendar
from api.casefile.models import Event
from api.config import Settings
from api.supervision.models import SupervisionRecord
from api.workdays import ZONE
from tests.api.test_station_registry import station
from tests.conftest import Stack, open_task
from tests.factories import eventually
from worker import ensure_demonstration_schedule
from workflows.duty import schedule_id

URL = "/api/v1/stations"
CITY, HEAD, OTHER_HEAD, HANDLER = "supervisor", "guichi-supervisor", "dongzhi-supervisor", "guichi"
HOSTS = ("supermarket", "mall", "market", "enterprise", "scenic")
CREDIT = "91110000600037341L"
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def today() -> Any:
    return datetime.now(ZONE).date()


def five_in(code: str, host: str, **overrides: Any) -> dict[str, Any]:
    return station(
        code,
        name=f"贵池区{host}12315消费维权服务站",
        type="service",
        five_in=host,
        host_name=f"池州{host}有限公司",
        host_credit_code=CREDIT,
        **overrides,
    )


async def open_stations(stack: Stack) -> None:
    """guichi: one 五进 station per host type and a second supermarket; one of dongzhi."""
    for host in HOSTS:
        made = await stack.call("POST", URL, HEAD, json=five_in(f"gc-{host}", host))
        assert made.status_code == 201, made.text
    extra = await stack.call("POST", URL, HEAD, json=five_in("gc-supermarket-2", "supermarket"))
    assert extra.status_code == 201, extra.text
    dongzhi = five_in(
        "dz-mall", "mall", branch="dongzhi", township="341721100", village=None
    )  # 尧渡镇
    made = await stack.call("POST", URL, OTHER_HEAD, json=dongzhi)
    assert made.status_code == 201, made.text


def sites(**overrides: str) -> dict[str, str]:
    return {host: f"gc-{host}" for host in HOSTS} | overrides


async def complete(stack: Stack, task: dict[str, Any], as_: str, body: dict[str, Any]) -> Any:
    return await stack.call("POST", f"/api/v1/tasks/{task['id']}/complete", as_, json=body)


async def lists(stack: Stack, as_: str = CITY, **params: Any) -> list[dict[str, Any]]:
    found = await stack.call("GET", f"{URL}/demonstrations", as_, params=params)
    assert found.status_code == 200, found.text
    out: list[dict[str, Any]] = found.json()
    return out


async def test_each_branch_names_its_sites_and_the_city_sends_back_then_approves(
    year_end_stack: Stack,
) -> None:
    stack = year_end_stack
    await open_stations(stack)
    year = today().year
    refused = await stack.call("POST", f"{URL}/demonstrations", HEAD, json={"year": year})
    assert refused.status_code == 403
    early = await stack.call("POST", f"{URL}/demonstrations", CITY, json={"year": year + 1})
    assert early.status_code == 422 and early.json()["code"] == "stations.year_not_begun"
    late = await stack.call("POST", f"{URL}/demonstrations", CITY, json={"year": year - 2})
    assert late.status_code == 422 and late.json()["code"] == "stations.year_over"
    assert late.json()["detail"][0]["loc"] == ["body", "year"]

    started = await stack.call("POST", f"{URL}/demonstrations", CITY, json={"year": year})
    assert started.status_code == 201, started.text
    prefix = stack.settings.case_no_prefix
    file_no = f"{prefix}SF{year}GUICHI"
    assert {d["branch"] for d in started.json()} == {
        "guichi",
        "dongzhi",
        "qingyang",
        "shitai",
        "jiuhuashan",
        "kaifaqu",
    }
    again = await stack.call("POST", f"{URL}/demonstrations", CITY, json={"year": year})
    assert again.status_code == 200
    assert sorted(d["file_no"] for d in again.json()) == sorted(
        d["file_no"] for d in started.json()
    )

    # The branch head's task, due on the configured day; a branch sees its own list only.
    task = await open_task(stack, file_no, "name_sites", HEAD)
    assert (task["unit"], task["role"]) == ("guichi", "supervisor")
    assert datetime.fromisoformat(task["due_at"]).astimezone(ZONE).date() == (
        datetime(year, 12, 31).date() + timedelta(days=1)
    )
    assert [d["branch"] for d in await lists(stack, HEAD)] == ["guichi"]
    own = (await lists(stack, HEAD))[0]
    assert (own["status"], own["due_date"], own["overdue"]) == ("assigned", f"{year}-12-31", False)
    assert (await stack.call("GET", f"/api/v1/tasks/{task['id']}", OTHER_HEAD)).status_code == 404

    # A site must be an open 五进 station of the branch, of that host type.
    for wrong, code in (
        (sites(mall="dz-mall"), "unit.not_yours"),
        (sites(mall="gc-market"), "stations.wrong_host"),
        (sites(mall="nowhere"), "stations.not_found"),
    ):
        bad = await complete(stack, task, HEAD, wrong)
        assert bad.status_code == 422 and bad.json()["code"] == code, bad.text
        assert bad.json()["detail"][0]["loc"] == ["body", "mall"]
    missing = await complete(stack, task, HEAD, {k: v for k, v in sites().items() if k != "scenic"})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"][-1] == "scenic"
    assert (await lists(stack, HEAD))[0]["status"] == "assigned"  # nothing half-written

    named = await complete(stack, task, HEAD, sites())
    assert named.status_code == 200, named.text
    review = await open_task(stack, file_no, "review_sites", CITY)
    assert review["unit"] == "city"
    assert review["context"]["sites"]["scenic"] == {
        "code": "gc-scenic",
        "name": "贵池区scenic12315消费维权服务站",
    }
    assert (await lists(stack, HEAD))[0]["status"] == "submitted"

    # Sent back: the branch names again, due the configured working days after.
    back = await complete(
        stack, review, CITY, {"decision": "send_back", "reason": "超市站点不规范"}
    )
    assert back.status_code == 200, back.text
    task = await open_task(stack, file_no, "name_sites", HEAD)
    with stack.db() as session:
        calendar = working_calendar(session=session)
    due = calendar.add_working_days(today(), stack.settings.demonstration_resubmit_working_days)
    assert datetime.fromisoformat(task["due_at"]).astimezone(ZONE).date() == due.end + timedelta(
        days=1
    )
    own = (await lists(stack, HEAD))[0]
    assert (own["status"], own["returned"]) == ("assigned", 1)
    assert (await complete(stack, task, HEAD, sites(supermarket="gc-supermarket-2"))).is_success

    review = await open_task(stack, file_no, "review_sites", CITY)
    approved = await complete(stack, review, CITY, {"decision": "approve"})
    assert approved.status_code == 200, approved.text
    own = (await lists(stack, HEAD))[0]
    assert (own["status"], own["approved_by"]) == ("closed", CITY)
    assert own["sites"]["supermarket"] == "gc-supermarket-2"

    # The stations named are the branch's 示范点 now, each change on record.
    flagged = {
        s["code"]: s["demonstration"] for s in (await stack.call("GET", URL, HEAD)).json()["data"]
    }
    assert flagged["gc-supermarket-2"] and flagged["gc-scenic"]
    assert not flagged["gc-supermarket"]
    changes = (await stack.call("GET", f"{URL}/gc-scenic/changes", "auditor")).json()
    assert changes[-1]["by"] == CITY
    assert changes[-1]["change"]["demonstration"] == {"from": False, "to": True}
    assert changes[-1]["change"]["file_no"] == file_no

    # The file's history: named, sent back with its reason, named again, approved.
    with stack.db() as session:
        types = [
            e.type
            for e in session.exec(select(Event).where(Event.case_no == file_no).order_by(Event.seq))
        ]
    assert [t for t in types if t.startswith("demonstration_")] == [
        "demonstration_named",
        "demonstration_returned",
        "demonstration_named",
        "demonstration_approved",
    ]
    # It is not a consumer's case: the case list leaves it out.
    cases = (await stack.call("GET", "/api/v1/cases", CITY)).json()
    assert file_no not in {c["case_no"] for c in cases["data"]}


@SQLITE_ONLY
async def test_the_schedule_opens_each_year_once_and_a_late_list_is_escalated(
    stack: Stack,
) -> None:
    """Backfilling January 2026 runs the schedule as if missed: every branch's list of
    2026 is opened once, due 31 March 2026, long past, so each is overdue at once, the city
    supervises it, a chase notice and a criticism follow; named late, it is met late."""
    await ensure_demonstration_schedule(stack.client, stack.settings)
    await ensure_demonstration_schedule(stack.client, stack.settings)  # updated, not doubled
    schedule = schedule_id(stack.settings.case_no_prefix)
    handle = stack.client.get_schedule_handle(schedule)
    try:
        described = await handle.describe()
        (calendar,) = described.schedule.spec.calendars
        assert isinstance(calendar, ScheduleCalendarSpec)
        assert (calendar.month[0].start, calendar.day_of_month[0].start) == (
            1,
            stack.settings.demonstration_open_day,
        )
        assert described.schedule.spec.time_zone_name == "Asia/Shanghai"
        span = ScheduleBackfill(
            start_at=datetime(2026, 1, 1, tzinfo=UTC),
            end_at=datetime(2026, 1, 31, tzinfo=UTC),
            overlap=ScheduleOverlapPolicy.ALLOW_ALL,
        )
        await handle.backfill(span)
        await handle.backfill(span)  # the same due time again: no second list
        file_no = f"{stack.settings.case_no_prefix}SF2026GUICHI"

        async def escalated() -> Any:
            with stack.db() as session:
                kinds = session.exec(
                    select(SupervisionRecord.kind).where(SupervisionRecord.case_no == file_no)
                ).all()
            return set(kinds) >= {"overdue", "notice", "criticism", "accountability"}

        await eventually(escalated, timeout=30)
        found = await lists(stack, year=2026)
        assert len(found) == 6
        own = next(d for d in found if d["branch"] == "guichi")
        assert (own["due_date"], own["overdue"]) == ("2026-03-31", True)
        await open_task(stack, file_no, "supervise", CITY)

        await open_stations(stack)
        task = await open_task(stack, file_no, "name_sites", HEAD)
        assert (await complete(stack, task, HEAD, sites())).status_code == 200
        with stack.db() as session:
            met = [
                e.data
                for e in session.exec(
                    select(Event).where(Event.case_no == file_no, Event.type == "deadline_met")
                )
            ]
        assert met and met[0]["late"] is True
        # Nobody supervises a deadline met: the 督办 task went with it.
        tasks = await stack.call(
            "GET",
            "/api/v1/tasks",
            CITY,
            params={"case_no": file_no, "kind": "supervise", "status": "open"},
        )
        assert tasks.json()["data"] == []
    finally:
        await handle.delete()


def _scores(low: bool) -> dict[str, int]:
    checklist = json.loads(Settings().station_checklist_file.read_text("utf-8"))
    items = {i["code"]: i["points"] for i in checklist["items"]}
    return {**items, "ledger": 5, "settlement": 5} if low else items


async def test_a_station_below_the_pass_mark_is_rectified_by_its_branch(stack: Stack) -> None:
    assert (await stack.call("POST", URL, HEAD, json=station("gc-1"))).status_code == 201
    url = f"{URL}/gc-1/assessments"
    body = {"year": today().year, "assessed_on": today().isoformat(), "scores": _scores(True)}
    failed = await stack.call("POST", url, HEAD, json=body)
    assert failed.status_code == 201, failed.text
    file_no = failed.json()["rectification"]
    assert file_no == f"{stack.settings.case_no_prefix}ZG{today().year}{1:06d}"

    task = await open_task(stack, file_no, "rectify", HANDLER)
    assert (task["unit"], task["role"], task["context"]["station"]) == ("guichi", "handler", "gc-1")
    with stack.db() as session:
        calendar = working_calendar(session=session)
    due = calendar.add_working_days(today(), stack.settings.station_rectification_working_days)
    assert datetime.fromisoformat(task["due_at"]).astimezone(ZONE).date() == due.end + timedelta(
        days=1
    )
    open_ = (await stack.call("GET", f"{URL}/gc-1/rectifications", CITY)).json()
    assert [(r["file_no"], r["status"], r["due_date"]) for r in open_] == [
        (file_no, "assigned", due.end.isoformat())
    ]
    # Failing again while it is open: the open rectification runs on, no second one.
    twice = await stack.call("POST", url, HEAD, json=body)
    assert twice.status_code == 201 and twice.json()["rectification"] is None

    tomorrow = (today() + timedelta(days=1)).isoformat()
    future = await complete(stack, task, HANDLER, {"summary": "补齐台账", "done_on": tomorrow})
    assert future.status_code == 422 and future.json()["detail"][0]["loc"] == ["body", "done_on"]
    empty = await complete(stack, task, HANDLER, {"summary": "", "done_on": today().isoformat()})
    assert empty.status_code == 422
    done = await complete(
        stack,
        task,
        HANDLER,
        {"summary": "补齐纠纷登记台账，明确联络员", "done_on": today().isoformat()},
    )
    assert done.status_code == 200, done.text
    (rectified,) = (await stack.call("GET", f"{URL}/gc-1/rectifications", HEAD)).json()
    assert (rectified["status"], rectified["done_by"], rectified["overdue"]) == (
        "closed",
        HANDLER,
        False,
    )
    assert rectified["summary"] == "补齐纠纷登记台账，明确联络员"
    changes = (await stack.call("GET", f"{URL}/gc-1/changes", CITY)).json()
    assert changes[-1]["change"]["rectified"]["file_no"] == file_no
    # Another branch's head does not see it.
    other = await stack.call("GET", f"{URL}/gc-1/rectifications", OTHER_HEAD)
    assert other.status_code in (403, 404)

    # A later failure opens a new one.
    third = await stack.call("POST", url, HEAD, json=body)
    assert third.json()["rectification"] not in (None, file_no)


@SQLITE_ONLY
async def test_the_duties_in_the_workplace(year_end_stack: Stack) -> None:
    """The city supervisor gives the year's lists by hand; the branch head names the sites
    on the task's form, choosing among the branch's own 五进 stations; the city approves;
    a station is assessed on its page's checklist form, and its rectification shows."""
    from tests.api.test_workplace import browser, field_error, text_of

    stack = year_end_stack
    await open_stations(stack)
    year = today().year
    file_no = f"{stack.settings.case_no_prefix}SF{year}GUICHI"
    async with browser(stack, CITY) as city, browser(stack, HEAD) as head:
        empty = text_of((await city.get("/stations/demonstrations")).text)
        assert f"{year}年的示范点申报任务尚未下达" in empty
        assert 'id="start-demonstrations"' not in (await head.get("/stations/demonstrations")).text
        started = await city.post("/stations/demonstrations", {"year": str(year)})
        assert started.status_code == 303, started.text
        task = await open_task(stack, file_no, "name_sites", HEAD)

        form = await head.get(f"/tasks/{task['id']}")
        assert form.status_code == 200
        # The form offers the branch's open stations of each host type, never another's.
        assert 'value="gc-supermarket-2"' in form.text and 'value="dz-mall"' not in form.text
        facts = text_of(form.text)
        assert "示范点申报时限" in facts and f"{year}年12月31日止" in facts
        assert "中止计时" not in facts  # a duty's clock is not paused for testing
        typed = sites(mall="gc-market")
        refused = await head.post(f"/tasks/{task['id']}", typed)
        assert refused.status_code == 422
        assert field_error(refused.text, "f-mall") == "该站点不是这一类的12315五进站点"
        assert 'value="gc-scenic" selected' in refused.text  # what was chosen stays
        named = await head.post(f"/tasks/{task['id']}", sites())
        assert named.status_code == 303, named.text

        review = await open_task(stack, file_no, "review_sites", CITY)
        page = text_of((await city.get(f"/tasks/{review['id']}")).text)
        assert "确认示范点名单" in page and "退回重报" in page
        done = await city.post(f"/tasks/{review['id']}", {"choice": "approve"})
        assert done.status_code == 303, done.text
        listed = text_of((await head.get(f"/stations/demonstrations?year={year}")).text)
        assert "贵池分局" in listed and "已办结" in listed and "东至县局" not in listed
        assert "贵池区scenic12315消费维权服务站" in listed
        station_page = text_of((await head.get("/stations/gc-scenic")).text)
        assert f"{year}年确认为示范点" in station_page

        # The assessment's form: each item within its points, beside its field.
        checklist = json.loads(Settings().station_checklist_file.read_text("utf-8"))
        low = {f"score.{i['code']}": str(i["points"]) for i in checklist["items"]}
        low |= {"score.ledger": "5", "score.settlement": "5"}
        when = {"year": str(year), "assessed_on": today().isoformat()}
        over = await head.post(
            "/stations/gc-scenic/assessments", {**when, **low, "score.sign": "11"}
        )
        assert over.status_code == 422
        assert field_error(over.text, "a-score-sign") == "得分超出该项分值"
        assert 'value="11"' in over.text
        made = await head.post("/stations/gc-scenic/assessments", {**when, **low})
        assert made.status_code == 303, made.text
        assert made.headers["location"].endswith("notice=to_rectify")
        shown = await head.get(made.headers["location"])
        assert "已向所属单位下达整改任务" in text_of(shown.text)
        assert f"ZG{year}" in text_of(shown.text.split('id="rectifications"')[1])
