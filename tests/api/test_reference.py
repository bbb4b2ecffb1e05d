"""The admin's reference documents (基础数据, issue 13 "everywhere"): the station
checklist, the monitoring catalogue and the review sectors ship in ``config/`` and are
edited by the admin without a deploy, each save versioned and on record, a bad one refused
by its field, an entry recorded data names kept; and a township given to another branch,
its villages and open stations going with it; a community added, renamed, or retired when
merged away, and coverage counting what is there now."""

from typing import Any

import pytest
from sqlmodel import select

from api.stations.models import StationChange
from tests.api import test_monitoring as monitoring_
from tests.api import test_reviews as reviews_
from tests.api.test_station_registry import station
from tests.conftest import Stack

URL = "/api/v1/reference"
ADMIN, CITY, HEAD = "admin", "supervisor", "guichi-supervisor"
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


async def read(stack: Stack, name: str, as_: str = ADMIN) -> dict[str, Any]:
    found = await stack.call("GET", f"{URL}/{name}", as_)
    assert found.status_code == 200, found.text
    return dict(found.json())


async def save(stack: Stack, name: str, content: dict[str, Any], version: int) -> Any:
    return await stack.call(
        "PUT", f"{URL}/{name}", ADMIN, json={"version": version, "content": content}
    )


def locations(answer: Any) -> set[tuple[Any, ...]]:
    return {tuple(d["loc"]) for d in answer.json()["detail"]}


async def test_the_admin_edits_the_checklist_and_the_next_assessment_reads_it(
    stack: Stack,
) -> None:
    listed = (await stack.call("GET", URL, CITY)).json()
    assert {d["name"]: d["version"] for d in listed} == {
        "station-checklist": 0,
        "monitoring": 0,
        "reviews": 0,
    }
    assert (await stack.call("GET", URL, "operator")).status_code == 403
    shipped = await read(stack, "station-checklist", CITY)
    content = shipped["content"]
    assert content["pass_mark"] == 80 and len(content["items"]) == 8
    refused = await stack.call(
        "PUT", f"{URL}/station-checklist", CITY, json={"version": 0, "content": content}
    )
    assert refused.status_code == 403

    items = content["items"]
    wrong = [
        ({**content, "pass_mark": 101}, ("body", "content", "pass_mark")),
        ({**content, "items": [*items, {**items[0]}]}, ("body", "content", "items")),
        (
            {**content, "items": [items[0] | {"points": 0}, *items[1:]]},
            ("body", "content", "items", 0, "points"),
        ),
        (
            {**content, "items": [items[0] | {"code": "Sign Up"}, *items[1:]]},
            ("body", "content", "items", 0, "code"),
        ),
        ({**content, "colour": "red"}, ("body", "content", "colour")),
    ]
    for body, loc in wrong:
        answer = await save(stack, "station-checklist", body, 0)
        assert answer.status_code == 422, (loc, answer.text)
        assert loc in locations(answer), answer.text
    assert (await read(stack, "station-checklist"))["version"] == 0  # nothing was written

    # 消防安全 added (10 points): the total is 110, and the pass mark 88.
    fire = {"code": "fire", "name": "消防安全：配备灭火器材，通道畅通", "points": 10}
    edited = {"pass_mark": 88, "items": [*items, fire]}
    saved = await save(stack, "station-checklist", edited, 0)
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 1 and saved.json()["saved_by"] == ADMIN
    stale = await save(stack, "station-checklist", edited, 0)
    assert stale.status_code == 409 and stale.json()["code"] == "reference.changed"
    changes = (await stack.call("GET", f"{URL}/station-checklist/changes", "auditor")).json()
    assert changes[0]["version"] == 1
    assert set(changes[0]["changed"]) == {"合格线：80 → 88", f"考核项目新增 {fire['name']}"}

    # The next assessment is scored against the saved checklist: without 消防安全 it is
    # incomplete; with it, 100 of 110 is over the new pass mark.
    assert (await stack.call("POST", "/api/v1/stations", HEAD, json=station("gc-r"))).is_success
    url = "/api/v1/stations/gc-r/assessments"
    scores = {i["code"]: i["points"] for i in items}
    body = {"year": 2026, "assessed_on": "2026-11-20", "scores": scores}
    missing = await stack.call("POST", url, HEAD, json=body)
    assert missing.status_code == 422 and missing.json()["code"] == "stations.item_missing"
    done = await stack.call("POST", url, HEAD, json=body | {"scores": scores | {"fire": 0}})
    assert done.status_code == 201, done.text
    assert (done.json()["total"], done.json()["pass_mark"], done.json()["passed"]) == (
        100,
        88,
        True,
    )


async def test_a_commodity_a_plan_names_stays_and_a_new_one_is_planned_at_once(
    stack: Stack,
) -> None:
    await monitoring_.ready(stack)  # a plan naming 家用电器 and 服装, city community, village
    content = (await read(stack, "monitoring"))["content"]
    dropped = {
        **content,
        "commodities": [c for c in content["commodities"] if c["code"] != "appliances"],
        "areas": [a for a in content["areas"] if a["code"] != "village"],
    }
    refused = await save(stack, "monitoring", dropped, 0)
    assert refused.status_code == 422 and refused.json()["code"] == "reference.in_use"
    named = {(d["loc"][-1], d["input"]) for d in refused.json()["detail"]}
    assert named == {("commodities", "appliances"), ("areas", "village")}
    high = await save(stack, "monitoring", {**content, "threshold": 1.5}, 0)
    assert ("body", "content", "threshold") in locations(high)

    toys = {"code": "toys", "name": "玩具"}
    grown = {**content, "commodities": [*content["commodities"], toys], "threshold": 0.25}
    assert (await save(stack, "monitoring", grown, 0)).status_code == 200
    catalogue = (await stack.call("GET", "/api/v1/monitoring/catalogue", HEAD)).json()
    assert "玩具" in {c["name"] for c in catalogue["commodities"]}
    assert catalogue["threshold"] == 0.25
    plan = monitoring_.plan(year=monitoring_.today().year + 1)
    plan["targets"].append({"commodity": "toys", "area": "village", "target": 5})
    made = await stack.call("POST", "/api/v1/monitoring/plans", CITY, json=plan)
    assert made.status_code == 201, made.text
    assert made.json()["threshold"] == 0.25  # the new default


async def test_a_review_point_a_finding_names_stays_and_a_new_one_is_found_against(
    stack: Stack,
) -> None:
    made = await stack.call("POST", "/api/v1/reviews", CITY, json=reviews_.review())
    assert made.status_code == 201, made.text
    found = await stack.call(
        "POST", "/api/v1/reviews/power/findings", CITY, json=reviews_.finding()
    )
    assert found.status_code == 201, found.text
    content = (await read(stack, "reviews"))["content"]
    power, bank = content["sectors"]
    kept = [p for p in power["points"] if p["code"] != "outage-notice"]
    refused = await save(stack, "reviews", {"sectors": [power | {"points": kept}, bank]}, 0)
    assert refused.status_code == 422 and refused.json()["code"] == "reference.in_use"
    assert {d["input"] for d in refused.json()["detail"]} == {"outage-notice"}
    gone = await save(stack, "reviews", {"sectors": [bank]}, 0)
    assert {d["input"] for d in gone.json()["detail"]} == {"electricity"}
    blank = await save(stack, "reviews", {"sectors": [power | {"categories": [""]}, bank]}, 0)
    assert ("body", "content", "sectors", 0, "categories") in locations(blank)

    meter = {"code": "meters", "name": "电能表计量不准"}
    grown = power | {"points": [*power["points"], meter], "categories": ["供电", "电费"]}
    assert (await save(stack, "reviews", {"sectors": [grown, bank]}, 0)).status_code == 200
    again = await stack.call(
        "POST", "/api/v1/reviews/power/findings", CITY, json=reviews_.finding(point="meters")
    )
    assert again.status_code == 201, again.text
    sectors = (await stack.call("GET", "/api/v1/reviews/sectors", HEAD)).json()
    assert sectors[0]["categories"] == ["供电", "电费"]


async def test_a_township_given_to_another_branch_takes_its_villages_and_stations(
    stack: Stack,
) -> None:
    opened = await stack.call("POST", "/api/v1/stations", HEAD, json=station("gc-move"))
    assert opened.status_code == 201, opened.text
    url = "/api/v1/divisions/341702001"  # 池阳街道, 贵池分局's
    body = {"branch": "kaifaqu"}
    assert (await stack.call("PUT", url, CITY, json=body)).status_code == 403
    village = await stack.call("PUT", "/api/v1/divisions/341702001008", ADMIN, json=body)
    assert village.status_code == 422 and village.json()["code"] == "stations.not_township"
    centre = await stack.call("PUT", url, ADMIN, json={"branch": "centre"})
    assert centre.status_code == 422 and ("body", "branch") in locations(centre)
    unknown = await stack.call("PUT", "/api/v1/divisions/341702999", ADMIN, json=body)
    assert unknown.status_code == 404

    moved = await stack.call("PUT", url, ADMIN, json=body)
    assert moved.status_code == 200 and moved.json()["branch"] == "kaifaqu", moved.text
    theirs = await stack.call(
        "GET", "/api/v1/divisions", CITY, params={"branch": "kaifaqu", "level": "village"}
    )
    assert "341702001008" in {d["code"] for d in theirs.json()["data"]}
    shown = await stack.call("GET", "/api/v1/stations/gc-move", CITY)
    assert shown.json()["branch"] == "kaifaqu" and shown.json()["version"] == 2
    assert (await stack.call("GET", "/api/v1/stations/gc-move", HEAD)).status_code == 403
    with stack.db() as session:
        change = session.exec(
            select(StationChange.change)
            .where(StationChange.station == "gc-move")
            .order_by(StationChange.id.desc())  # type: ignore[union-attr]
        ).first()
    assert change == {
        "edited": {"branch": {"from": "guichi", "to": "kaifaqu"}},
        "township": "341702001",
    }
    records = (await stack.call("GET", "/api/v1/divisions/changes", "auditor")).json()
    assert records[0]["division"] == "341702001" and records[0]["action"] == "edited"
    assert records[0]["change"] == {
        "branch": {"from": "guichi", "to": "kaifaqu"},
        "stations": ["gc-move"],
    }
    same = await stack.call("PUT", url, ADMIN, json=body)
    assert same.status_code == 200
    assert len((await stack.call("GET", "/api/v1/divisions/changes", ADMIN)).json()) == 1


async def gaps_of(stack: Stack, branch: str = "guichi") -> set[str]:
    found = await stack.call("GET", "/api/v1/stations/coverage", CITY, params={"branch": branch})
    assert found.status_code == 200, found.text
    return {g["code"] for g in found.json()["data"][0]["gaps"]}


async def test_a_community_added_renamed_and_merged_away_is_covered_while_it_is_there(
    stack: Stack,
) -> None:
    new = {"code": "341702001099", "name": "新建社区", "township": "341702001"}
    assert (await stack.call("POST", "/api/v1/divisions", CITY, json=new)).status_code == 403
    outside = await stack.call(
        "POST", "/api/v1/divisions", ADMIN, json=new | {"code": "341702002099"}
    )
    assert outside.status_code == 422 and ("body", "code") in locations(outside)
    assert outside.json()["code"] == "stations.code_outside_township"
    nowhere = await stack.call(
        "POST", "/api/v1/divisions", ADMIN, json=new | {"township": "341702999"}
    )
    assert nowhere.status_code == 422 and ("body", "township") in locations(nowhere)
    short = await stack.call("POST", "/api/v1/divisions", ADMIN, json=new | {"code": "3417"})
    assert short.status_code == 422 and ("body", "code") in locations(short)

    added = await stack.call("POST", "/api/v1/divisions", ADMIN, json=new)
    assert added.status_code == 201, added.text
    assert added.json()["branch"] == "guichi" and added.json()["level"] == "village"
    again = await stack.call("POST", "/api/v1/divisions", ADMIN, json=new)
    assert again.status_code == 409 and again.json()["code"] == "stations.division_exists"
    assert "341702001099" in await gaps_of(stack)  # a new place without its stations

    url = "/api/v1/divisions/341702001099"
    assert (await stack.call("PUT", url, ADMIN, json={})).status_code == 422
    renamed = await stack.call("PUT", url, ADMIN, json={"name": "新城社区"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "新城社区"

    there = station("gc-new", village="341702001099")
    assert (await stack.call("POST", "/api/v1/stations", HEAD, json=there)).status_code == 201
    retire = {"reason": "村（社区）撤并", "merged_into": "341702001008"}
    busy = await stack.call("POST", f"{url}/retire", ADMIN, json=retire)
    assert busy.status_code == 409 and busy.json()["code"] == "stations.division_in_use"
    assert "gc-new" in busy.json()["detail"]
    close = {"closed_on": "2026-12-01", "reason": "社区撤并", "version": 1}
    closed = await stack.call("POST", "/api/v1/stations/gc-new/close", HEAD, json=close)
    assert closed.status_code == 200, closed.text
    itself = await stack.call(
        "POST", f"{url}/retire", ADMIN, json=retire | {"merged_into": "341702001099"}
    )
    assert itself.status_code == 422 and ("body", "merged_into") in locations(itself)
    town = await stack.call("POST", "/api/v1/divisions/341702001/retire", ADMIN, json=retire)
    assert town.status_code == 422 and town.json()["code"] == "stations.not_village"
    assert (await stack.call("POST", f"{url}/retire", CITY, json=retire)).status_code == 403

    retired = await stack.call("POST", f"{url}/retire", ADMIN, json=retire)
    assert retired.status_code == 200, retired.text
    assert retired.json()["retired_on"] and retired.json()["merged_into"] == "341702001008"
    assert "341702001099" not in await gaps_of(stack)
    listed = await stack.call("GET", "/api/v1/divisions", CITY, params={"township": "341702001"})
    assert "341702001099" not in {d["code"] for d in listed.json()["data"]}
    kept = await stack.call(
        "GET",
        "/api/v1/divisions",
        CITY,
        params={"township": "341702001", "include_retired": "true"},
    )
    assert "341702001099" in {d["code"] for d in kept.json()["data"]}
    twice = await stack.call("POST", f"{url}/retire", ADMIN, json=retire)
    assert twice.status_code == 409 and twice.json()["code"] == "stations.division_retired"
    late = await stack.call("PUT", url, ADMIN, json={"name": "又一社区"})
    assert late.status_code == 409
    reopened = await stack.call(
        "POST", "/api/v1/stations", HEAD, json=station("gc-new2", village="341702001099")
    )
    assert reopened.status_code == 422 and ("body", "village") in locations(reopened)
    history = await stack.call("GET", "/api/v1/stations/gc-new/changes", CITY)
    assert history.status_code == 200 and len(history.json()) >= 2  # opened, closed: kept

    records = (
        await stack.call(
            "GET", "/api/v1/divisions/changes", "auditor", params={"township": "341702001"}
        )
    ).json()
    assert [(r["division"], r["action"]) for r in records] == [
        ("341702001099", "retired"),
        ("341702001099", "edited"),
        ("341702001099", "added"),
    ]
    assert records[1]["change"] == {"name": {"from": "新建社区", "to": "新城社区"}}
    assert records[0]["change"]["merged_into"] == "341702001008"


@SQLITE_ONLY
async def test_the_reference_documents_in_the_workplace(stack: Stack) -> None:
    """The admin edits the checklist on its form (an error beside its cell, what was typed
    kept), the saved version is listed with its change; a supervisor reads it only; the
    admin gives a township to another branch on the divisions page."""
    from tests.api.test_workplace import browser, field_error, text_of

    async with browser(stack, ADMIN) as admin, browser(stack, CITY) as city:
        listed = text_of((await admin.get("/admin/reference")).text)
        assert "站点标准化建设标准（考核评分表）" in listed and "随软件载入" in listed
        page = await admin.get("/admin/reference/station-checklist")
        assert 'value="统一标识：悬挂统一标牌，公示投诉电话"' in page.text
        form = {"version": "0", "pass_mark": "80", "count.items": "9"}
        codes = ["sign", "rules", "staff", "ledger", "settlement", "training", "publicity"]
        for i, code in enumerate(codes):
            form |= {f"items.{i}.code": code, f"items.{i}.name": code, f"items.{i}.points": "10"}
        form |= {"items.7.code": "", "items.7.name": "群众满意", "items.7.points": "5"}  # dropped
        form |= {"items.8.code": "fire", "items.8.name": "消防安全", "items.8.points": "abc"}
        wrong = await admin.post("/admin/reference/station-checklist", form)
        assert wrong.status_code == 422
        assert field_error(wrong.text, "items-8-points")
        assert 'value="消防安全"' in wrong.text
        high = await admin.post(
            "/admin/reference/station-checklist", form | {"items.8.points": "10", "pass_mark": "99"}
        )
        assert field_error(high.text, "pass_mark") == "合格线不能高于各项分值之和"
        saved = await admin.post(
            "/admin/reference/station-checklist", form | {"items.8.points": "10"}
        )
        assert saved.status_code == 303, saved.text
        shown = text_of((await admin.get(saved.headers["location"])).text)
        assert "已保存为第 1 版" in shown and "考核项目新增 消防安全" in shown
        # the shipped row not sent is dropped; the row with a blank code was never added
        assert "考核项目删除 群众满意：回访满意率达到要求" in shown
        assert "考核项目新增 群众满意" not in shown
        read_only = (await city.get("/admin/reference/station-checklist")).text
        assert 'value="消防安全"' in read_only and "保存为新版本" not in read_only
        refused = await city.post("/admin/reference/station-checklist", form)
        assert refused.status_code == 403

        divisions = await admin.get("/admin/divisions")
        assert 'id="d-341702001"' in divisions.text
        moved = await admin.post("/admin/divisions/341702001", {"branch": "kaifaqu"})
        assert moved.status_code == 303, moved.text
        after = text_of((await admin.get(moved.headers["location"])).text)
        assert "341702001 由贵池分局调整到开发区分局" in after

        town = "/admin/divisions/341702001"
        assert "秀山居委会" in (await admin.get(town)).text
        wrong = await admin.post(f"{town}/villages", {"code": "341702002099", "name": "新建社区"})
        assert wrong.status_code == 422
        assert (
            field_error(wrong.text, "new-code")
            == "村（社区）的统计代码应以所属乡镇（街道）的代码开头"
        )
        assert 'value="新建社区"' in wrong.text
        added = await admin.post(f"{town}/villages", {"code": "341702001099", "name": "新建社区"})
        assert added.status_code == 303, added.text
        shown = await admin.get(added.headers["location"])
        assert 'id="d-341702001099"' in shown.text
        merged = await admin.post(
            "/admin/divisions/341702001099/retire",
            {"reason": "社区撤并", "merged_into": "341702001008"},
        )
        assert merged.status_code == 303, merged.text
        after = text_of((await admin.get(merged.headers["location"])).text)
        assert "341702001099 新建社区 撤并（社区撤并），并入 341702001008 秀山居委会" in after
        assert "新增 341702001099 新建社区（池阳街道）" in after
        assert "新增村（社区）" not in (await city.get(town)).text  # read only
