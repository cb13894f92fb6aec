"""Downloadable templates: the subsidy-list workbook departments fill in."""
from __future__ import annotations

import io

import openpyxl
from openpyxl.styles import Font
from starlette.requests import Request
from starlette.responses import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUBSIDY_LIST_HEADERS = ["姓名", "证件号码", "村/社区", "认定日期", "备注"]
_NOTES = [
    "每行一人；第一行为表头，请勿修改表头名称（也可用英文 name, id number, village, recognized on, note）。",
    "证件号码：18位居民身份证号码，末位X大小写均可；旧15位号码自动升位。本列已设为文本格式，避免Excel把号码变成科学计数法。",
    "姓名须与已登记的参保人一致；同一人在一个名单中只能出现一次。",
    "认定日期：例如 2026-11-05；晚于本年度名单截止日认定的，当年不享受资助。",
    "每次上传都是该类别名单的新版本，完整替换上一版本：请上传完整名单，而不是增减部分。",
    "可先勾选“试运行”（dryRun）检查错误，不会写入任何数据。",
]


def subsidy_list_template() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "资助名单"
    sheet.append(SUBSIDY_LIST_HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for column, width in zip("ABCDE", (12, 22, 18, 14, 24)):
        sheet.column_dimensions[column].width = width
    for row in range(2, 5002):
        sheet.cell(row=row, column=2).number_format = "@"  # ID numbers stay text
    notes = book.create_sheet("填写说明")
    for line in _NOTES:
        notes.append([line])
    notes.column_dimensions["A"].width = 120
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def subsidy_list_template_endpoint(request: Request) -> Response:
    return Response(
        subsidy_list_template(),
        media_type=XLSX,
        headers={"content-disposition": "attachment; filename=\"subsidy-list.xlsx\"; filename*=UTF-8''%E8%B5%84%E5%8A%A9%E5%90%8D%E5%8D%95.xlsx"},
    )
