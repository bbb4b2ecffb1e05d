"""The monitoring's spreadsheets: the import template, an imported sheet read into rows
(each cell turned into a sample's field, units, areas and commodities by name or code),
the disclosure of a published batch and a plan's figures."""

from datetime import date, datetime
from io import BytesIO
from typing import Any
from urllib.parse import quote
from zipfile import BadZipFile

from fastapi import Response
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException

from api.errors import Invalid
from api.monitoring.models import Sample, SamplingBatch
from api.monitoring.service import Catalogue, RowError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The template's columns: header → the sample's field.
COLUMNS: dict[str, str] = {
    "样品编号": "sample_no",
    "所属单位": "unit",
    "区域类型": "area",
    "经营场所": "outlet",
    "经营者": "business",
    "统一社会信用代码": "credit_code",
    "经营地址": "outlet_address",
    "商品类别": "commodity",
    "样品名称": "product",
    "品牌": "brand",
    "规格型号": "model",
    "生产批号": "lot",
    "抽样日期": "sampled_on",
    "检验机构": "tested_by",
    "检验结论": "passed",
    "不合格项目": "failed_items",
}
REQUIRED = {
    "sample_no",
    "unit",
    "area",
    "outlet",
    "business",
    "credit_code",
    "commodity",
    "product",
    "sampled_on",
    "tested_by",
    "passed",
}
PASSED = {"合格": True, "不合格": False, "pass": True, "fail": False}
SEPARATORS = ("；", ";", "、", "\n")


def attachment(content: bytes, filename: str, fallback: str) -> Response:
    return Response(
        content,
        media_type=XLSX,
        headers={
            "Content-Disposition": f"attachment; filename={fallback}; "
            f"filename*=UTF-8''{quote(filename)}"
        },
    )


def _saved(book: Workbook) -> bytes:
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def template() -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "检验结果"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    return _saved(book)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _by_name(value: str | None, names: dict[str, str]) -> str | None:
    """A code given as itself or by its name."""
    if value is None:
        return None
    for code, name in names.items():
        if value in (code, name):
            return code
    return value


def read(
    content: bytes, catalogue: Catalogue, units: dict[str, str], max_rows: int
) -> tuple[list[tuple[int, dict[str, Any]]], list[RowError]]:
    """The sheet's rows as (line, fields), and what is wrong with its header. A file
    that is not an XLSX is a 422 ``monitoring.not_xlsx``; more than ``max_rows`` rows a
    422 ``monitoring.too_many_rows``."""
    try:
        book = load_workbook(BytesIO(content), read_only=True, data_only=True)
    except (BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise Invalid(("file", "not an .xlsx workbook"), code="monitoring.not_xlsx") from error
    sheet = book.worksheets[0] if book.worksheets else None
    if sheet is None:
        raise Invalid(("file", "the workbook has no sheet"), code="monitoring.not_xlsx")
    lines = sheet.iter_rows(values_only=True)
    header = next(lines, None) or ()
    fields: list[str | None] = []
    errors: list[RowError] = []
    for i, cell in enumerate(header):
        name = _text(cell)
        field = COLUMNS.get(name or "")
        if name is not None and field is None:
            errors.append(RowError(1, f"column {i + 1}", f"unknown column: {name}", "column"))
        fields.append(field)
    for missing in sorted(REQUIRED - {f for f in fields if f}):
        heading = next(k for k, v in COLUMNS.items() if v == missing)
        errors.append(RowError(1, missing, f"the column {heading} is missing", "no_column"))
    rows: list[tuple[int, dict[str, Any]]] = []
    for line, values in enumerate(lines, start=2):
        if all(_text(v) is None for v in values):
            continue  # a blank row
        if len(rows) >= max_rows:
            raise Invalid(("file", f"more than {max_rows} rows"), code="monitoring.too_many_rows")
        row: dict[str, Any] = {}
        for field, value in zip(fields, values, strict=False):
            if field is None:
                continue
            row[field] = _cell(field, value, catalogue, units)
        rows.append((line, {k: v for k, v in row.items() if v is not None}))
    book.close()
    return rows, errors


def _cell(field: str, value: Any, catalogue: Catalogue, units: dict[str, str]) -> Any:
    if field == "sampled_on":
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        return _text(value)
    text = _text(value)
    if field == "passed":
        return PASSED.get(text or "", text)
    if field == "failed_items":
        if text is None:
            return []
        for separator in SEPARATORS[1:]:
            text = text.replace(separator, SEPARATORS[0])
        return [t for t in (part.strip() for part in text.split(SEPARATORS[0])) if t]
    if field == "unit":
        return _by_name(text, units)
    if field == "area":
        return _by_name(text, catalogue.areas)
    if field == "commodity":
        return _by_name(text, catalogue.commodities)
    return text


def disclosure(
    batch: SamplingBatch, failed: list[Sample], catalogue: Catalogue, units: dict[str, str]
) -> bytes:
    """The published list of a batch's failed commodities and outlets."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "不合格商品"
    sheet.append([f"{batch.name}：不合格商品及经营者名单"])
    sheet.append([f"公布日期：{batch.published_at:%Y-%m-%d}" if batch.published_at else ""])
    head = [
        "商品类别",
        "样品名称",
        "品牌",
        "规格型号",
        "生产批号",
        "经营场所",
        "经营者",
        "统一社会信用代码",
        "经营地址",
        "所属单位",
        "抽样日期",
        "检验机构",
        "不合格项目",
    ]
    sheet.append(head)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for s in failed:
        sheet.append(
            [
                catalogue.commodity(s.commodity),
                s.product,
                s.brand or "",
                s.model or "",
                s.lot or "",
                s.outlet,
                s.business,
                s.credit_code,
                s.outlet_address or "",
                units.get(s.unit, s.unit),
                s.sampled_on.isoformat(),
                s.tested_by,
                "、".join(s.failed_items),
            ]
        )
    return _saved(book)
