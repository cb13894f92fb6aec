"""Lists for the field as .xlsx, at stable URLs a browser or a script can fetch:

    GET /downloads/{year}/units/{unitCode}/unpaid.xlsx           未缴费人员名单 (催缴)
    GET /downloads/{year}/units/{unitCode}/lapsed.xlsx           断保人员名单
    GET /downloads/{year}/units/{unitCode}/never-enrolled.xlsx   漏保人员名单
    GET /downloads/{year}/units/{unitCode}/roster-findings.xlsx  部门名册比对人员名单
    GET /downloads/{year}/units/{unitCode}/paid-posting.xlsx     已缴费人员公示 (张榜公示)
    GET /downloads/{year}/units/{unitCode}/subsidy-posting.xlsx  资助参保人员公示
    GET /downloads/{year}/units/{unitCode}/subsidy-funding.xlsx  资助资金分担表 (per child unit)
    GET /downloads/{year}/subsidy-funding.xlsx                   the same, for the caller's whole scope

Same door as GraphQL: the bearer token in the Authorization header (never in the URL),
a transaction bound to the caller's county (row-level security), casbin for the right
(`list, download`; the funding sheet: `reconciliation, read`, as `subsidyFunding`), and
the unit must lie inside the caller's jurisdiction. The unpaid
list shows ID numbers as the caller may see them, and the birth date only with whole
numbers (else the birth year); postings are public, so always masked and without any
birth date. Every string is a text cell, never a formula. Every download is audited.
"""
from __future__ import annotations

import contextlib
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar
from urllib.parse import quote

import openpyxl
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import text as sql_text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api.sheet_cells import row_of, text_cell
from api.templates import XLSX
from authz.principal import Principal
from authz.tokens import bearer_token, read_token
from domain.persons.rules import shown_id_number
from domain.policy import store as policy_store
from domain.policy.funding import subsidy_funding
from domain.policy.rules import Funding, SubsidyMode, YearPolicy
from domain.progress import lists as progress_lists
from domain.progress.lists import ListRow, TooManyRows
from schema.context import Context
from schema.edge import YEARS
from schema.errors import PublicError
from tenants.audit import write_audit
from tenants.batch_slots import take_batch_slot
from tenants.messages import error_json, negotiate, text
from tenants.onboarding import tenant_by_id
from tenants.problems import ErrorCode, Params, Rejected
from tenants.session import Db, request_db
from tenants.tree import UNIT_CODE
from tenants.units import UnitRow, unit_by_code, units_by_ids

T = TypeVar("T")

_STATUS = {
    ErrorCode.UNAUTHENTICATED: 401, ErrorCode.FORBIDDEN: 403, ErrorCode.NOT_FOUND: 404, ErrorCode.NO_POLICY: 404,
    ErrorCode.TOO_MANY_ROWS: 422, ErrorCode.TOO_BUSY: 429, ErrorCode.MUST_CHANGE_PASSWORD: 403,
}
_SEX = {"M": "男", "F": "女"}
_MODES = {SubsidyMode.AUTO_ENROLL: "全额资助", SubsidyMode.DEDUCT: "缴费时减免", SubsidyMode.REIMBURSE: "先缴后补"}
_STATUSES = {"UNPAID": "未缴费", "PAID": "已缴费", "SUBSIDIZED": "资助参保", "REFUNDED": "已退费", "EXEMPT": "免缴",
             "EXCUSED": "无需参保", "": "未登记年度"}


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


def _gap_columns(whole: bool) -> tuple[Column, ...]:
    """The unpaid list's columns without the amounts: a gap is about the person."""
    return tuple(c for c in _unpaid_columns(whole) if c[0] not in ("应缴金额（元）", "资助类别"))


def _roster_columns(whole: bool) -> tuple[Column, ...]:
    """Who a department's roster names, and what the roster says."""
    return (
        *_gap_columns(whole),
        ("名册", lambda r, _: text("term.RosterKind." + (r.roster or ""), "zh_CN"), 18),
        ("日期", lambda r, _: r.event_date.isoformat() if r.event_date else "", 12),
        ("本年度状态", lambda r, _: _STATUSES.get(r.status, r.status), 10),
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
        Sheet("lapsed", "断保人员名单", progress_lists.lapsed, _gap_columns, public=False,
              footer="上年度已参保、本年度尚未参保的人员（含历史参保记录），请逐户动员续保。"),
        Sheet("never-enrolled", "漏保人员名单", progress_lists.never_enrolled, _gap_columns, public=False,
              footer="已登记但从未参保的居民，请逐户核实并动员参保。"),
        Sheet("roster-findings", "部门名册比对人员名单", progress_lists.roster_found, _roster_columns, public=False,
              footer="职工医保参保、死亡、异地参保人员：本年度无需催缴；已缴费的可按对应原因办理退费。"),
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


def problem_response(request: Request, code: ErrorCode, params: Params | None = None, variant: str | None = None) -> JSONResponse:
    """A refused download, shaped as GraphQL errors are, worded in the caller's language."""
    locale = negotiate(request.headers.get("accept-language"), request.app.state.runtime.settings.locale)
    headers = {"www-authenticate": "Bearer"} if code == ErrorCode.UNAUTHENTICATED else None
    body = {"errors": [error_json(code, locale, params, variant)]}
    return JSONResponse(body, status_code=_STATUS.get(code, 400), headers=headers)


async def _batch_slot(context: Context, principal: Principal) -> None:
    try:
        await take_batch_slot(context.db, principal.tenant_id, context.services.batch_slots, principal.subject)
    except Rejected as refused:
        problem = refused.problems[0]
        raise PublicError(problem.code, problem.params, variant=problem.variant) from None


async def _scoped_unit(context: Context, principal: Principal, code: str) -> UnitRow:
    unit = await unit_by_code(context.db, principal.tenant_id, code)
    if unit is None:
        raise PublicError(ErrorCode.NOT_FOUND, {"code": code}, variant="UNIT_CODE")
    if not principal.covers(unit.path):
        raise PublicError(ErrorCode.FORBIDDEN, variant="OUTSIDE_SCOPE")
    return unit


async def _collect(context: Context, sheet: Sheet, year: int, code: str) -> tuple[UnitRow, list[ListRow], bool]:
    """Inside the tenant transaction: rights, scope, rows, the audit row."""
    await context.authenticate()
    principal = context.county_caller()
    await context.check("list", "download")
    unit = await _scoped_unit(context, principal, code)
    await _batch_slot(context, principal)
    try:
        async with report_db(context, principal.tenant_id) as db:
            rows = await sheet.fetch(db, principal.tenant_id, year, unit.path)
    except TooManyRows as error:
        raise PublicError(ErrorCode.TOO_MANY_ROWS, {"limit": error.limit}) from None
    whole = principal.sees_whole_id_numbers and not sheet.public
    await write_audit(
        context.db, tenant_id=principal.tenant_id, actor=principal.subject, operation=f"download:{sheet.name}",
        outcome="ok", entity="unit", entity_id=unit.code, after={"year": year, "rows": len(rows)},
        correlation_id=context.correlation_id,
    )
    return unit, rows, whole


def _where(request: Request) -> tuple[int, str | None] | None:
    """The year and unit code of a list's URL, or None when they cannot be."""
    year, code = request.path_params["year"], request.path_params.get("code")
    if year not in YEARS or (code is not None and not UNIT_CODE.match(code)):
        return None
    return year, code


async def _in_year(request: Request, collect: Callable[[Context, int, str | None], Awaitable[T]]) -> T | Response:
    where = _where(request)
    if where is None:
        return problem_response(request, ErrorCode.NOT_FOUND, variant="DOWNLOAD")
    return await in_county(request, lambda context: collect(context, *where))


async def in_county(request: Request, collect: Callable[[Context], Awaitable[T]]) -> T | Response:
    """The same door as GraphQL: the bearer token, a transaction bound to the caller's
    county, `collect` inside it (rights, scope, rows, the audit row); a refusal is a
    problem response and nothing is kept."""
    services = request.app.state.runtime.services
    token = bearer_token(request.headers.get("authorization"))
    claims = read_token(services.secret_key, token) if token else None
    if claims is None:
        return problem_response(request, ErrorCode.UNAUTHENTICATED)
    correlation_id = request.scope.get("state", {}).get("correlation_id", uuid.uuid4().hex[:12])
    context = Context(services=services, request=request, response=None, correlation_id=correlation_id, identity=claims)
    async with request_db(services.pool, services.engine) as db:
        context.db = db
        try:
            found = await collect(context)
        except PublicError as error:  # (rolled back)
            return problem_response(request, error.problem.code, error.problem.params, error.problem.variant)
        db.keep_changes = True
    return found


@contextlib.asynccontextmanager
async def report_db(context: Context, tenant_id: int) -> AsyncIterator[Db]:
    """Where a report's rows are read: the replica when one is configured (a read-only
    transaction bound to the same county), else the request's own transaction. Rights,
    scope and the audit row stay on the primary, so a lagging replica never lets a
    deactivated account in, it only shows rows a moment old."""
    engine = context.services.report_engine
    if engine is None:
        yield context.db
        return
    async with engine.connect() as conn:
        await conn.begin()
        db = Db(conn)
        await db.execute(sql_text("SET TRANSACTION READ ONLY"))
        await db.bind_tenant(tenant_id)
        yield db
        await conn.rollback()


def attachment(data: bytes, ascii_name: str, local_name: str) -> Response:
    return Response(
        data, media_type=XLSX,
        headers={"content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(local_name)}"},
    )


def _endpoint(sheet: Sheet) -> Callable[[Request], Awaitable[Response]]:
    async def download(request: Request) -> Response:
        found = await _in_year(request, lambda context, year, code: _collect(context, sheet, year, code or ""))
        if isinstance(found, Response):
            return found
        unit, rows, whole = found
        year = request.path_params["year"]
        today = request.app.state.runtime.services.clock.today()
        data = await run_in_threadpool(workbook, sheet, unit, year, rows, whole, today)
        return attachment(data, f"{sheet.name}-{unit.code}-{year}.xlsx", f"{unit.name}{year}年度{sheet.title}.xlsx")

    return download


# --- 资助资金分担表: subsidyFunding as a sheet ------------------------------------------------

FUNDING_TITLE = "资助资金分担表"
_NO_FUNDER = "（未指定分担方）"


@dataclass(frozen=True)
class FundingSheet:
    title: str  # where: the unit, the township, or the county
    code: str  # for the file name
    policy: YearPolicy
    funding: Funding
    units: dict[int, str]  # child unit id → name


async def _collect_funding(context: Context, year: int, code: str | None) -> FundingSheet:
    await context.authenticate()
    principal = context.county_caller()
    await context.check("reconciliation", "read")
    db, tenant_id = context.db, principal.tenant_id
    if code is not None:
        unit: UnitRow | None = await _scoped_unit(context, principal, code)
    elif principal.scope_unit_id is not None:
        unit = (await units_by_ids(db, tenant_id, "/", [principal.scope_unit_id]))[principal.scope_unit_id]
    else:
        unit = None
    policy = await policy_store.load_policy(db, tenant_id, year)
    if policy is None:
        raise PublicError(ErrorCode.NO_POLICY, {"year": year})
    found = await subsidy_funding(db, tenant_id, policy, unit.path if unit else principal.scope_path)
    ids = [line.unit_id for line in found.lines if line.unit_id is not None]
    names = {i: u.name for i, u in (await units_by_ids(db, tenant_id, "/", ids)).items()} if ids else {}
    tenant = await tenant_by_id(db, tenant_id)
    title, file_code = (unit.name, unit.code) if unit else ((tenant.name, tenant.code) if tenant else ("", ""))
    await write_audit(
        db, tenant_id=tenant_id, actor=principal.subject, operation="download:subsidy-funding", outcome="ok",
        entity="unit" if unit else "tenant", entity_id=file_code, after={"year": year, "lines": len(found.lines)},
        correlation_id=context.correlation_id,
    )
    return FundingSheet(title, file_code, policy, found, names)


def funding_workbook(sheet: FundingSheet, year: int, today: date) -> bytes:
    """One line per child unit, category and funder, then the totals per funder and the
    grand total; every string a text cell (api/sheet_cells.py)."""
    categories = {c.code: c.name for c in sheet.policy.categories}
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet(FUNDING_TITLE)
    for letter, width in zip("ABCDEF", (6, 16, 28, 16, 10, 14), strict=True):
        ws.column_dimensions[letter].width = width
    ws.append([text_cell(ws, f"{sheet.title} {year}年度{FUNDING_TITLE}（截至 {today.isoformat()}）")])
    bold = Font(bold=True)
    ws.append([text_cell(ws, h, bold) for h in ("序号", "单位", "资助类别", "资金承担方", "人数", "金额（元）")])
    for number, line in enumerate(sheet.funding.lines, start=1):
        where = sheet.units.get(line.unit_id, "") if line.unit_id is not None else f"{sheet.title}（本级）"
        ws.append(row_of(ws, [number, where, categories.get(line.category, line.category), line.funder or _NO_FUNDER,
                              line.persons, line.amount]))
    for total in sheet.funding.by_funder:
        ws.append(row_of(ws, [None, "小计", None, total.funder or _NO_FUNDER, total.persons, total.amount]))
    ws.append(row_of(ws, [None, "合计", None, None, sheet.funding.persons, sheet.funding.amount]))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def _funding_download(request: Request) -> Response:
    found = await _in_year(request, _collect_funding)
    if isinstance(found, Response):
        return found
    year = request.path_params["year"]
    data = await run_in_threadpool(funding_workbook, found, year, request.app.state.runtime.services.clock.today())
    return attachment(data, f"subsidy-funding-{found.code}-{year}.xlsx", f"{found.title}{year}年度{FUNDING_TITLE}.xlsx")


def download_routes() -> list[Route]:
    return [
        *(Route(f"/downloads/{{year:int}}/units/{{code}}/{name}.xlsx", _endpoint(sheet), methods=["GET"])
          for name, sheet in SHEETS.items()),
        Route("/downloads/{year:int}/units/{code}/subsidy-funding.xlsx", _funding_download, methods=["GET"]),
        Route("/downloads/{year:int}/subsidy-funding.xlsx", _funding_download, methods=["GET"]),
    ]
