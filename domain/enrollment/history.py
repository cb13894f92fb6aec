"""Earlier years' enrolment (参保记录), imported by 医保局: the breaks behind waiting periods.

From benefit year 2025 a break in enrolment delays benefits (domain/payments/rules.py), and
the years before this system existed are known only to 医保局's old records. A file of
(证件号码, 年度, 参保状态) rows is checked set-wise and upserted into
`enrollment_history`, keyed by ID number: the person need not be registered here yet.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import text

from domain.files.sheets import ENROLLMENT_HISTORY_ALIASES, Table, require
from domain.files.uploads import RowProblem, found_headers, open_upload
from domain.persons.idnumber import IdNumberError, id_number_of
from domain.row_reports.rules import REPORT_ROW_LIMIT
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.session import Db

EARLIEST_YEAR = 2000


_ENROLLED = {"已参保", "参保", "是", "y", "yes", "1", "true", "enrolled", "已缴费", "正常参保", "√"}


_NOT_ENROLLED = {"未参保", "不参保", "否", "n", "no", "0", "false", "notenrolled", "未缴费", "断保", "停保", "×"}


_BLANKS = re.compile(r"[\s_\-]+")


def parse_enrolled(raw: str) -> bool | None:
    """已参保/未参保, 是/否, Y/N, 1/0, ENROLLED/NOT_ENROLLED (case and blanks ignored); None if unknown."""
    folded = _BLANKS.sub("", unicodedata.normalize("NFKC", raw).casefold())
    if folded in _ENROLLED:
        return True
    if folded in _NOT_ENROLLED:
        return False
    return None


def parse_year(raw: str) -> int | None:
    match = re.fullmatch(r"(\d{4})(?:年|年度|\.0)?", raw.strip())
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class HistoryFile:
    file_name: str
    data: bytes
    dry_run: bool = False


@dataclass
class HistoryReport:
    rows_total: int
    accepted: int
    rejected: int
    inserted: int
    updated: int
    unchanged: int
    dry_run: bool
    row_errors: list[RowProblem] = field(default_factory=list)


_COLUMN_OF = {"EMPTY_ROW": None, "INVALID_YEAR": "year", "INVALID_STATUS": "enrolled", "NAME_MISMATCH": "name"}


def _cell(cells: list[str], mapping: dict[str, int], name: str) -> str:
    index = mapping.get(name)
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _stage_row(number: int, cells: list[str], mapping: dict[str, int], today: date) -> tuple:
    raw_id = _cell(cells, mapping, "id_number")
    error, id_number = None, None
    if not raw_id:
        error = "MISSING_ID"
    else:
        try:
            id_number = id_number_of(raw_id, today)
        except IdNumberError as problem:
            error = problem.code
    year = parse_year(_cell(cells, mapping, "year"))
    if year is None or not EARLIEST_YEAR <= year <= today.year:
        error, year = error or "INVALID_YEAR", None
    enrolled = parse_enrolled(_cell(cells, mapping, "enrolled"))
    if enrolled is None:
        error = error or "INVALID_STATUS"
    return (number, id_number, _cell(cells, mapping, "name"), year, enrolled, error)


def _staged_rows(table: Table, mapping: dict[str, int], today: date) -> Iterator[tuple]:
    previous = table.header_row
    for number, cells in table.rows:
        for gap in range(previous + 1, number):
            yield (gap, None, "", None, None, "EMPTY_ROW")
        previous = number
        yield _stage_row(number, cells, mapping, today)


def _read(data: bytes, file_name: str) -> tuple[Table, dict[str, int]]:
    table, mapping = open_upload(data, file_name, ENROLLMENT_HISTORY_ALIASES)
    found = found_headers(table)
    missing = require(mapping, ["year", "enrolled"])
    if missing:
        names = ", ".join({"year": "年度", "enrolled": "参保状态"}[m] for m in missing)
        raise Rejected([Problem(ErrorCode.MISSING_COLUMNS, ["file"], {"fileName": file_name, "names": names, "found": found})])
    return table, mapping


_STAGE = """
CREATE TEMP TABLE history_stage (
    row_number int PRIMARY KEY, id_number text, name text, year int, enrolled boolean, error text
) ON COMMIT DROP
"""


async def _stage(db: Db, table: Table, mapping: dict[str, int], today: date) -> None:
    async with db.driver() as conn:
        async with conn.cursor() as cursor:
            await cursor.execute("DROP TABLE IF EXISTS history_stage")
            await cursor.execute(_STAGE)
            async with cursor.copy("COPY history_stage (row_number, id_number, name, year, enrolled, error) FROM STDIN") as copy:
                for row in _staged_rows(table, mapping, today):
                    await copy.write_row(row)
            await cursor.execute("ANALYZE history_stage")


# A name is checked only where the person is registered here; a person-year given twice
# with two statuses is refused in every row that says it (which one is right is unknown).
_VALIDATE = """
UPDATE history_stage s
   SET error = CASE WHEN v.conflict THEN 'CONFLICT_IN_FILE' ELSE 'NAME_MISMATCH' END
  FROM (
    SELECT s2.row_number,
           bool_or(s2.enrolled) OVER w <> bool_and(s2.enrolled) OVER w AS conflict,
           p.name IS NOT NULL AND s2.name <> '' AND s2.name <> p.name AS wrong_name
      FROM history_stage s2
      LEFT JOIN person p ON p.tenant_id = :tenant AND p.id_number = s2.id_number
     WHERE s2.error IS NULL
    WINDOW w AS (PARTITION BY s2.id_number, s2.year)
  ) v
 WHERE s.row_number = v.row_number AND (v.conflict OR v.wrong_name)
"""


_GOOD = """
good AS (
    SELECT DISTINCT ON (id_number, year) id_number, year, enrolled FROM history_stage
     WHERE error IS NULL ORDER BY id_number, year, row_number
)"""


_COUNTS = f"""
WITH {_GOOD}
SELECT (SELECT count(*) FROM history_stage) AS total,
       (SELECT count(*) FROM history_stage WHERE error IS NULL) AS accepted,
       count(*) FILTER (WHERE h.id_number IS NULL) AS inserted,
       count(*) FILTER (WHERE h.enrolled <> g.enrolled) AS updated,
       count(*) FILTER (WHERE h.enrolled = g.enrolled) AS unchanged
  FROM good g
  LEFT JOIN enrollment_history h ON h.tenant_id = :tenant AND h.id_number = g.id_number AND h.year = g.year
"""


_UPSERT = f"""
WITH {_GOOD}
INSERT INTO enrollment_history AS h (tenant_id, id_number, year, enrolled, source)
SELECT :tenant, id_number, year, enrolled, :source FROM good
ON CONFLICT (tenant_id, id_number, year) DO UPDATE
   SET enrolled = EXCLUDED.enrolled, source = EXCLUDED.source, imported_at = now()
 WHERE h.enrolled IS DISTINCT FROM EXCLUDED.enrolled
"""


async def _row_errors(db: Db, table: Table, mapping: dict[str, int], current_year: int) -> list[RowProblem]:

    def column(code: str) -> str | None:
        name = _COLUMN_OF.get(code, "id_number")
        return table.headers[mapping[name]] if name in mapping else None

    rows = await db.execute(
        text("SELECT row_number, error FROM history_stage WHERE error IS NOT NULL ORDER BY row_number LIMIT :limit"),
        {"limit": REPORT_ROW_LIMIT},
    )
    years = {"from": EARLIEST_YEAR, "until": current_year}

    def problem(row_number: int, code: ErrorCode) -> RowProblem:
        if code is ErrorCode.INVALID_YEAR:
            return RowProblem(row_number, column(code), code, years, "ROW")
        return RowProblem(row_number, column(code), code)

    return [problem(r.row_number, ErrorCode(r.error)) for r in rows]


async def import_history(db: Db, tenant_id: int, upload: HistoryFile, actor: str, today: date) -> HistoryReport:
    """Check and (unless a dry run) upsert a history file; the good rows are written,
    the bad ones reported. Raises Rejected when the file cannot be read at all."""
    table, mapping = _read(upload.data, upload.file_name)
    await _stage(db, table, mapping, today)
    params = {"tenant": tenant_id}
    await db.execute(text(_VALIDATE), params)
    counts = (await db.execute(text(_COUNTS), params)).mappings().one()
    if counts["total"] == 0:
        raise Rejected([Problem(ErrorCode.EMPTY_FILE, ["file"], {"fileName": upload.file_name})])
    report = HistoryReport(
        rows_total=counts["total"], accepted=counts["accepted"], rejected=counts["total"] - counts["accepted"],
        inserted=counts["inserted"], updated=counts["updated"], unchanged=counts["unchanged"], dry_run=upload.dry_run,
        row_errors=await _row_errors(db, table, mapping, today.year),
    )
    if not upload.dry_run:
        source = f"file {upload.file_name[:200]} by {actor}"
        await db.execute(text(_UPSERT), {**params, "source": source})
    return report


@dataclass(frozen=True)
class HistoryEntry:
    year: int
    enrolled: bool
    source: str


async def history_of(db: Db, tenant_id: int, id_number: str) -> list[HistoryEntry]:
    rows = await db.execute(
        text("SELECT year, enrolled, source FROM enrollment_history WHERE tenant_id = :t AND id_number = :n ORDER BY year"),
        {"t": tenant_id, "n": id_number},
    )
    return [HistoryEntry(r.year, r.enrolled, r.source) for r in rows]
