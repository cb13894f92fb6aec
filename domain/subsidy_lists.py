"""Department subsidy lists (资助名单): upload, validate set-wise, replace, report.

An upload streams through a temporary staging table with COPY, is checked with a few
set-wise statements, and (unless it is a dry run) becomes version N+1 of that year's
list for the category, replacing version N. Rows that fail are reported by row and
column and left out; the rest count. A file that cannot be read at all is refused
whole.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import text

from domain.enrollments import recompute_id_numbers
from domain.idnumber import IdNumberError, parse_id_number
from domain.policy import YearPolicy
from domain.sheets import SUBSIDY_LIST_ALIASES, SheetError, map_headers, read_table, require
from tenants.problems import Problem, Rejected
from tenants.session import Db

ROW_ERROR_LIMIT = 1000  # reported in full up to this many; the counts are always exact

_DATE = re.compile(r"^(\d{4})\D{0,1}(\d{1,2})\D{0,1}(\d{1,2})")

MESSAGES = {
    "EMPTY_ROW": "the row is empty",
    "MISSING_ID": "no ID number",
    "INVALID_ID_FORMAT": "not an ID number (18 characters, or an old 15-digit one)",
    "INVALID_ID_DATE": "the ID number holds an impossible birth date",
    "INVALID_ID_CHECKSUM": "the ID number's check character does not match",
    "INVALID_DATE": "not a date (use 2026-11-05)",
    "DUPLICATE_IN_FILE": "the same person appears earlier in this file",
    "NAME_MISMATCH": "the name differs from the registered person's",
    "RECOGNIZED_AFTER_CUTOFF": "recognised after the list cutoff: no subsidy this year",
}


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str | None
    code: str
    message: str


@dataclass
class UploadReport:
    year: int
    category: str
    version: int
    batch_id: int | None
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    added: int
    removed: int
    pending: int
    dry_run: bool
    row_errors: list[RowProblem] = field(default_factory=list)


def parse_date(raw: str) -> date | None:
    """2026-11-05, 2026/11/5, 2026.11.05, 20261105, 2026年11月5日 (a time part is ignored)."""
    match = _DATE.match(raw.strip())
    if not match:
        raise ValueError(raw)
    return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))


def _staged_rows(table, mapping: dict[str, int]):  # noqa: ANN001, ANN202
    """Yield staging tuples; rows Excel shows as blank between data rows are EMPTY_ROW."""
    previous = table.header_row
    for number, cells in table.rows:
        for gap in range(previous + 1, number):
            yield (gap, None, None, "EMPTY_ROW", "", "", None, "")
        previous = number
        yield _stage_row(number, cells, mapping)


def _cell(cells: list[str], mapping: dict[str, int], name: str) -> str:
    index = mapping.get(name)
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _stage_row(number: int, cells: list[str], mapping: dict[str, int]) -> tuple:
    raw_id = _cell(cells, mapping, "id_number")
    name = _cell(cells, mapping, "name")
    note = _cell(cells, mapping, "note")
    recognized_raw = _cell(cells, mapping, "recognized_on")
    error, id_number, recognized = None, None, None
    if not raw_id:
        error = "MISSING_ID" if name else "EMPTY_ROW"
    else:
        try:
            id_number = parse_id_number(raw_id).value
        except IdNumberError as problem:
            error = problem.code
    if recognized_raw:
        try:
            recognized = parse_date(recognized_raw)
        except ValueError:
            error = error or "INVALID_DATE"
    return (number, id_number, raw_id, error, name, _cell(cells, mapping, "unit"), recognized, note)


_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS subsidy_stage (
    row_number int PRIMARY KEY, id_number text, raw_id text, error text,
    name text, unit text, recognized_on date, note text
) ON COMMIT DROP
"""

# One pass of set-wise checks; the first failing check of a row is its error.
_VALIDATE = """
UPDATE subsidy_stage s
   SET error = CASE
        WHEN s.row_number > d.first_row THEN 'DUPLICATE_IN_FILE'
        WHEN p.name IS NOT NULL AND s.name <> '' AND s.name <> p.name THEN 'NAME_MISMATCH'
        WHEN CAST(:cutoff AS date) IS NOT NULL AND s.recognized_on > CAST(:cutoff AS date) THEN 'RECOGNIZED_AFTER_CUTOFF'
       END
  FROM subsidy_stage s2
  JOIN (SELECT id_number, min(row_number) AS first_row FROM subsidy_stage
         WHERE error IS NULL GROUP BY id_number) d ON d.id_number = s2.id_number
  LEFT JOIN person p ON p.tenant_id = :tenant AND p.id_number = s2.id_number
 WHERE s.row_number = s2.row_number AND s.error IS NULL
"""

_COUNTS = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE s.error IS NULL) AS accepted,
       count(*) FILTER (WHERE s.error IS NULL AND p.id IS NULL) AS pending,
       count(*) FILTER (WHERE s.error IS NULL AND m.id_number IS NULL) AS added,
       (SELECT count(*) FROM subsidy_membership m2
         WHERE m2.tenant_id = :tenant AND m2.year = :year AND m2.category_code = :category
           AND NOT EXISTS (SELECT 1 FROM subsidy_stage x WHERE x.error IS NULL AND x.id_number = m2.id_number)) AS removed
  FROM subsidy_stage s
  LEFT JOIN person p ON p.tenant_id = :tenant AND p.id_number = s.id_number
  LEFT JOIN subsidy_membership m ON m.tenant_id = :tenant AND m.year = :year AND m.category_code = :category
                                AND m.id_number = s.id_number
"""


async def _stage(db: Db, table, mapping: dict[str, int]) -> None:  # noqa: ANN001
    async with db.driver() as conn:
        async with conn.cursor() as cursor:
            await cursor.execute("DROP TABLE IF EXISTS subsidy_stage")
            await cursor.execute(_STAGE)
            columns = "row_number, id_number, raw_id, error, name, unit, recognized_on, note"
            async with cursor.copy(f"COPY subsidy_stage ({columns}) FROM STDIN") as copy:
                for row in _staged_rows(table, mapping):
                    await copy.write_row(row)


def _read(data: bytes, file_name: str):  # noqa: ANN202
    try:
        table = read_table(data, file_name)
    except SheetError as error:
        raise Rejected([Problem("UNREADABLE_FILE", f"{file_name}: {error.message}", ["file"])]) from None
    mapping = map_headers(table.headers, SUBSIDY_LIST_ALIASES)
    if require(mapping, ["id_number"]):
        found = ", ".join(h for h in table.headers if h) or "none"
        raise Rejected(
            [Problem("NO_ID_COLUMN", f"{file_name}: no ID number column (证件号码 or 身份证号); headers found: {found}", ["file"])]
        )
    return table, mapping


async def _row_errors(db: Db, headers: list[str], mapping: dict[str, int]) -> list[RowProblem]:
    def column(code: str) -> str | None:
        field = {
            "NAME_MISMATCH": "name",
            "INVALID_DATE": "recognized_on",
            "RECOGNIZED_AFTER_CUTOFF": "recognized_on",
            "EMPTY_ROW": None,
        }.get(code, "id_number")
        return headers[mapping[field]] if field in mapping else None

    rows = await db.execute(
        text("SELECT row_number, error FROM subsidy_stage WHERE error IS NOT NULL ORDER BY row_number LIMIT :limit"),
        {"limit": ROW_ERROR_LIMIT},
    )
    return [RowProblem(r.row_number, column(r.error), r.error, MESSAGES[r.error]) for r in rows]


async def _next_version(db: Db, tenant_id: int, year: int, category: str) -> int:
    # Lock the category row: two uploads of one list are numbered one after the other.
    await db.execute(
        text("SELECT 1 FROM subsidy_category WHERE tenant_id = :t AND year = :y AND code = :c FOR UPDATE"),
        {"t": tenant_id, "y": year, "c": category},
    )
    return await db.scalar(
        text("SELECT coalesce(max(version), 0) + 1 FROM subsidy_batch WHERE tenant_id = :t AND year = :y AND category_code = :c"),
        {"t": tenant_id, "y": year, "c": category},
    )


_WRITE_ENTRIES = """
INSERT INTO subsidy_list_entry (tenant_id, batch_id, id_number, name, row_number, recognized_on, note, change)
SELECT :tenant, :batch, s.id_number, s.name, s.row_number, s.recognized_on, nullif(s.note, ''),
       CASE WHEN m.id_number IS NULL THEN 'ADDED' ELSE 'KEPT' END
  FROM subsidy_stage s
  LEFT JOIN subsidy_membership m ON m.tenant_id = :tenant AND m.year = :year AND m.category_code = :category
                                AND m.id_number = s.id_number
 WHERE s.error IS NULL
UNION ALL
SELECT :tenant, :batch, m.id_number, '', NULL, NULL, NULL, 'REMOVED'
  FROM subsidy_membership m
 WHERE m.tenant_id = :tenant AND m.year = :year AND m.category_code = :category
   AND NOT EXISTS (SELECT 1 FROM subsidy_stage s WHERE s.error IS NULL AND s.id_number = m.id_number)
"""

_REPLACE_MEMBERSHIP = [
    """DELETE FROM subsidy_membership m
        WHERE m.tenant_id = :tenant AND m.year = :year AND m.category_code = :category
          AND NOT EXISTS (SELECT 1 FROM subsidy_stage s WHERE s.error IS NULL AND s.id_number = m.id_number)""",
    """INSERT INTO subsidy_membership (tenant_id, year, category_code, id_number, batch_id)
       SELECT :tenant, :year, :category, s.id_number, :batch FROM subsidy_stage s WHERE s.error IS NULL
       ON CONFLICT (tenant_id, year, category_code, id_number) DO UPDATE SET batch_id = EXCLUDED.batch_id""",
]

_CHANGED = "SELECT id_number FROM subsidy_list_entry WHERE tenant_id = :tenant AND batch_id = :batch AND change <> 'KEPT'"


@dataclass(frozen=True)
class Upload:
    year: int
    category: str
    file_name: str
    data: bytes
    dry_run: bool = False


async def upload_list(db: Db, tenant_id: int, policy: YearPolicy, upload: Upload, actor: str, today: date) -> UploadReport:
    """Validate and (unless dry_run) apply one department list. Raises Rejected when
    the file as a whole cannot be taken."""
    if policy.category(upload.category) is None:
        raise Rejected([Problem("NOT_FOUND", f"{upload.year} has no subsidy category {upload.category!r}", ["category"])])
    if policy.list_cutoff is not None and today > policy.list_cutoff:
        raise Rejected(
            [Problem("LIST_CLOSED", f"lists for {upload.year} closed on {policy.list_cutoff.isoformat()}", ["year"])]
        )
    table, mapping = _read(upload.data, upload.file_name)
    await _stage(db, table, mapping)
    params = {"tenant": tenant_id, "year": upload.year, "category": upload.category}
    await db.execute(text(_VALIDATE), {**params, "cutoff": policy.list_cutoff})
    counts = (await db.execute(text(_COUNTS), params)).mappings().one()
    if counts["total"] == 0:
        raise Rejected([Problem("EMPTY_FILE", f"{upload.file_name}: the file has a header but no rows", ["file"])])
    report = UploadReport(
        year=upload.year,
        category=upload.category,
        version=0,
        batch_id=None,
        rows_total=counts["total"],
        rows_accepted=counts["accepted"],
        rows_rejected=counts["total"] - counts["accepted"],
        added=counts["added"],
        removed=counts["removed"],
        pending=counts["pending"],
        dry_run=upload.dry_run,
        row_errors=await _row_errors(db, table.headers, mapping),
    )
    report.version = await _next_version(db, tenant_id, upload.year, upload.category)
    if upload.dry_run:
        return report
    report.batch_id = await db.scalar(
        text(
            """
            INSERT INTO subsidy_batch (tenant_id, year, category_code, version, file_name, checksum, uploaded_by,
                                       rows_total, rows_accepted, rows_rejected, added, removed, pending)
            VALUES (:tenant, :year, :category, :version, :file, :checksum, :actor,
                    :total, :accepted, :rejected, :added, :removed, :pending)
            RETURNING id
            """
        ),
        {
            **params,
            "version": report.version,
            "file": upload.file_name[:255],
            "checksum": hashlib.sha256(upload.data).hexdigest(),
            "actor": actor,
            "total": report.rows_total,
            "accepted": report.rows_accepted,
            "rejected": report.rows_rejected,
            "added": report.added,
            "removed": report.removed,
            "pending": report.pending,
        },
    )
    batch = {**params, "batch": report.batch_id}
    await db.execute(text(_WRITE_ENTRIES), batch)
    for statement in _REPLACE_MEMBERSHIP:
        await db.execute(text(statement), batch)
    changed = [r[0] for r in await db.execute(text(_CHANGED), batch)]
    if changed:
        await recompute_id_numbers(db, tenant_id, upload.year, changed)
    return report
