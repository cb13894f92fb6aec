"""Lists for the field as .xlsx, at stable URLs a browser or a script can fetch:

    GET /downloads/{year}/units/{unitCode}/unpaid.xlsx           未缴费人员名单 (催缴)
    GET /downloads/{year}/units/{unitCode}/paid-posting.xlsx     已缴费人员公示 (张榜公示)
    GET /downloads/{year}/units/{unitCode}/subsidy-posting.xlsx  资助参保人员公示

Same door as GraphQL: the bearer token in the Authorization header (never in the URL),
a transaction bound to the caller's county (row-level security), casbin for the right
(`list, download`), and the unit must lie inside the caller's jurisdiction. The unpaid
list shows ID numbers as the caller may see them, and the birth date only with whole
numbers (else the birth year); postings are public, so always masked and without any
birth date. Every string is a text cell, never a formula. Every download is audited.
"""
from __future__ import annotations

import io
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote

import openpyxl
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.sheet_cells import row_of, text_cell
from api.templates import XLSX
from authz.principal import Principal
from authz.tokens import bearer_token, read_token
from domain.persons.rules import shown_id_number
from domain.policy.rules import SubsidyMode
from domain.progress import lists as progress_lists
from domain.progress.lists import ListRow, TooManyRows
from schema.context import Context
from schema.edge import YEARS
from schema.errors import PublicError
from tenants.audit import write_audit
from tenants.session import Db
from tenants.tree import UNIT_CODE
from tenants.units import UnitRow, unit_by_code

_STATUS = {"UNAUTHENTICATED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404, "TOO_MANY_ROWS": 422}
_SEX = {"M": "男", "F": "女"}
_MODES = {SubsidyMode.AUTO_ENROLL: "全额资助", SubsidyMode.DEDUCT: "缴费时减免", SubsidyMode.REIMBURSE: "先缴后补"}


@dataclass(frozen=True)
class Shown:
    """What the viewer may see of one row's person (domain/persons/rules.py)."""

    id_number: str
    birth: str  # 1990-05-17, or only 1990


Column = tuple[str, Callable[[ListRow, Shown], Any], int]  # header, value(row, shown), width


@dataclass(frozen=True)
class Sheet:
    name: str  # the URL's file name, without .xlsx
    title: str  # 未缴费人员名单
    fetch: Callable[[Db, int, int, str], Awaitable[list[ListRow]]]
    columns: Callable[[bool], tuple[Column, ...]]  # for a viewer who sees numbers whole, or masked
    public: bool  # a posting: ID numbers masked whatever the viewer's rights, no birth date
    footer: str = ""


def _unpaid_columns(whole: bool) -> tuple[Column, ...]:
    birth: Column = ("出生日期", lambda _, shown: shown.birth, 12) if whole else ("出生年份", lambda _, shown: shown.birth, 8)
    return (
        ("乡镇", lambda r, _: r.township, 14), ("村/社区", lambda r, _: r.village, 14),
        ("姓名", lambda r, _: r.name, 10), ("证件号码", lambda _, shown: shown.id_number, 22),
        ("性别", lambda r, _: _SEX.get(r.sex, r.sex), 6), birth,
        ("联系电话", lambda r, _: r.phone or "", 14), ("应缴金额（元）", lambda r, _: r.amount_due, 12),
        ("资助类别", lambda r, _: r.category_name or "", 18),
    )


_PAID_POSTING: tuple[Column, ...] = (
    ("村/社区", lambda r, _: r.village, 14), ("姓名", lambda r, _: r.name, 10),
    ("证件号码", lambda _, shown: shown.id_number, 22), ("个人缴费（元）", lambda r, _: r.paid_amount, 14),
)
_SUBSIDY_POSTING: tuple[Column, ...] = (
    ("村/社区", lambda r, _: r.village, 14), ("姓名", lambda r, _: r.name, 10),
    ("证件号码", lambda _, shown: shown.id_number, 22), ("资助类别", lambda r, _: r.category_name or "", 20),
    ("资助金额（元）", lambda r, _: r.subsidy_amount, 14), ("资助方式", lambda r, _: _MODES.get(r.subsidy_mode or "", ""), 12),
)

SHEETS = {
    sheet.name: sheet
    for sheet in (
        Sheet("unpaid", "未缴费人员名单", progress_lists.unpaid, _unpaid_columns, public=False),
        Sheet(
            "paid-posting", "城乡居民医保已缴费人员公示", progress_lists.paid, lambda _: _PAID_POSTING, public=True,
            footer="公示期不少于5个工作日。如有异议，请向村（社区）征缴经办人员或乡镇征缴专班反映。",
        ),
        Sheet(
            "subsidy-posting", "城乡居民医保资助参保人员公示", progress_lists.subsidy_recipients, lambda _: _SUBSIDY_POSTING,
            public=True, footer="资助对象名单由民政、乡村振兴、残联等部门认定。如有异议，请向村（社区）或乡镇反映。",
        ),
    )
}


def shown_rows(rows: list[ListRow], whole: bool) -> Iterator[Shown]:
    for r in rows:
        yield Shown(shown_id_number(r.id_number, whole), r.birth_date.isoformat() if whole else str(r.birth_date.year))


def sheet_values(sheet: Sheet, rows: list[ListRow], whole: bool) -> tuple[list[Column], Iterator[list[Any]]]:
    """The columns and the body rows (序号 first) as the viewer may see them, row by row."""
    columns = list(sheet.columns(whole))
    body = (
        [number, *(value(row, shown) for _, value, _ in columns)]
        for number, (row, shown) in enumerate(zip(rows, shown_rows(rows, whole)), start=1)
    )
    return columns, body


def workbook(sheet: Sheet, unit: UnitRow, year: int, rows: list[ListRow], whole: bool, today: date) -> bytes:
    """One sheet: a title line, the header, one row per person. Every string is a text
    cell (api/sheet_cells.py): names are data, never formulas."""
    columns, body = sheet_values(sheet, rows, whole)
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet(sheet.title[:31])
    for index, (_, _, width) in enumerate(columns, start=2):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.column_dimensions["A"].width = 6
    ws.append([text_cell(ws, f"{unit.name} {year}年度{sheet.title}（截至 {today.isoformat()}，共 {len(rows)} 人）")])
    bold = Font(bold=True)
    ws.append([text_cell(ws, header, bold) for header in ["序号", *(c[0] for c in columns)]])
    for values in body:
        ws.append(row_of(ws, values))
    if sheet.footer:
        ws.append([])
        ws.append([text_cell(ws, sheet.footer)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _problem(code: str, message: str) -> JSONResponse:
    headers = {"www-authenticate": "Bearer"} if code == "UNAUTHENTICATED" else None
    return JSONResponse({"errors": [{"code": code, "message": message}]}, status_code=_STATUS.get(code, 400), headers=headers)


async def _scoped_unit(context: Context, principal: Principal, code: str) -> UnitRow:
    unit = await unit_by_code(context.db, principal.tenant_id, code)
    if unit is None:
        raise PublicError("NOT_FOUND", f"no unit {code} in this county")
    if not principal.covers(unit.path):
        raise PublicError("FORBIDDEN", "unit is outside your scope")
    return unit


async def _collect(context: Context, sheet: Sheet, year: int, code: str) -> tuple[UnitRow, list[ListRow], bool]:
    """Inside the tenant transaction: rights, scope, rows, the audit row."""
    await context.authenticate()
    principal = context.county_caller()
    await context.check("list", "download")
    unit = await _scoped_unit(context, principal, code)
    try:
        rows = await sheet.fetch(context.db, principal.tenant_id, year, unit.path)
    except TooManyRows as error:
        raise PublicError("TOO_MANY_ROWS", str(error)) from None
    whole = principal.sees_whole_id_numbers and not sheet.public
    await write_audit(
        context.db, tenant_id=principal.tenant_id, actor=principal.subject, operation=f"download:{sheet.name}",
        outcome="ok", entity="unit", entity_id=unit.code, after={"year": year, "rows": len(rows)},
        correlation_id=context.correlation_id,
    )
    return unit, rows, whole


def _endpoint(sheet: Sheet) -> Callable[[Request], Awaitable[Response]]:
    async def download(request: Request) -> Response:
        services = request.app.state.runtime.services
        token = bearer_token(request.headers.get("authorization"))
        claims = read_token(services.secret_key, token) if token else None
        if claims is None:
            return _problem("UNAUTHENTICATED", "log in first: send 'Authorization: Bearer <token>'")
        year, code = request.path_params["year"], request.path_params["code"]
        if year not in YEARS or not UNIT_CODE.match(code):
            return _problem("NOT_FOUND", "no such list: the path names a year 2000–2100 and a unit code")
        correlation_id = request.scope.get("state", {}).get("correlation_id", uuid.uuid4().hex[:12])
        context = Context(services=services, request=request, response=None, correlation_id=correlation_id, identity=claims)
        async with services.engine.connect() as conn:
            transaction = await conn.begin()
            context.db = Db(conn)
            try:
                unit, rows, whole = await _collect(context, sheet, year, code)
            except PublicError as error:
                await transaction.rollback()
                return _problem(error.extensions["code"], str(error))
            except BaseException:
                await transaction.rollback()
                raise
            await transaction.commit()
        today = services.clock.today()
        data = await run_in_threadpool(workbook, sheet, unit, year, rows, whole, today)
        ascii_name = f"{sheet.name}-{unit.code}-{year}.xlsx"
        local_name = quote(f"{unit.name}{year}年度{sheet.title}.xlsx")
        return Response(
            data, media_type=XLSX,
            headers={"content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{local_name}"},
        )

    return download


def download_routes() -> list[Route]:
    return [
        Route(f"/downloads/{{year:int}}/units/{{code}}/{name}.xlsx", _endpoint(sheet), methods=["GET"])
        for name, sheet in SHEETS.items()
    ]
