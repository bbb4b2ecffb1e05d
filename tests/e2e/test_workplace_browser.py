"""The workplace in a real Chromium (Debian's), on the stack ``make run`` starts.

One walk: an operator registers a complaint and accepts it, the branch's handler
completes the mediation, the operator records the callback, a case received 20 working
days ago shows on the supervisor's dashboard as overdue and is urged, and the auditor
opens the first case as it stood before acceptance and downloads its dossier. Each step leaves a
screenshot under ``test-artifacts/`` (ignored by git). Beside it: bad input shown beside
its field and kept, the inbox updating itself, and a case page with no sideways scrolling
at 1366×768 and on a phone."""

import os
import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.conftest import ROOT, Client, Embedded
from tests.factories import ZONE, complaint

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Debian's chromium is missing: run `make system-deps`")
        pytest.skip("Debian's chromium is missing: run `make system-deps`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def stack(embedded: Embedded) -> Iterator[Embedded]:
    embedded.env["WEIQUAN_INBOX_POLL_SECONDS"] = "1"
    embedded.start()
    yield embedded
    embedded.stop()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(browser: Browser, base: str, username: str, **context: object) -> Page:
    page = browser.new_context(base_url=base, locale="zh-CN", **context).new_page()  # type: ignore[arg-type]
    page.goto("/inbox")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("demo")
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/inbox$"))
    return page


def open_task(page: Page, label: str, case_no: str) -> None:
    """Opens the inbox's task of that kind for the case (the inbox refreshes itself)."""
    page.goto("/inbox")
    link = page.locator(f"tr:has(a:text-is('{case_no}')) a:text-is('{label}')")
    expect(link).to_be_visible(timeout=20_000)
    link.click()
    expect(page.locator("h1").first).to_have_text(label)


def test_a_complaint_walks_through_the_workplace(stack: Embedded, chromium: Browser) -> None:
    base = stack.base

    # 1. The operator registers a complaint and accepts it.
    operator = sign_in(chromium, base, "operator", viewport={"width": 1366, "height": 768})
    operator.get_by_role("link", name="登记").click()
    operator.get_by_label("投诉人姓名").fill("赵六")
    operator.get_by_label("投诉人电话").fill("13700001111")
    operator.get_by_label("被投诉（举报）人名称").fill("某某家电商场")
    operator.get_by_label("被投诉（举报）人所在区县").select_option("贵池区")
    expect(operator.locator("#r-suggested")).to_have_text("建议承办单位：贵池分局")
    operator.get_by_label("事由").fill("购买的冰箱三天后不制冷，商家拒绝退货。")
    # A missing field: the message is beside it, and what was typed stays.
    operator.get_by_label("事由").fill("")
    operator.get_by_role("button", name="登记").click()
    expect(operator.locator("#r-description-error")).to_have_text("必填")
    expect(operator.get_by_label("投诉人姓名")).to_have_value("赵六")
    operator.get_by_label("事由").fill("购买的冰箱三天后不制冷，商家拒绝退货。")
    operator.get_by_role("button", name="登记").dblclick()
    expect(operator).to_have_url(re.compile(r"/cases/[A-Z0-9]+$"))
    case_no = operator.url.rsplit("/", 1)[1]
    shot(operator, "1-registered")

    open_task(operator, "受理审查", case_no)
    # The picker gives whole seconds: the next whole second, once it has passed.
    before_acceptance = (datetime.now(ZONE) + timedelta(seconds=1)).replace(microsecond=0)
    time.sleep(1.2)
    operator.get_by_label("受理，并分送承办单位").check()
    expect(operator.locator("#f-accept-unit")).to_have_value("guichi")
    # The reject choice's grounds carry their statutory text.
    expect(operator.locator(".ground-text").first).to_contain_text("投诉事项不属于")
    operator.get_by_role("button", name="提交").click()
    expect(operator.locator(".notice")).to_have_text("已办结：受理审查")
    shot(operator, "1-accepted")

    # 2. The branch's handler completes the mediation in the browser.
    handler = sign_in(chromium, base, "guichi")
    open_task(handler, "行政调解", case_no)
    expect(handler.locator("#deadlines")).to_contain_text("剩余")
    handler.get_by_label("调解成功，达成协议").check()
    handler.locator("#f-agreement-summary").fill("经调解，商家同意退货退款。")
    handler.get_by_label("挽回经济损失（元）").fill("2999")
    handler.locator("#f-agreement-reply").fill("已为您办理退货退款。")
    handler.get_by_role("button", name="提交").click()
    expect(handler.locator(".notice")).to_have_text("已办结：行政调解")
    shot(handler, "2-mediated")

    # 3. The operator records the callback.
    open_task(operator, "回访", case_no)
    expect(operator.locator("#call-script")).to_contain_text("第 1 次回访")
    operator.get_by_role("button", name="提交").click()  # nothing chosen yet
    expect(operator.locator("#f-reached-error")).to_have_text("必填")
    operator.locator("#f-reached").get_by_label("是", exact=True).check()
    operator.get_by_label("满意度").select_option("satisfied")
    operator.get_by_role("button", name="提交").click()
    expect(operator.locator(".notice")).to_have_text("已办结：回访")
    operator.goto(f"/cases/{case_no}")
    expect(operator.locator("#case-status")).to_have_text(re.compile("已办结"), timeout=20_000)
    shot(operator, "3-closed")

    # 4. A case received 20 working days ago is overdue on the dashboard; the supervisor
    # urges it.
    api = Client(base)
    received = (datetime.now(ZONE) - timedelta(days=30)).isoformat()
    late_no = api.post("/cases", "operator", json=complaint(received_at=received))["case_no"]
    supervisor = sign_in(chromium, base, "supervisor")
    supervisor.get_by_role("link", name="督办总览").click()
    overdue = supervisor.locator("tr[data-unit=city] a.overdue")
    for _ in range(40):  # the workflow flags it within moments of its start
        if overdue.count():
            break
        time.sleep(0.5)
        supervisor.reload()
    overdue.click()
    expect(supervisor.locator("main")).to_contain_text(late_no)
    shot(supervisor, "4-overdue")
    open_task(supervisor, "督办", late_no)
    supervisor.get_by_label("催办", exact=True).check()
    supervisor.locator("#f-urge-note").fill("请于今日内完成受理审查")
    supervisor.get_by_role("button", name="提交").click()
    expect(supervisor.locator(".notice")).to_have_text("已办结：督办")
    supervisor.goto("/supervision/accountability?kind=urge")
    expect(supervisor.locator("main")).to_contain_text(late_no)
    supervisor.goto("/supervision")
    shot(supervisor, "4-dashboard")

    # 5. The auditor sees the case as it stood before acceptance, and downloads its dossier.
    auditor = sign_in(chromium, base, "auditor")
    auditor.get_by_label("案件编号").fill(case_no)
    auditor.get_by_role("button", name="查找").click()
    expect(auditor).to_have_url(re.compile(f"/cases/{case_no}$"))
    expect(auditor.locator("#complainant")).to_contain_text("赵*")
    expect(auditor.locator("#verified")).to_contain_text("记录完整", timeout=20_000)
    auditor.get_by_label("日期和时间（北京时间）").fill(
        before_acceptance.strftime("%Y-%m-%dT%H:%M:%S")
    )
    auditor.get_by_role("button", name="回看").click()
    expect(auditor.locator("#then-status")).to_have_text("受理审查")
    expect(auditor.locator("#timeline")).not_to_contain_text("回访成功")
    shot(auditor, "5-as-of")
    with auditor.expect_download() as download:
        auditor.locator("#dossier-pdf").click()
    saved = ARTIFACTS / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    assert saved.name == f"{case_no}-dossier.pdf"


def test_the_inbox_updates_itself_and_the_pages_fit_a_phone(
    stack: Embedded, chromium: Browser
) -> None:
    operator = sign_in(chromium, stack.base, "operator", viewport={"width": 390, "height": 844})
    api = Client(stack.base)
    case_no = api.post("/cases", "operator", json=complaint(client_ref="phone-1"))["case_no"]
    # No reload: the row arrives by itself.
    expect(operator.locator(f"#tasks a:text-is('{case_no}')")).to_be_visible(timeout=20_000)
    shot(operator, "inbox-phone")
    task = api.task(case_no, "triage", "operator")
    api.post(f"/tasks/{task['id']}/claim", "operator")
    expect(operator.locator(f"tr[data-task='{task['id']}']")).to_contain_text("已认领")

    for width, height in ((390, 844), (1366, 768)):
        operator.set_viewport_size({"width": width, "height": height})
        operator.goto(f"/cases/{case_no}")
        wide = operator.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert wide <= 0, f"the case page scrolls sideways at {width}×{height}"
        shot(operator, f"case-{width}")
    # Every field of the registration form has its label.
    operator.goto("/register")
    unlabelled = operator.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter(e => !(e.labels && e.labels.length)).map(e => e.name)"""
    )
    assert unlabelled == []

    # The admin's pages fit too, every field labelled; a role offers only its units.
    admin = sign_in(chromium, stack.base, "admin", viewport={"width": 390, "height": 844})
    for path in ("/admin/users", "/admin/rules/samr-order-121", "/admin/calendar"):
        for width, height in ((390, 844), (1366, 768)):
            admin.set_viewport_size({"width": width, "height": height})
            admin.goto(path)
            wide = admin.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert wide <= 0, f"{path} scrolls sideways at {width}×{height}"
        unlabelled = admin.evaluate(
            """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(e => !(e.labels && e.labels.length)).map(e => e.name)"""
        )
        assert unlabelled == [], path
        shot(admin, "admin-" + path.rsplit("/", 1)[1])
    admin.goto("/admin/users")
    admin.get_by_label("角色").select_option(label="承办人")
    expect(admin.locator("#u-unit option[value='city']")).to_be_disabled()
    expect(admin.locator("#u-unit option[value='guichi']")).to_be_enabled()
    admin.get_by_label("用户名").fill("guichi-zhao")
    admin.get_by_label("初始密码").fill("correct-horse-1")
    admin.locator("#u-unit").select_option(label="贵池分局")
    admin.get_by_role("button", name="创建").click()
    expect(admin.locator("#person-unit")).to_have_text("贵池分局")


def test_the_city_supervisor_publishes_last_months_bulletin(
    stack: Embedded, chromium: Browser
) -> None:
    """The bulletin (通报) from its start by hand to the branch head reading it: the draft's
    foreword edited, a criticism added, published with its number, and the charts drawn."""
    today = datetime.now(ZONE).date()
    last = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    city = sign_in(chromium, stack.base, "supervisor", viewport={"width": 1366, "height": 768})
    city.get_by_role("link", name="通报").first.click()
    city.get_by_label("月份").select_option(last)
    city.get_by_role("button", name="生成通报草稿").click()
    expect(city).to_have_url(re.compile(f"/bulletins/{last}$"))
    # The review task is in the inbox and opens the draft.
    city.goto("/inbox")
    task = city.locator("a:text-is('审核发布通报')")
    expect(task).to_be_visible(timeout=20_000)
    task.click()
    expect(city.locator("#state")).to_contain_text("草稿 · 第1版 · 待审核发布")
    city.get_by_label("前言（段落之间空一行）").fill(
        "本月全市投诉处理总体平稳。\n\n现将情况通报如下。"
    )
    city.get_by_label("新增第1条单位").select_option("dongzhi")
    city.get_by_label("新增第1条事由").fill("回访满意率偏低")
    shot(city, "6-bulletin-draft")
    city.locator("#publish").click()
    expect(city.locator("#state")).to_contain_text("已发布 · 第1版", timeout=20_000)
    expect(city.locator("#number")).to_have_text(f"池市监消〔{today.year}〕1号")
    expect(city.locator("#criticisms")).to_contain_text("回访满意率偏低")
    shot(city, "6-bulletin-published")

    head = sign_in(chromium, stack.base, "dongzhi-supervisor")
    head.goto(f"/bulletins/{last}")
    expect(head.locator("#number")).to_have_text(f"池市监消〔{today.year}〕1号")
    expect(head.locator("#chart-branches")).to_be_visible()
    expect(head.locator("#chart-trend")).to_be_visible()
    expect(head.locator("#draft")).to_have_count(0)
    with head.expect_download() as download:
        head.locator("#pdf").click()
    saved = ARTIFACTS / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
