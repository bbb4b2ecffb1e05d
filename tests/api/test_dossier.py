"""The case dossier (案件卷宗): a printable page in Chinese, as the reader may see the case."""

from io import BytesIO

from pypdf import PdfReader

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


async def test_the_dossier_prints_as_an_a4_pdf_with_its_chinese_text_and_page_numbers(
    stack: Stack,
) -> None:
    case_no = await rejected(stack)
    printed = await stack.call("GET", f"/api/v1/cases/{case_no}/dossier?format=pdf", "auditor")
    assert printed.status_code == 200, printed.text
    assert printed.headers["content-type"] == "application/pdf"
    assert printed.headers["content-disposition"] == f'inline; filename="{case_no}-dossier.pdf"'
    reader = PdfReader(BytesIO(printed.content))
    # Without a CJK font the Chinese prints as blanks: the text below is then missing.
    text = "".join(page.extract_text() for page in reader.pages)
    assert case_no in text
    assert "案件卷宗" in text and "不予受理" in text
    assert "投诉事项不属于市场监督管理部门职责" in text  # the ground's statutory text
    assert "张*" in text and "张三" not in text  # masked, as in the page
    assert "第 1 页" in reader.pages[0].extract_text()
    first = reader.pages[0].mediabox
    assert abs(float(first.width) - 595) <= 1 and abs(float(first.height) - 842) <= 1  # A4
    descriptors = [
        descendant.get_object()["/FontDescriptor"]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
        for descendant in font.get_object().get("/DescendantFonts", [])
    ]
    embedded = [str(d["/FontName"]) for d in descriptors if "/FontFile2" in d or "/FontFile3" in d]
    assert any("WenQuanYi" in name or "NotoSansCJK" in name for name in embedded), embedded


async def test_a_dossier_in_another_format_is_refused_naming_the_formats_there_are(
    stack: Stack,
) -> None:
    case_no = await register(stack)
    refused = await stack.call("GET", f"/api/v1/cases/{case_no}/dossier?format=docx", "auditor")
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/json"
    body = refused.json()
    assert body["code"] == "request.invalid"
    [error] = body["detail"]
    assert error["loc"] == ["query", "format"]
    assert "'html'" in error["msg"] and "'pdf'" in error["msg"]
    assert "docx" not in refused.text  # a 422 does not echo what was sent


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
