"""Public-service sector reviews (issue 13, part 4: 社会评议, 供电 and 金融): the city's review
of a sector over a period and the businesses it reviews; findings against a business and
a review point, from the sector's complaints (by their category) or the reviewers' own;
each a rectification order (整改) with its deadline, escalated when late; and the report of
what was found and rectified, kept at the period's end."""

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from api.calendar.service import working_calendar
from api.casefile.models import Case, Event
from api.reviews.models import Review, ReviewFinding
from api.supervision.models import SupervisionRecord
from api.workdays import ZONE
from tests.conftest import Stack, open_task, register
from tests.factories import eventually

URL = "/api/v1/reviews"
CITY, ADMIN, HEAD = "supervisor", "admin", "guichi-supervisor"
GRID = "91341700MA2N33333"  # 国网池州供电公司, its check digit below
BANK = "91341700MA2N44444"
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def credit(stem: str) -> str:
    from stdnum.cn import uscc

    return stem + uscc.calc_check_digit(stem)


POWER, OTHER = credit(GRID), credit(BANK)


def today() -> Any:
    return datetime.now(ZONE).date()


def review(code: str = "power", **overrides: Any) -> dict[str, Any]:
    return {
        "code": code,
        "sector": "electricity",
        "name": f"{today().year}年供电行业社会评议",
        "starts_on": (today() - timedelta(days=30)).isoformat(),
        "ends_on": (today() + timedelta(days=60)).isoformat(),
        "businesses": [{"credit_code": POWER, "name": "国网池州供电公司"}],
        **overrides,
    }


def finding(**overrides: Any) -> dict[str, Any]:
    return {
        "credit_code": POWER,
        "point": "outage-notice",
        "description": "计划停电未提前七日公告",
        "found_on": today().isoformat(),
        **overrides,
    }


async def test_a_review_is_the_citys_and_a_bad_one_names_its_field(stack: Stack) -> None:
    assert (await stack.call("POST", URL, HEAD, json=review())).status_code == 403
    wrong = [
        (review(sector="railways"), "sector"),
        (review(ends_on=(today() - timedelta(days=1)).isoformat()), "ends_on"),
        (review(ends_on=(today() - timedelta(days=40)).isoformat()), "ends_on"),
        (review(businesses=[{"credit_code": POWER[:-1] + "0", "name": "某"}]), "credit_code"),
        (review(businesses=[]), "businesses"),
    ]
    for body, field in wrong:
        refused = await stack.call("POST", URL, CITY, json=body)
        assert refused.status_code == 422, (field, refused.text)
        assert field in {str(d["loc"][-1]) for d in refused.json()["detail"]}, refused.text

    made = await stack.call("POST", URL, CITY, json=review())
    assert made.status_code == 201, made.text
    file_no = made.json()["file_no"]
    started = (today() - timedelta(days=30)).year
    assert file_no == f"{stack.settings.case_no_prefix}PY{started}001"
    assert (await stack.call("POST", URL, ADMIN, json=review())).status_code == 409

    async def timed() -> Any:
        return (await stack.call("GET", f"{URL}/power", HEAD)).json()["status"] == "assigned"

    await eventually(timed)
    body = {**review(), "version": 1}
    del body["code"], body["sector"]
    moved = await stack.call(
        "PUT", f"{URL}/power", CITY, json=body | {"ends_on": today().isoformat()}
    )
    assert moved.status_code == 409 and moved.json()["code"] == "reviews.period_fixed"
    two = body | {"businesses": body["businesses"] + [{"credit_code": OTHER, "name": "某银行"}]}
    saved = await stack.call("PUT", f"{URL}/power", CITY, json=two)
    assert saved.status_code == 200 and len(saved.json()["businesses"]) == 2
    stale = await stack.call("PUT", f"{URL}/power", CITY, json=two)
    assert stale.status_code == 409 and stale.json()["code"] == "reviews.changed"
    changes = (await stack.call("GET", f"{URL}/power/changes", HEAD)).json()
    assert "businesses" in changes[-1]["change"]["edited"]
    sectors = (await stack.call("GET", f"{URL}/sectors", HEAD)).json()
    assert {s["code"] for s in sectors} == {"electricity", "finance"}
    assert (await stack.call("GET", URL, "st-wanda")).status_code == 403


async def test_findings_from_the_sectors_complaints_become_rectification_orders(
    stack: Stack,
) -> None:
    made = await stack.call("POST", URL, CITY, json=review())
    assert made.status_code == 201, made.text
    power = await register(stack, category="供电", respondent={"name": "国网池州供电公司"})
    clothes = await register(stack, category="服装")

    listed = (await stack.call("GET", f"{URL}/power/complaints", CITY)).json()
    assert [c["case_no"] for c in listed] == [power]
    filtered = await stack.call("GET", "/api/v1/cases", CITY, params={"category": ["供电", "电力"]})
    assert [c["case_no"] for c in filtered.json()["data"]] == [power]

    wrong = [
        (finding(case_no=clothes), "case_no"),
        (finding(case_no="TS19990101000001"), "case_no"),
        (finding(point="queues"), "point"),  # a point of banking, not of electricity
        (finding(credit_code=OTHER), "credit_code"),
        (finding(found_on=(today() + timedelta(days=1)).isoformat()), "found_on"),
        (finding(unit="st-wanda"), "unit"),
    ]
    for body, field in wrong:
        refused = await stack.call("POST", f"{URL}/power/findings", CITY, json=body)
        assert refused.status_code == 422, (field, refused.text)
        assert field in {d["loc"][-1] for d in refused.json()["detail"]}, refused.text
    assert (
        await stack.call("POST", f"{URL}/power/findings", HEAD, json=finding())
    ).status_code == 403

    first = await stack.call("POST", f"{URL}/power/findings", CITY, json=finding(case_no=power))
    assert first.status_code == 201, first.text
    order = first.json()["order_no"]
    assert order.startswith(f"{stack.settings.case_no_prefix}PZ")
    again = await stack.call("POST", f"{URL}/power/findings", CITY, json=finding(case_no=power))
    assert again.status_code == 409 and again.json()["code"] == "reviews.finding_exists"
    second = await stack.call(
        "POST", f"{URL}/power/findings", CITY, json=finding(point="repair", unit="guichi")
    )
    assert second.status_code == 201, second.text

    # The city follows the first up, 贵池分局 the second, each within the working days.
    task = await open_task(stack, order, "review_rectified", CITY)
    with stack.db() as session:
        calendar = working_calendar(session=session)
    due = calendar.add_working_days(today(), stack.settings.review_rectification_working_days)
    assert datetime.fromisoformat(task["due_at"]).astimezone(ZONE).date() == due.end + timedelta(
        days=1
    )
    theirs = await open_task(stack, second.json()["order_no"], "review_rectified", HEAD)
    assert theirs["unit"] == "guichi"
    own = (await stack.call("GET", f"{URL}/power/findings", HEAD)).json()
    assert [f["point"] for f in own] == ["repair"]  # a branch sees what it follows up

    url = f"/api/v1/tasks/{task['id']}/complete"
    tomorrow = (today() + timedelta(days=1)).isoformat()
    future = await stack.call("POST", url, CITY, json={"summary": "补发公告", "done_on": tomorrow})
    assert future.status_code == 422 and future.json()["detail"][0]["loc"] == ["body", "done_on"]
    done = await stack.call(
        "POST", url, CITY, json={"summary": "建立停电公告复核制度", "done_on": today().isoformat()}
    )
    assert done.status_code == 200, done.text

    report = (await stack.call("GET", f"{URL}/power/report", CITY)).json()
    assert report["final"] is False
    assert report["totals"] == {"found": 2, "rectified": 1, "open": 1, "overdue": 0}
    assert report["points"]["outage-notice"]["rectified"] == 1
    assert report["points"]["repair"]["open"] == 1
    assert report["businesses"][POWER]["found"] == 2
    sheet = await stack.call("GET", f"{URL}/power/report", CITY, params={"format": "xlsx"})
    assert sheet.status_code == 200 and sheet.content[:2] == b"PK"
    shown = (await stack.call("GET", f"{URL}/power", CITY)).json()
    assert (shown["findings"], shown["rectified"]) == (2, 1)
    dropped = {**review(), "version": 1, "businesses": [{"credit_code": OTHER, "name": "某银行"}]}
    del dropped["code"], dropped["sector"]
    kept = await stack.call("PUT", f"{URL}/power", CITY, json=dropped)
    assert kept.status_code == 422 and kept.json()["code"] == "reviews.business_found"


async def test_the_review_reports_at_its_end_and_a_late_order_is_escalated(
    skipping_stack: Stack, skipping_env: WorkflowEnvironment
) -> None:
    """A review ending in ten days: its finding's order is open at the end (reported
    open), the report is kept and the file closes; thirty working days on, the order is
    overdue and supervised."""
    stack = skipping_stack
    body = review(ends_on=(today() + timedelta(days=10)).isoformat())
    made = await stack.call("POST", URL, CITY, json=body)
    assert made.status_code == 201, made.text
    file_no = made.json()["file_no"]
    added = await stack.call("POST", f"{URL}/power/findings", CITY, json=finding())
    order = added.json()["order_no"]
    await open_task(stack, order, "review_rectified", CITY)

    await skipping_env.sleep(timedelta(days=12))

    async def reported() -> Any:
        found = (await stack.call("GET", f"{URL}/power/report", CITY)).json()
        return found if found["final"] else None

    found = await eventually(reported, timeout=30)
    assert found["totals"] == {"found": 1, "rectified": 0, "open": 1, "overdue": 0}
    with stack.db() as session:
        status = session.exec(select(Case.status).where(Case.case_no == file_no)).one()
        ended = session.exec(
            select(Event).where(Event.case_no == file_no, Event.type == "review_ended")
        ).one()
    assert status == "closed" and ended.data["open"] == 1
    late = await stack.call("POST", f"{URL}/power/findings", CITY, json=finding(point="repair"))
    assert late.status_code == 409 and late.json()["code"] == "reviews.ended"

    await skipping_env.sleep(timedelta(days=50))

    async def escalated() -> Any:
        with stack.db() as session:
            kinds = session.exec(
                select(SupervisionRecord.kind).where(SupervisionRecord.case_no == order)
            ).all()
        return "overdue" in set(kinds)

    await eventually(escalated, timeout=30)
    await open_task(stack, order, "supervise", CITY)


@SQLITE_ONLY
async def test_the_review_in_the_workplace(stack: Stack) -> None:
    """The city opens a review on its form (errors beside their fields, what was typed
    kept), records a finding from a sector's complaint, and the branch that follows it up
    sees the order on its page and the review's; the report downloads as a sheet."""
    from tests.api.test_workplace import browser, field_error, text_of

    power = await register(stack, category="供电", respondent={"name": "国网池州供电公司"})
    async with browser(stack, CITY) as city, browser(stack, HEAD) as head:
        empty = (await city.get("/reviews")).text
        assert "还没有社会评议" in text_of(empty) and 'id="review-form"' in empty
        assert 'id="review-form"' not in (await head.get("/reviews")).text
        typed = {
            "code": "power",
            "sector": "electricity",
            "name": "供电行业社会评议",
            "starts_on": (today() - timedelta(days=30)).isoformat(),
            "ends_on": (today() - timedelta(days=40)).isoformat(),
            "businesses": f"{POWER[:-1]}0 国网池州供电公司",
        }
        refused = await city.post("/reviews", typed)
        assert refused.status_code == 422
        assert field_error(refused.text, "r-ends_on") == "结束日期不能早于开始日期或今天"
        assert field_error(refused.text, "r-businesses").startswith("每行一个单位")
        assert 'value="供电行业社会评议"' in refused.text
        typed |= {
            "ends_on": (today() + timedelta(days=60)).isoformat(),
            "businesses": f"{POWER} 国网池州供电公司",
        }
        made = await city.post("/reviews", typed)
        assert made.status_code == 303, made.text
        assert made.headers["location"] == "/reviews/power"

        page = await city.get("/reviews/power")
        assert f'<option value="{power}"' in page.text  # the sector's complaint to pick
        wrong = await city.post(
            "/reviews/power/findings",
            {"credit_code": POWER, "point": "repair", "description": "", "unit": "guichi"},
        )
        assert wrong.status_code == 422
        assert field_error(wrong.text, "f-description")
        assert field_error(wrong.text, "f-found_on")
        found = await city.post(
            "/reviews/power/findings",
            {
                "credit_code": POWER,
                "point": "repair",
                "description": "故障报修四小时未到场",
                "case_no": power,
                "unit": "guichi",
                "found_on": today().isoformat(),
            },
        )
        assert found.status_code == 303, found.text
        with stack.db() as session:
            order = session.exec(select(ReviewFinding.order_no)).one()
        assert order is not None
        await open_task(stack, order, "review_rectified", HEAD)

        theirs = text_of((await head.get("/reviews/power")).text)
        assert "故障抢修不及时" in theirs and order in theirs and "未整改" in theirs
        assert 'id="finding-form"' not in (await head.get("/reviews/power")).text
        order_page = text_of((await head.get(f"/cases/{order}")).text)
        assert "故障报修四小时未到场" in order_page and "国网池州供电公司" in order_page
        sheet = await city.get("/reviews/power?format=xlsx")
        assert sheet.status_code == 200 and sheet.content[:2] == b"PK"
        listed = text_of((await city.get("/reviews")).text)
        assert "供电行业社会评议 供电" in listed
        with stack.db() as session:
            file_no = session.exec(select(Review.case_no)).one()
        file_page = text_of((await city.get(f"/cases/{file_no}")).text)
        assert "社会评议 供电行业社会评议" in file_page
