"""Row reports in the API: kept after an upload with rejected rows, named in its payload
(`rowReport { url }`), downloaded at /downloads/row-reports/{id}.xlsx (api/row_reports.py)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.file_uploads import Upload
from strawberry.types import Info

from domain.files.uploads import RowProblem
from domain.row_reports.rules import ReportRow, RowReportKind
from domain.row_reports.store import read_report_file, save_report
from schema.context import Context
from schema.relay import to_global_id
from schema.uploads import read_upload

RowReportKindEnum = strawberry.enum(RowReportKind, name="RowReportKind", description="The kind of upload a row report belongs to.")


def report_url(report_id: int) -> str:
    return f"/downloads/row-reports/{report_id}.xlsx"


@strawberry.type(
    name="RowReport",
    description="The rejected rows of an upload as a spreadsheet: the original cells plus 错误原因, to fix in Excel"
    " and upload again. GET `url` with the same bearer token; the same rights as the upload's batch.",
)
class RowReportType:
    id: strawberry.ID
    kind: RowReportKindEnum  # type: ignore[valid-type]
    file_name: str
    rows_rejected: int = strawberry.field(description="Every rejected row of the file.")
    rows_listed: int = strawberry.field(description="The rows the spreadsheet lists (the first 100,000).")
    url: str


@dataclass
class HeldFile:
    """The uploaded file, kept by the mutation for its row report."""

    name: str = ""
    data: bytes = b""

    async def read(self, file: Upload) -> tuple[str, bytes]:
        self.name, self.data = await read_upload(file)
        return self.name, self.data


@dataclass(frozen=True)
class ReportOf:
    kind: RowReportKind
    year: int
    category: str | None = None
    batch_id: int | None = None


async def keep_row_report(
    info: Info, of: ReportOf, held: HeldFile, aliases: dict[str, list[str]], problems: Sequence[RowProblem],
    rows_rejected: int,
) -> RowReportType | None:
    """Keep the rejected rows of an upload with their original cells (read again from
    the file); None when no row was rejected."""
    if not problems or not held.data:
        return None
    context: Context = info.context
    principal = context.county_caller()
    file, cells = await run_in_threadpool(read_report_file, held.data, held.name, aliases, [p.row for p in problems])
    rows = [ReportRow(p.row, cells.get(p.row, []), p) for p in problems]
    report_id = await save_report(
        context.db, principal.tenant_id, of.kind, (of.year, of.category, of.batch_id), file, rows, rows_rejected,
        principal.subject,
    )
    return RowReportType(
        id=to_global_id("RowReport", report_id), kind=of.kind, file_name=held.name, rows_rejected=rows_rejected,
        rows_listed=len(rows), url=report_url(report_id),
    )
