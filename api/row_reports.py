"""GET /downloads/row-reports/{id}.xlsx: the rejected rows of an upload, to fix in Excel.

The sheet is the file as the department sent it — its own header row first, then each
rejected row with its original cells — plus 原文件行号 and 错误原因 (in the caller's
language, Chinese by default). Fixed and sent again, it is read like the original (the
two added columns are ignored). Same door as the other downloads (api/downloads.py), and
the rights of the batch itself: a subsidy list's department (or whoever reads that
category), the payment importers, the history importers. A reader of masked ID numbers
gets the ID column masked and only the columns the upload understood.
"""
from __future__ import annotations

import io

import openpyxl
from openpyxl.styles import Font
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.downloads import attachment, in_county, problem_response
from api.sheet_cells import row_of, text_cell
from authz.enforcer import category_object
from domain.row_reports.rules import RowReportKind, ShownReport, shown_report
from domain.row_reports.store import StoredReport, load_report, report_rows
from schema.context import Context
from schema.errors import PublicError
from schema.payment_imports import may_list_imports
from tenants.audit import write_audit
from tenants.messages import negotiate, text
from tenants.problems import ErrorCode

_MAX_ID = 2**63 - 1


async def _may_read(context: Context, report: StoredReport) -> bool:
    """The batch's own rights (schema/subsidy_lists.py, payment_imports.py, enrollment.py)."""
    if report.kind is RowReportKind.SUBSIDY_LIST:
        return await context.may(category_object(report.year, report.category_code or ""), "read")
    if report.kind is RowReportKind.PAYMENT_IMPORT:
        return await may_list_imports(context)
    if report.kind is RowReportKind.ROSTER:
        return await context.may("roster", "upload")
    return await context.may("history", "import")


async def _collect(context: Context, report_id: int) -> tuple[StoredReport, ShownReport]:
    await context.authenticate()
    principal = context.county_caller()
    report = await load_report(context.db, principal.tenant_id, report_id)
    if report is None or not await _may_read(context, report):
        raise PublicError(ErrorCode.NOT_FOUND, variant="REPORT")
    rows = await report_rows(context.db, principal.tenant_id, report_id)
    await write_audit(
        context.db, tenant_id=principal.tenant_id, actor=principal.subject, operation="download:row-report",
        outcome="ok", entity="row_report", entity_id=report_id, after={"kind": report.kind.value, "rows": len(rows)},
        correlation_id=context.correlation_id,
    )
    return report, shown_report(report.file, rows, principal.sees_whole_id_numbers)


def report_workbook(shown: ShownReport, locale: str) -> bytes:
    """The header row, then each rejected row: its cells, its row number, why."""
    book = openpyxl.Workbook(write_only=True)
    ws = book.create_sheet(text("report.sheet", locale))
    bold = Font(bold=True)
    headers = [*shown.headers, text("report.row", locale), text("report.reason", locale)]
    ws.append([text_cell(ws, h, bold) for h in headers])
    for number, cells, row in shown.rows:
        reason = row.messages.get(locale) or text(row.problem.message_id, locale, row.problem.params)
        ws.append([*(text_cell(ws, c) for c in cells), *row_of(ws, [number, reason])])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def _download(request: Request) -> Response:
    report_id = request.path_params["id"]
    if not 0 < report_id <= _MAX_ID:
        return problem_response(request, ErrorCode.NOT_FOUND, variant="REPORT")
    found = await in_county(request, lambda context: _collect(context, report_id))
    if isinstance(found, Response):
        return found
    report, shown = found
    locale = negotiate(request.headers.get("accept-language"), request.app.state.runtime.settings.locale)
    data = await run_in_threadpool(report_workbook, shown, locale)
    stem = report.file.file_name.rsplit(".", 1)[0]
    return attachment(data, f"row-report-{report_id}.xlsx", f"{stem}-{text('report.reason', locale)}.xlsx")


def row_report_routes() -> list[Route]:
    return [Route("/downloads/row-reports/{id:int}.xlsx", _download, methods=["GET"])]
