"""The real stack, started the way ``make run`` starts it, driven over HTTP only.

A complaint walks from ``POST /cases`` to ``closed``; half-way the whole stack is
stopped and started again, and the case and its running workflow carry on. The API's and
the worker's logs of the whole run are JSON lines with ids and case numbers, and none of
the personal data or free text the run entered.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Client, Embedded
from tests.factories import complaint

CHROMIUM = "/usr/bin/chromium"


def inbox_seen_in_browser(base: str, user: str) -> str:
    """Logs in through the login page in a real Chromium and returns the inbox's text."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Debian's chromium is missing: run `make system-deps`")
        pytest.skip("Debian's chromium is missing: run `make system-deps`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page()
            page.goto(base + "/")
            assert page.url.endswith("/login")
            assert "登录" in page.inner_text("h1")
            page.fill("#username", user)
            page.fill("#password", "wrong")
            page.click("button[type=submit]")
            page.wait_for_selector("#error:has-text('用户名或密码错误')")
            page.fill("#password", "demo")
            page.click("button[type=submit]")
            page.wait_for_url("**/inbox")
            page.wait_for_selector("#tasks td:has-text('受理审查')")
            return page.inner_text("#tasks")
        finally:
            browser.close()


def test_a_complaint_walks_to_closed_across_a_restart(embedded: Embedded) -> None:
    took = embedded.start()
    print(f"\nmake-run equivalent healthy in {took:.1f}s")
    root = httpx.get(embedded.base + "/", follow_redirects=False)
    assert root.status_code in (302, 303, 307) and root.headers["location"] == "/login"
    # The launcher keeps closed histories for WEIQUAN_TEMPORAL_RETENTION_DAYS (30), not the
    # dev server's own 24 hours.
    described = subprocess.run(
        [str(Path(sys.executable).with_name("temporal")), "operator", "namespace", "describe",
         "--address", f"127.0.0.1:{embedded.temporal_port}", "-n", "default", "-o", "json"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    config = json.loads(described.stdout)["config"]
    assert config["workflowExecutionRetentionTtl"] in ("2592000s", "720h0m0s"), config

    client = Client(embedded.base)
    case = client.post("/cases", "operator", json=complaint(client_ref="e2e-1", **PERSONAL))
    case_no = case["case_no"]
    # A query string can hold what a clerk typed: the access line never logs it.
    client.get("/cases", "operator", params={"phone": SECRETS[1]})
    triage = client.task(case_no, "triage", "operator")
    assert case_no in inbox_seen_in_browser(embedded.base, "operator")
    client.post(
        f"/tasks/{triage['id']}/complete", "operator", json={"decision": "accept", "unit": "guichi"}
    )
    handling = client.get(f"/cases/{case_no}", "guichi")
    assert handling["status"] == "handling"
    due = {d["name"]: d for d in handling["deadlines"]}
    assert due["triage"]["state"] == "met" and due["handle"]["state"] == "pending"

    embedded.stop()
    embedded.start()

    client = Client(embedded.base)
    assert client.get(f"/cases/{case_no}", "guichi")["status"] == "handling"
    handle = client.task(case_no, "handle", "guichi")
    client.post(
        f"/tasks/{handle['id']}/complete",
        "guichi",
        json={"outcome": "terminated", "ground": "T21-4", "reply": SECRETS[-1]},
    )
    notice = client.task(case_no, "notify_termination", "guichi")
    client.post(
        f"/tasks/{notice['id']}/complete",
        "guichi",
        json={
            "complainant": "sms",
            "respondent": "letter",
            "told_on": notice["created_at"][:10],
            "next": "end",
        },
    )
    callback = client.task(case_no, "callback", "operator")
    client.post(
        f"/tasks/{callback['id']}/complete",
        "operator",
        json={"reached": True, "satisfaction": "basically_satisfied"},
    )
    closed = client.get(f"/cases/{case_no}", "operator")
    assert closed["status"] == "closed"
    assert closed["outcome"] == "terminated"
    events = client.get(f"/cases/{case_no}/history", "auditor")["events"]
    assert events[-1]["type"] == "status_changed" and events[-1]["data"]["to"] == "closed"
    embedded.stop()
    lines_of_the_run_hold_ids_and_no_personal_data(embedded.data_dir, case_no)


PERSONAL = {
    "complainant": {
        "name": "欧阳春燕",
        "phone": "13956781234",
        "id_number": "342901198807152345",
        "address": "池州市贵池区秋浦西路18号3栋",
    },
    "respondent": {"name": "某某家电商场", "district": "贵池区", "address": "长江中路99号"},
    "description": "洗衣机脱水时剧烈震动并漏水",
    "claim": "要求上门维修并赔偿",
}
SECRETS = [
    "欧阳春燕",
    "13956781234",
    "342901198807152345",
    "秋浦西路18号",
    "洗衣机脱水时剧烈震动并漏水",
    "要求上门维修并赔偿",
    "双方未能达成一致，已告知",
]


def lines_of_the_run_hold_ids_and_no_personal_data(data_dir: Path, case_no: str) -> None:
    seen: dict[str, list[dict[str, Any]]] = {}
    for component in ("api", "worker"):
        text = (data_dir / f"{component}.log").read_text(encoding="utf-8")
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} is in {component}.log"
        lines = [line for line in text.splitlines() if line and not line.startswith("=====")]
        parsed = [json.loads(line) for line in lines]  # every line is one JSON object
        assert all(line["component"] == component for line in parsed)
        seen[component] = parsed
    requests = [line for line in seen["api"] if line["event"] == "request"]
    assert requests and all(len(line["request_id"]) >= 16 for line in requests)
    own = [line for line in requests if line.get("case_no") == case_no]
    assert {"/api/v1/cases/{case_no}", "/internal/v1/cases/{case_no}/steps"} <= {
        line["route"] for line in own
    }
    assert all("?" not in line["route"] for line in requests)
    assert any(line["event"].startswith("worker on task queue") for line in seen["worker"])
