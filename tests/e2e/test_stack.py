"""The real stack, started the way ``make run`` starts it, driven over HTTP only.

A complaint walks from ``POST /cases`` to ``closed``; half-way the whole stack is
stopped and started again, and the case and its running workflow carry on.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripts.ports import stable_free_port
from tests.factories import complaint

ROOT = Path(__file__).resolve().parents[2]
API = "/api/v1"


def free_port() -> int:
    return stable_free_port("127.0.0.1")


class Embedded:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.api_port = free_port()
        self.temporal_port = free_port()
        self.env = {
            **os.environ,
            "WEIQUAN_DATA_DIR": str(data_dir),
            "WEIQUAN_API_PORT": str(self.api_port),
            "WEIQUAN_TEMPORAL_PORT": str(self.temporal_port),
            "WEIQUAN_TEMPORAL_UI_PORT": str(free_port()),
            "WEIQUAN_TEMPORAL_HEADLESS": "1",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = f"http://127.0.0.1:{self.api_port}"

    def start(self) -> float:
        began = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "scripts/run_embedded.py"],
            cwd=ROOT,
            env=self.env,
            stdout=open(self.data_dir / "launcher.out", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        while time.monotonic() - began < 90:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"launcher exited: {(self.data_dir / 'launcher.out').read_text()}"
                )
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return time.monotonic() - began
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("the stack did not become healthy within 90 s")

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        assert self.proc.wait(timeout=60) == 0, (self.data_dir / "launcher.out").read_text()
        self.proc = None


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Embedded]:
    stack = Embedded(tmp_path)
    yield stack
    if stack.proc is not None:
        stack.proc.kill()
        stack.proc.wait()


class Client:
    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base + API, timeout=60)
        self.tokens: dict[str, str] = {}

    def as_(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            response = self.http.post("/auth/token", data={"username": user, "password": "demo"})
            assert response.status_code == 200, response.text
            self.tokens[user] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, url: str, user: str, **kw: Any) -> Any:
        response = self.http.get(url, headers=self.as_(user), **kw)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, url: str, user: str, **kw: Any) -> Any:
        response = self.http.post(url, headers=self.as_(user), **kw)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def task(self, case_no: str, kind: str, user: str) -> dict[str, Any]:
        for _ in range(150):
            found = self.get(
                "/tasks", user, params={"case_no": case_no, "kind": kind, "status": "open"}
            )
            if found["data"]:
                return found["data"][0]  # type: ignore[no-any-return]
            time.sleep(0.1)
        raise AssertionError(f"no open {kind} task for {case_no}")


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

    client = Client(embedded.base)
    case = client.post("/cases", "operator", json=complaint(client_ref="e2e-1"))
    case_no = case["case_no"]
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
        json={"outcome": "terminated", "ground": "T21-4", "reply": "双方未能达成一致，已告知"},
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
