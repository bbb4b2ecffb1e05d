"""The bulletin as the office's document (通报): the issuer, its number (文号), the title,
the foreword, the ranking table and the criticisms, printed to A4 by the same renderer and
CJK font as the case dossier, with nothing fetched.

Until a bulletin is published it has no number and is marked a draft (草稿)."""

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api import labels
from api.audit import dossier
from api.bulletins.figures import Month
from api.config import Settings
from api.db import utcnow
from api.workdays import local_date

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def title(month: Month) -> str:
    return f"关于{month.year}年{month.month}月全市12315消费者投诉举报处理情况的通报"


def foreword(figures: dict[str, Any], month: Month) -> list[str]:
    """The opening paragraph the supervisor starts from: the city's figures in words."""
    city = figures["city"]
    return [
        f"{month.year}年{month.month}月，12315指挥中心分送各单位的投诉中，各单位收到"
        f"{city['received']}件，办结{city['closed']}件；按期办结率{_rate(city['on_time_rate'])}，"
        f"有效回访率{_rate(city['valid_callback_rate'])}，满意率{_rate(city['satisfaction_rate'])}；"
        f"超期{city['overdue']}件次，督办{city['supervised']}次，通报批评{city['criticised']}次；"
        f"挽回经济损失{city['amount_recovered']}元。现将各单位办理情况通报如下。"
    ]


def criticism_rows(figures: dict[str, Any], listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The criticisms as the document lists them: the branch by its name, the reason,
    and the complaint's number."""
    names = {b["unit"]: b["name"] for b in figures["branches"]}
    return [
        {
            "unit_name": names.get(c["unit"], c["unit"]),
            "reason": c["reason"],
            "case_no": c["case_no"],
        }
        for c in listed
    ]


def html(
    figures: dict[str, Any],
    criticised: list[dict[str, Any]],
    *,
    month: Month,
    issuer: str,
    dated: date,
    number: str | None = None,
    paragraphs: list[str] | None = None,
) -> str:
    """The document's page; without a number it is a draft."""
    rows = [
        {
            **b,
            "rank": b["rank"] if b["rank"] is not None else "样本不足",
            **{k: _rate(b[k]) for k in ("on_time_rate", "satisfaction_rate", "reply_rate")},
            "valid_callback_rate": _rate(b["valid_callback_rate"]),
        }
        for b in figures["branches"]
    ]
    return _env.get_template("bulletin.html").render(
        title=title(month),
        issuer=issuer,
        number=number,
        draft=number is None,
        foreword=paragraphs if paragraphs is not None else foreword(figures, month),
        rows=rows,
        min_cases=figures["min_cases"],
        criticisms=criticism_rows(figures, criticised),
        campaigns=figures.get("campaigns", []),
        dated=labels.day(dated),
    )


def pdf_download(
    settings: Settings,
    month: Month,
    found: dict[str, Any],
    criticised: list[dict[str, Any]],
    *,
    paragraphs: list[str] | None = None,
    number: str | None = None,
    dated: date | None = None,
    version: int = 1,
) -> Response:
    """The month's document as a PDF to download: a draft (草稿) until it has its number.
    Called from a plain route: it prints in the threadpool the route already runs in."""
    page = html(
        found,
        criticised,
        month=month,
        issuer=settings.bulletin_issuer,
        dated=dated or local_date(utcnow()),
        number=number,
        paragraphs=paragraphs,
    )
    which = f"v{version}" if number else "draft"
    name = quote(f"通报-{month}-{'第' + str(version) + '版' if number else '草稿'}.pdf")
    disposition = f"attachment; filename=bulletin-{month}-{which}.pdf; filename*=UTF-8''{name}"
    return Response(
        dossier.pdf(page),
        media_type="application/pdf",
        headers={"Content-Disposition": disposition},
    )
