"""The case dossier (案件卷宗): a printable page in Chinese, as the reader may see the case."""

from tests.conftest import Stack, open_task, register
from tests.factories import complaint


async def rejected(stack: Stack) -> str:
    case_no = await register(stack)
    triage = await open_task(stack, case_no, "triage", "operator")
    done = await stack.call(
        "POST",
        f"/api/v1/tasks/{triage['id']}/complete",
        "operator",
        json={"decision": "reject", "ground": "R15-1", "reason": "不属本局职责"},
    )
    assert done.status_code == 200, done.text
    return case_no


async def test_the_dossier_shows_the_case_its_grounds_text_deadlines_and_verification(
    stack: Stack,
) -> None:
    case_no = await rejected(stack)
    page = await stack.call("GET", f"/api/v1/cases/{case_no}/dossier", "auditor")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert case_no in html
    assert "案件卷宗" in html and "不予受理" in html
    assert "投诉事项不属于市场监督管理部门职责" in html  # the ground's statutory text
    assert "张*" in html and "张三" not in html  # the auditor sees the complainant masked
    assert "受理审查时限" in html and "日止" in html and "按期完成" in html
    assert "哈希链完整" in html

    full = await stack.call("GET", f"/api/v1/cases/{case_no}/dossier", "supervisor")
    assert "张三" in full.text
    handler = await stack.call("GET", f"/api/v1/cases/{case_no}/dossier", "guichi")
    assert handler.status_code == 403


async def test_a_sealed_reporter_stays_sealed_and_a_reveal_is_recorded(stack: Stack) -> None:
    body = complaint(kind="report", reporter={"name": "赵六", "phone": "13911112222"})
    del body["complainant"]
    created = await stack.call("POST", "/api/v1/cases", "operator", json=body)
    case_no = created.json()["case_no"]
    sealed = await stack.call("GET", f"/api/v1/cases/{case_no}/dossier", "auditor")
    assert "身份保密" in sealed.text and "赵六" not in sealed.text

    revealed = await stack.call("GET", f"/api/v1/cases/{case_no}/dossier", "supervisor")
    assert "赵六" in revealed.text
    events = (await stack.call("GET", f"/api/v1/cases/{case_no}/history", "auditor")).json()[
        "events"
    ]
    reads = [e for e in events if e["type"] == "reporter_identity_read"]
    assert [e["actor"] for e in reads] == ["supervisor"]
