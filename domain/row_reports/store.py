"""Row reports written after an upload and read for their download."""
from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from domain.files.sheets import map_headers, read_table
from domain.files.uploads import RowProblem
from domain.row_reports.rules import REPORT_ROW_LIMIT, ReportFile, ReportRow, RowReportKind
from tenants.messages import LOCALES, raw_params
from tenants.messages import text as text_of
from tenants.problems import ErrorCode
from tenants.session import Db


@dataclass(frozen=True)
class StoredReport:
    id: int
    kind: RowReportKind
    year: int
    category_code: str | None
    batch_id: int | None
    file: ReportFile
    rows_rejected: int
    created_by: str
    created_at: datetime


def read_report_file(
    data: bytes, file_name: str, aliases: dict[str, list[str]], rows: Iterable[int]
) -> tuple[ReportFile, dict[int, list[str]]]:
    """The file's headers and the cells of the named rows, read again from the file as
    uploaded (the upload streamed it once and kept only what it understood)."""
    table = read_table(data, file_name)
    mapping = map_headers(table.headers, aliases)
    file = ReportFile(file_name, table.headers, mapping.get("id_number", 0), sorted(set(mapping.values())))
    wanted = set(rows)
    found: dict[int, list[str]] = {}
    for number, cells in table.rows:
        if number in wanted:
            found[number] = list(cells)
            if len(found) == len(wanted):
                break
    return file, found


async def save_report(
    db: Db, tenant_id: int, kind: RowReportKind, where: tuple[int, str | None, int | None], file: ReportFile,
    rows: Sequence[ReportRow], rows_rejected: int, actor: str,
) -> int:
    """Keep a report; its id. `where` is (year, category, batch id)."""
    year, category, batch_id = where
    report_id: int = await db.scalar(
        text(
            """INSERT INTO row_report (tenant_id, kind, year, category_code, batch_id, file_name, headers, id_column,
                                       known_columns, rows_rejected, created_by)
               VALUES (:tenant, :kind, :year, :category, :batch, :file, CAST(:headers AS jsonb), :id_column,
                       CAST(:known AS jsonb), :rejected, :actor)
               RETURNING id"""
        ),
        {
            "tenant": tenant_id, "kind": kind.value, "year": year, "category": category, "batch": batch_id,
            "file": file.file_name, "headers": json.dumps(file.headers, ensure_ascii=False), "id_column": file.id_column,
            "known": json.dumps(file.known_columns), "rejected": rows_rejected, "actor": actor,
        },
    )
    kept = [_stored(row) for row in rows[:REPORT_ROW_LIMIT]]
    # One statement (COPY is not allowed under row-level security).
    await db.execute(
        text(
            """INSERT INTO row_report_row (tenant_id, report_id, row_number, cells, column_name, code, variant, params,
                                           messages)
               SELECT :tenant, :report, r.row_number, r.cells, r.column_name, r.code, r.variant, r.params, r.messages
                 FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(row_number int, cells jsonb, column_name text,
                      code text, variant text, params jsonb, messages jsonb)"""
        ),
        {"tenant": tenant_id, "report": report_id, "rows": json.dumps(kept, ensure_ascii=False)},
    )
    return report_id


def _stored(row: ReportRow) -> dict[str, object]:
    problem = row.problem
    return {
        "row_number": row.row, "cells": row.cells, "column_name": problem.column, "code": problem.code.value,
        "variant": problem.variant, "params": dict(raw_params(problem.params)),
        # Worded now, in every language: a message's words for a code (a channel's name)
        # come from the live values, which the raw params no longer are.
        "messages": {locale: text_of(problem.message_id, locale, problem.params) for locale in LOCALES},
    }


async def load_report(db: Db, tenant_id: int, report_id: int) -> StoredReport | None:
    found = (
        await db.execute(
            text("SELECT * FROM row_report WHERE tenant_id = :tenant AND id = :id"), {"tenant": tenant_id, "id": report_id}
        )
    ).mappings().one_or_none()
    if found is None:
        return None
    file = ReportFile(found["file_name"], list(found["headers"]), found["id_column"], list(found["known_columns"]))
    return StoredReport(
        found["id"], RowReportKind(found["kind"]), found["year"], found["category_code"], found["batch_id"], file,
        found["rows_rejected"], found["created_by"], found["created_at"],
    )


async def report_rows(db: Db, tenant_id: int, report_id: int) -> list[ReportRow]:
    rows = await db.execute(
        text(
            """SELECT row_number, cells, column_name, code, variant, params, messages FROM row_report_row
                WHERE tenant_id = :tenant AND report_id = :id ORDER BY row_number"""
        ),
        {"tenant": tenant_id, "id": report_id},
    )
    return [
        ReportRow(
            r.row_number, list(r.cells),
            RowProblem(r.row_number, r.column_name, ErrorCode(r.code), dict(r.params), r.variant), dict(r.messages),
        )
        for r in rows
    ]
