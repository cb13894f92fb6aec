"""Downloadable templates: the subsidy-list workbook departments fill in, the tax bureau's payment file.

Their headers and notes are our own text; they are written as text cells all the same
(api/sheet_cells.py), so no line of a note can ever become a formula."""
from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import openpyxl
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from starlette.requests import Request
from starlette.responses import Response

from api.sheet_cells import append_text

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


@dataclass(frozen=True)
class Template:
    title: str  # the sheet's name
    headers: list[str]
    widths: tuple[int, ...]  # per column, in Excel's character units
    text_columns: tuple[int, ...]  # 1-based: ID numbers and references stay text, never 4.11E+17
    notes: list[str]  # a second sheet, 填写说明
    file_name: str  # ASCII name of the download
    quoted_name: str  # its Chinese name, percent-encoded (RFC 5987)


def workbook(template: Template) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = template.title
    append_text(sheet, template.headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, width in enumerate(template.widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for row in range(2, 5002):
        for column in template.text_columns:
            sheet.cell(row=row, column=column).number_format = "@"
    notes = book.create_sheet("填写说明")
    for line in template.notes:
        append_text(notes, [line])
    notes.column_dimensions["A"].width = 120
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def download(template: Template) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint serving the template as an attachment."""
    disposition = f"attachment; filename=\"{template.file_name}\"; filename*=UTF-8''{template.quoted_name}"

    async def endpoint(request: Request) -> Response:
        return Response(workbook(template), media_type=XLSX, headers={"content-disposition": disposition})

    return endpoint


SUBSIDY_LIST = Template(
    title="资助名单", headers=SUBSIDY_LIST_HEADERS, widths=(12, 22, 18, 14, 24), text_columns=(2,), notes=_NOTES,
    file_name="subsidy-list.xlsx", quoted_name="%E8%B5%84%E5%8A%A9%E5%90%8D%E5%8D%95.xlsx",
)


PAYMENT_FILE_HEADERS = ["证件号码", "姓名", "金额", "渠道", "缴费时间", "流水号", "收据号"]
_PAYMENT_NOTES = [
    "每行一笔缴费；第一行为表头，请勿修改表头名称（也可用英文 id number, name, amount, channel, paid at, external id, receipt no）。",
    "证件号码：18位居民身份证号码，须为本县已登记的参保人；本列已设为文本格式。姓名可空，填写时须与登记的姓名一致。",
    "金额：须等于该参保人本年度应缴金额（元，最多两位小数），例如 400.00。",
    "渠道：微信、支付宝、税务APP/电子税务局、手机银行、银行柜台、POS、办税服务厅、学校、银行代扣（或 WECHAT, ALIPAY, TAX_APP, "
    "BANK_APP, BANK_COUNTER, POS, TAX_HALL, SCHOOL, BANK_WITHHOLDING）。现金由村（社区）经办人开具收据并上解，不通过本文件导入。",
    "缴费时间：例如 2026-11-05 10:30:00；未写时区的按北京时间。须在本年度征缴期内。",
    "流水号：渠道的交易流水号，必填；同一渠道同一流水号只记一次，重复导入同一文件不会重复记账。",
    "同一人本年度已缴费的，再次缴费记为重复缴费并自动生成退费申请。",
    "可先勾选“试运行”（dryRun）检查错误，不会写入任何数据；勾选“全部成功才导入”（atomic）时，有任何一行错误则整个文件都不导入。",
]


PAYMENT_FILE = Template(
    title="缴费明细", headers=PAYMENT_FILE_HEADERS, widths=(22, 12, 10, 14, 20, 28, 16), text_columns=(1, 6, 7),
    notes=_PAYMENT_NOTES, file_name="payment-file.xlsx", quoted_name="%E7%BC%B4%E8%B4%B9%E6%98%8E%E7%BB%86.xlsx",
)
subsidy_list_template_endpoint = download(SUBSIDY_LIST)
payment_file_template_endpoint = download(PAYMENT_FILE)
