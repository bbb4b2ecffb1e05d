"""The bulletin as the spreadsheet every office works from (XLSX, openpyxl): the ranking,
one sheet per branch with its cases of the month, and the definitions.

Headers are in Chinese, the header row is frozen, rates are numbers formatted as
percentages, and amounts as yuan. A case is named by its number only: no party's name,
phone or address goes into the file."""

from io import BytesIO
from typing import Any
from urllib.parse import quote

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from api.bulletins.figures import COUNTS, NAMES, RATES, CaseLine, Month

PERCENT = "0.00%"
YUAN = "#,##0.00"
HEADER = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE5F0")
UNRANKED = "样本不足"

# The ranking sheet's columns: the rates first, then the counts, then the changes.
RANKING = [
    "on_time_rate",
    "satisfaction_rate",
    *(r for r in RATES if r not in ("on_time_rate", "satisfaction_rate")),
    *COUNTS,
    "amount_recovered",
]
CHANGES = ("on_time_rate", "satisfaction_rate")


def _header(sheet: Worksheet, names: list[str]) -> None:
    sheet.append(names)
    for cell in sheet[1]:
        cell.font = HEADER
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    sheet.freeze_panes = "A2"
    for i, name in enumerate(names, 1):
        sheet.column_dimensions[get_column_letter(i)].width = max(10, min(28, 2 * len(name) + 2))


def _value(key: str, value: Any) -> Any:
    if key == "amount_recovered":
        return float(value)
    return value


def _style(sheet: Worksheet, keys: list[str], first_row: int = 2) -> None:
    for col, key in enumerate(keys, 1):
        fmt = PERCENT if key in RATES else YUAN if key == "amount_recovered" else None
        if fmt is None:
            continue
        for row in range(first_row, sheet.max_row + 1):
            sheet.cell(row=row, column=col).number_format = fmt


def build(figures: dict[str, Any], cases: dict[str, list[CaseLine]], title: str) -> bytes:
    """The workbook of a month's figures (``api.bulletins.figures.compute``) and each
    branch's cases of the month."""
    book = Workbook()
    ranking = book.active
    assert ranking is not None
    ranking.title = "排名"
    change_names = [f"{NAMES[k][0]}环比（百分点）" for k in CHANGES] + [
        f"{NAMES[k][0]}同比（百分点）" for k in CHANGES
    ]
    _header(ranking, ["名次", "单位", *(NAMES[k][0] for k in RANKING), *change_names])
    rows = [*figures["branches"], {**figures["city"], "name": "全市合计", "rank": ""}]
    for branch in rows:
        rank = branch.get("rank")
        changes = [branch["vs_month_before"][k] for k in CHANGES] + [
            branch["vs_year_before"][k] for k in CHANGES
        ]
        ranking.append(
            [
                UNRANKED if rank is None else rank,
                branch["name"],
                *(_value(k, branch[k]) for k in RANKING),
                *changes,
            ]
        )
    _style(ranking, ["", "", *RANKING])
    ranking.cell(row=ranking.max_row, column=2).font = HEADER

    for branch in figures["branches"]:
        sheet = book.create_sheet(branch["name"][:31])
        _header(sheet, ["案件编号", "收到时间", "状态", "处理时限", "按期", "办结时间", "回访结果"])
        for line in cases.get(branch["unit"], []):
            sheet.append(
                [
                    line.case_no,
                    line.received.replace(tzinfo=None),
                    line.status,
                    line.handle_last_day,
                    line.on_time,
                    line.closed.replace(tzinfo=None) if line.closed else None,
                    line.callback,
                ]
            )
        for row in range(2, sheet.max_row + 1):
            for col in (2, 6):
                sheet.cell(row=row, column=col).number_format = "yyyy-mm-dd hh:mm"

    definitions = book.create_sheet("指标说明")
    _header(definitions, ["指标", "定义"])
    definitions.column_dimensions["B"].width = 90
    for name, text in NAMES.values():
        definitions.append([name, text])
    definitions.append([])
    definitions.append(["统计口径", f"{title}：按北京时间计，每项按其发生之日计入当月。"])
    definitions.append(
        [
            "排名",
            f"按按期办结率、再按满意率排名；本月办理不足 {figures['min_cases']} 件的单位"
            f"不排名，注“{UNRANKED}”。",
        ]
    )

    out = BytesIO()
    book.save(out)
    return out.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(month: Month, found: dict[str, Any], cases: dict[str, list[CaseLine]]) -> Response:
    """The month's spreadsheet as a download (通报-2026-11.xlsx)."""
    title = f"{month.year}年{month.month}月消费者投诉举报处理情况"
    book = build(found, cases, title)
    name = quote(f"通报-{month}.xlsx")
    disposition = f"attachment; filename=bulletin-{month}.xlsx; filename*=UTF-8''{name}"
    return Response(book, media_type=XLSX, headers={"Content-Disposition": disposition})
