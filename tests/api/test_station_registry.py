"""The station network's registry (名录, issue 13): the divisions seeded as data, stations
opened, edited and closed with every change on record, who keeps and who reads them, and
the coverage of 一会两站 and 12315 五进 per branch."""

import csv
import json
from io import BytesIO
from pathlib import Path
from typing import Any

import openpyxl

from api.config import Settings
from tests.conftest import Stack

URL = "/api/v1/stations"
CITY, HEAD, OTHER_HEAD = "supervisor", "guichi-supervisor", "dongzhi-supervisor"
# A real 统一社会信用代码 (its check digit holds), and the same with the last one wrong.
CREDIT = "91110000600037341L"
BAD_CREDIT = "91110000600037341M"


def station(code: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code,
        "name": "池阳街道秀山居委会12315联络站",
        "type": "liaison",
        "branch": "guichi",
        "township": "341702001",  # 池阳街道
        "village": "341702001008",  # 秀山居委会
        "contacts": [{"name": "王五", "phone": "0566-2021234", "role": "联络员"}],
        "opened_on": "2026-03-01",
    }
    body.update(overrides)
    return body


def test_the_divisions_file_holds_the_city() -> None:
    with Settings().divisions_file.open(encoding="utf-8") as rows:
        levels = [row["level"] for row in csv.DictReader(rows)]
    assert (levels.count("county"), levels.count("township"), levels.count("village")) == (
        4,
        66,
        695,
    )


async def test_the_divisions_are_seeded_each_with_its_branch(stack: Stack) -> None:
    found = await stack.call("GET", "/api/v1/divisions", CITY, params={"level": "village"})
    assert found.status_code == 200, found.text
    assert found.json()["count"] == 695
    by_code = {d["code"]: d for d in found.json()["data"]}
    assert by_code["341702001008"]["name"] == "秀山居委会"
    assert by_code["341702001008"]["branch"] == "guichi"
    towns = await stack.call("GET", "/api/v1/divisions", CITY, params={"level": "township"})
    branch_of = {d["name"]: d["branch"] for d in towns.json()["data"]}
    assert branch_of["九华镇"] == "jiuhuashan"  # given to 九华山分局, though in 青阳县
    assert branch_of["池州经济技术开发区"] == "kaifaqu"
    assert branch_of["蓉城镇"] == "qingyang"
    # A branch's head sees its own divisions, and is refused another's.
    own = await stack.call("GET", "/api/v1/divisions", HEAD, params={"level": "township"})
    assert {d["branch"] for d in own.json()["data"]} == {"guichi"}
    other = await stack.call("GET", "/api/v1/divisions", HEAD, params={"branch": "dongzhi"})
    assert other.status_code == 403


async def test_a_station_is_opened_edited_and_closed_with_every_change_on_record(
    stack: Stack,
) -> None:
    made = await stack.call(
        "POST", URL, HEAD, json=station("gc-xiushan", host_credit_code=CREDIT.lower())
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["township_name"] == "池阳街道" and body["village_name"] == "秀山居委会"
    assert body["host_credit_code"] == CREDIT and body["version"] == 1
    again = await stack.call("POST", URL, CITY, json=station("gc-xiushan"))
    assert again.status_code == 409 and again.json()["code"] == "stations.taken"

    recoded = await stack.call(
        "PUT", f"{URL}/gc-xiushan", HEAD, json={**station("x"), "version": 1}
    )
    assert recoded.status_code == 422  # the code is not an editable field
    body = {k: v for k, v in station("x", host_credit_code=CREDIT).items() if k != "code"}
    edited = await stack.call(
        "PUT", f"{URL}/gc-xiushan", HEAD, json={**body, "demonstration": True, "version": 1}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["demonstration"] is True and edited.json()["version"] == 2
    stale = await stack.call(
        "PUT", f"{URL}/gc-xiushan", CITY, json={**body, "name": "旧名", "version": 1}
    )
    assert stale.status_code == 409 and stale.json()["code"] == "stations.changed"

    closed = await stack.call(
        "POST",
        f"{URL}/gc-xiushan/close",
        HEAD,
        json={"closed_on": "2026-11-30", "reason": "居委会合并", "version": 2},
    )
    assert closed.status_code == 200, closed.text
    late = await stack.call("PUT", f"{URL}/gc-xiushan", HEAD, json={**body, "version": 3})
    assert late.status_code == 409 and late.json()["code"] == "stations.closed"
    # Closed, it leaves the list of open stations; its record and history stay.
    listed = (await stack.call("GET", URL, HEAD)).json()
    assert "gc-xiushan" not in {s["code"] for s in listed["data"]}
    everything = (await stack.call("GET", URL, HEAD, params={"include_closed": True})).json()
    assert "gc-xiushan" in {s["code"] for s in everything["data"]}
    history = (await stack.call("GET", f"{URL}/gc-xiushan/changes", "auditor")).json()
    assert [next(iter(c["change"])) for c in history] == ["opened", "edited", "closed"]
    assert history[1]["change"]["edited"] == {"demonstration": {"from": False, "to": True}}
    assert history[1]["by"] == HEAD and history[2]["change"]["closed"]["reason"] == "居委会合并"


async def test_bad_input_names_the_field_and_writes_nothing(stack: Stack) -> None:
    cases = [
        (station("a1", host_credit_code=BAD_CREDIT), "host_credit_code"),
        (station("a2", township="341721100"), "township"),  # 东至's, not 贵池's
        (station("a3", village="341721100201"), "village"),
        (station("a4", branch="city"), "branch"),
        (station("a5", five_in="mall"), "host_name"),  # a 五进 station names its host
        (station("a6", type="kiosk"), "type"),
        (station("A 7"), "code"),
    ]
    for body, named in cases:
        refused = await stack.call("POST", URL, CITY, json=body)
        assert refused.status_code == 422, (named, refused.text)
        assert named in str(refused.json()["detail"]), (named, refused.json())
    listed = await stack.call("GET", URL, CITY, params={"include_closed": True})
    assert listed.json()["count"] == 0


async def test_a_branch_keeps_its_own_stations_and_reads_only_them(stack: Stack) -> None:
    assert (await stack.call("POST", URL, HEAD, json=station("gc-1"))).status_code == 201
    dongzhi = station(
        "dz-1", branch="dongzhi", township="341721100", village=None, type="association"
    )
    assert (await stack.call("POST", URL, HEAD, json=dongzhi)).status_code == 403
    assert (await stack.call("POST", URL, OTHER_HEAD, json=dongzhi)).status_code == 201
    assert (await stack.call("GET", f"{URL}/dz-1", HEAD)).status_code == 403
    own = (await stack.call("GET", URL, HEAD)).json()
    assert {s["code"] for s in own["data"]} == {"gc-1"}
    city = (await stack.call("GET", URL, CITY)).json()
    assert {s["code"] for s in city["data"]} == {"gc-1", "dz-1"}
    for who in ("guichi", "operator"):  # a handler, a clerk
        assert (await stack.call("GET", URL, who)).status_code == 403
    assert (await stack.call("POST", URL, "auditor", json=station("gc-2"))).status_code == 403


async def test_coverage_lists_every_village_without_its_stations_and_the_five_in_gaps(
    stack: Stack, tmp_path: Path
) -> None:
    towns = (
        await stack.call("GET", "/api/v1/divisions", CITY, params={"branch": "jiuhuashan"})
    ).json()["data"]
    villages = [d for d in towns if d["level"] == "village"]
    township = next(d for d in towns if d["level"] == "township")["code"]
    first, second = villages[0]["code"], villages[1]["code"]
    opened = [
        station(
            "jh-assoc", branch="jiuhuashan", township=township, village=None, type="association"
        ),
        station("jh-l1", branch="jiuhuashan", township=township, village=first),
        station("jh-s1", branch="jiuhuashan", township=township, village=first, type="service"),
        station("jh-l2", branch="jiuhuashan", township=township, village=second),
        station(
            "jh-scenic",
            branch="jiuhuashan",
            township=township,
            village=None,
            type="service",
            five_in="scenic",
            host_name="九华山风景区管委会",
            host_credit_code=CREDIT,
        ),
    ]
    for body in opened:
        made = await stack.call("POST", URL, CITY, json=body)
        assert made.status_code == 201, made.text

    found = await stack.call("GET", f"{URL}/coverage", CITY, params={"branch": "jiuhuashan"})
    assert found.status_code == 200, found.text
    (jiuhua,) = found.json()["data"]
    assert jiuhua["villages"] == len(villages) and jiuhua["covered"] == 1
    assert jiuhua["rate"] == round(1 / len(villages), 4)
    gaps = {g["code"]: g["lacks"] for g in jiuhua["gaps"]}
    assert first not in gaps and gaps[second] == ["service"]
    assert all(lacks == ["liaison", "service"] for code, lacks in gaps.items() if code != second)
    assert jiuhua["five_in"]["scenic"] == 1
    assert jiuhua["five_in_missing"] == ["supermarket", "mall", "market", "enterprise"]

    # Closing the association leaves every village of its township lacking it.
    closed = await stack.call(
        "POST",
        f"{URL}/jh-assoc/close",
        CITY,
        json={"closed_on": "2026-12-01", "reason": "撤并", "version": 1},
    )
    assert closed.status_code == 200
    again = await stack.call("GET", f"{URL}/coverage", CITY, params={"branch": "jiuhuashan"})
    (jiuhua,) = again.json()["data"]
    assert jiuhua["covered"] == 0 and all("association" in g["lacks"] for g in jiuhua["gaps"])

    sheet = await stack.call("GET", f"{URL}/coverage", CITY, params={"format": "xlsx"})
    assert sheet.status_code == 200
    book = openpyxl.load_workbook(BytesIO(sheet.content))
    assert book.sheetnames == ["覆盖率", "空白点"]
    rows = {r[0]: r for r in book["覆盖率"].iter_rows(min_row=2, values_only=True)}
    assert rows["九华山分局"][1] == len(villages) and rows["九华山分局"][2] == 0
    assert sum(1 for _ in book["空白点"].iter_rows(min_row=2)) == 695  # every village a gap
    assert "王五" not in sheet.content.decode("latin-1")


async def test_the_registry_in_the_workplace(stack: Stack) -> None:
    from tests.api.test_workplace import browser, field_error, text_of

    async with browser(stack, HEAD) as head:
        listed = await head.get("/stations")
        assert listed.status_code == 200 and 'id="new-station"' in listed.text
        form = await head.get("/stations/new")
        assert form.status_code == 200
        assert "贵池分局 · 池阳街道" in form.text and "东至县局 · 尧渡镇" not in form.text
        typed = {
            "code": "gc-xiushan",
            "name": "池阳街道秀山居委会12315联络站",
            "type": "liaison",
            "branch": "guichi",
            "township": "341702001",
            "village": "341702001008",
            "host_credit_code": BAD_CREDIT,
            "contact0.name": "王五",
            "contact0.phone": "0566-2021234",
            "opened_on": "2026-03-01",
        }
        refused = await head.post("/stations/new", typed)
        assert refused.status_code == 422
        assert "校验位" in field_error(refused.text, "s-host_credit_code")
        assert 'value="池阳街道秀山居委会12315联络站"' in refused.text  # what was typed stays
        made = await head.post("/stations/new", {**typed, "host_credit_code": CREDIT})
        assert made.status_code == 303, made.text
        page = text_of((await head.get(made.headers["location"])).text)
        assert "站点已建立。" in page and "池阳街道 · 秀山居委会" in page
        saved = await head.post(
            "/stations/gc-xiushan",
            {**typed, "host_credit_code": CREDIT, "demonstration": "1", "version": "1"},
        )
        assert saved.status_code == 303, saved.text
        closed = await head.post(
            "/stations/gc-xiushan/close",
            {"closed_on": "2026-11-30", "reason": "居委会合并", "version": "2"},
        )
        assert closed.status_code == 303
        page = text_of((await head.get("/stations/gc-xiushan")).text)
        assert "2026-11-30 撤销：居委会合并" in page
        assert (
            "建立" in page and "修改 ：示范点" in page and "撤销 ：2026-11-30，居委会合并" in page
        )
        coverage = await head.get("/stations/coverage")
        assert coverage.status_code == 200 and "贵池分局" in text_of(coverage.text)
        assert "东至县局" not in text_of(coverage.text)  # a branch sees its own
    async with browser(stack, "guichi") as handler:
        assert (await handler.get("/stations")).status_code == 403


async def test_a_station_is_assessed_against_the_citys_checklist(stack: Stack) -> None:
    assert (await stack.call("POST", URL, HEAD, json=station("gc-1"))).status_code == 201
    checklist = Settings().station_checklist_file
    items = {i["code"]: i["points"] for i in json.loads(checklist.read_text("utf-8"))["items"]}
    full = dict(items)
    url = f"{URL}/gc-1/assessments"
    low = {**full, "ledger": 5, "settlement": 5}  # 100 - 15 - 15 = 70, under the pass mark
    bad = [
        ({**full, "ledger": items["ledger"] + 1}, "stations.score_range"),
        ({k: v for k, v in full.items() if k != "sign"}, "stations.item_missing"),
        ({**full, "coffee": 3}, "stations.unknown_item"),
    ]
    for scores, code in bad:
        refused = await stack.call(
            "POST", url, HEAD, json={"year": 2026, "assessed_on": "2026-11-20", "scores": scores}
        )
        assert refused.status_code == 422 and refused.json()["code"] == code, refused.text
    failed = await stack.call(
        "POST", url, HEAD, json={"year": 2026, "assessed_on": "2026-11-20", "scores": low}
    )
    assert failed.status_code == 201, failed.text
    assert (failed.json()["total"], failed.json()["passed"]) == (70, False)
    assert failed.json()["assessor"] == HEAD and failed.json()["pass_mark"] == 80
    year = await stack.call("GET", f"{URL}/assessments", CITY, params={"year": 2026})
    assert [(a["station"], a["passed"]) for a in year.json()] == [("gc-1", False)]
    # Assessed again after its rectification: the latest counts, both are kept.
    again = await stack.call(
        "POST", url, HEAD, json={"year": 2026, "assessed_on": "2026-12-20", "scores": full}
    )
    assert again.status_code == 201 and again.json()["passed"] is True
    year = await stack.call("GET", f"{URL}/assessments", CITY, params={"year": 2026})
    assert [(a["station"], a["total"]) for a in year.json()] == [("gc-1", 100)]
    kept = (await stack.call("GET", url, "auditor")).json()
    assert [a["total"] for a in kept] == [70, 100]
    assert (
        await stack.call(
            "POST",
            url,
            OTHER_HEAD,
            json={"year": 2026, "assessed_on": "2026-12-20", "scores": full},
        )
    ).status_code == 403


async def test_what_a_station_settles_counts_in_its_record_and_its_branchs_coverage(
    stack: Stack,
) -> None:
    from tests.api.test_stations import at_station
    from tests.mediation import done

    wanda = station(
        "gc-wanda",
        name="贵池区万达广场12315消费维权服务站",
        type="service",
        five_in="mall",
        host_name="池州万达广场商业管理有限公司",
        host_credit_code=CREDIT,
        village=None,
        unit="st-wanda",
    )
    assert (await stack.call("POST", URL, CITY, json=wanda)).status_code == 201
    settled, unsettled = await at_station(stack), await at_station(stack)
    await done(
        stack, settled, "reconcile", "st-wanda", {"outcome": "settled", "summary": "当场换货"}
    )
    await done(
        stack,
        unsettled,
        "reconcile",
        "st-wanda",
        {"outcome": "not_settled", "reason": "商家不同意退货"},
    )
    found = await stack.call("GET", f"{URL}/coverage", CITY, params={"branch": "guichi"})
    (guichi,) = found.json()["data"]
    assert (guichi["disputes"], guichi["reconciled"]) == (2, 1)
    assert guichi["five_in"]["mall"] == 1
    from tests.api.test_workplace import browser, text_of

    async with browser(stack, CITY) as city:
        page = text_of((await city.get("/stations/gc-wanda")).text)
        assert "登记 2 件，和解成功 1 件" in page
