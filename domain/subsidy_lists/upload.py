"""Department subsidy lists (资助名单): upload, validate set-wise, replace, report.

An upload streams through a temporary table with COPY, is checked with a few set-wise
statements, and (unless it is a dry run) becomes version N+1 of that year's list for the
category, replacing version N. Rows that fail are reported by row and column and left
out; the rest count. A file that cannot be read at all is refused whole.

The shape of the work, for a 100,000-row list:

1. `subsidy_raw`: the file as read, one COPY; ID numbers and dates parsed in Python
   (the only per-row Python work; `id_number_of` checks the common well-formed number
   in a few C calls), and numbers repeated in the file marked on the way.
2. `subsidy_stage`: built once by one statement that carries everything later steps
   need — the row's error (the first failing check), the
   registered person, whether the number is on the current list and whether its row
   changed — so nothing joins `person` or `subsidy_membership` twice.
3. The guard (domain/subsidy_lists/rules.py): a version that accepts no row, or removes more
   than a share of the members, is refused unless the removals are confirmed.
4. Writes, each only of what changed: the version's entries (numbers added, removed, or
   kept with a different row), the membership rows, then the enrolments of exactly the
   persons added or removed. A re-submission that changes 5 % of a list writes about
   5 % of it. Who is removed is read before and after (`Removal`); a dry run or a
   refusal with removals makes the same writes in a savepoint it rolls back, so what it
   shows is what the upload would do, by the same code.

Both temporary tables are ANALYZEd: they have no statistics otherwise, and a plan made
on guesses over 600,000 persons can be a hundred times slower.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import text

from domain.enrollment.sql import SELECTED_COLUMNS
from domain.enrollment.store import EnrollmentRow, enrollments_of, recompute_selected
from domain.files.sheets import SUBSIDY_LIST_ALIASES, Table
from domain.files.uploads import ROW_ERROR_LIMIT, RowProblem, open_upload
from domain.persons.idnumber import IdNumberError, id_number_of
from domain.policy.rules import YearPolicy
from domain.row_reports.rules import REPORT_ROW_LIMIT
from domain.subsidy_lists.rules import DEFAULT_REMOVAL_SHARE, removal_problem
from tenants.problems import ErrorCode, Problem, Rejected, RejectedWithReport
from tenants.session import Db

REMOVAL_LIMIT = ROW_ERROR_LIMIT  # removals listed; `UploadReport.removed` counts them all


T = TypeVar("T")


# Sorts and hashes over a 100,000-row list stay in memory (the default 4 MB spills to disk).
WORK_MEM = "64MB"


_DATE = re.compile(r"^(\d{4})\D{0,1}(\d{1,2})\D{0,1}(\d{1,2})")




@dataclass(frozen=True)
class Removal:
    """A member of the previous version the new one leaves out, and what that does to
    their enrolment of the year. A pending member (not registered) has no person and
    no enrolment; `name` is then the one last listed."""

    id_number: str
    name: str
    person_id: int | None
    unit_id: int | None
    before: EnrollmentRow | None
    after: EnrollmentRow | None


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
    dry_run: bool  # nothing was written: asked for, or the upload was refused
    row_errors: list[RowProblem] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)  # the first REMOVAL_LIMIT of `removed`
    removals_confirmed: bool = False  # the guard asked, and the uploader confirmed


def parse_date(raw: str) -> date | None:
    """2026-11-05, 2026/11/5, 2026.11.05, 20261105, 2026年11月5日 (a time part is ignored)."""
    match = _DATE.match(raw.strip())
    if not match:
        raise ValueError(raw)
    return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))


class _Dates:
    """`parse_date` with the answers kept: a list holds few distinct dates."""

    def __init__(self) -> None:
        self._seen: dict[str, date | None] = {}

    def parse(self, raw: str) -> date | None:
        """None: not a date."""
        if raw not in self._seen:
            try:
                self._seen[raw] = parse_date(raw)
            except ValueError:
                self._seen[raw] = None
        return self._seen[raw]


# COPY columns of `subsidy_raw`, in the order `_RowStager` yields them.
_RAW_COLUMNS = "row_number, id_number, error, name, recognized_on, note"


_RAW = """
CREATE TEMP TABLE subsidy_raw (
    row_number int NOT NULL, id_number text, error text, name text, recognized_on date, note text
) ON COMMIT DROP
"""


class _RowStager:
    """File rows → `subsidy_raw` tuples, with the errors the file shows by itself: those
    of a single row, and a number repeated. Among rows with no error of their own, all but
    the first of an ID number are duplicates (even when the first fails a later check)."""

    def __init__(self, mapping: dict[str, int], today: date) -> None:
        self.columns = tuple(mapping.get(name) for name in ("id_number", "name", "note", "recognized_on"))
        self.today = today
        self.dates = _Dates()
        self.seen: set[str] = set()

    def rows(self, table: Table) -> Iterator[tuple]:
        """Rows Excel shows as blank between data rows are EMPTY_ROW."""
        previous = table.header_row
        for number, cells in table.rows:
            for gap in range(previous + 1, number):
                yield (gap, None, "EMPTY_ROW", "", None, "")
            previous = number
            yield self.row(number, cells)

    def row(self, number: int, cells: list[str]) -> tuple:
        # Cells come trimmed (domain/files/sheets.py); the ID number column always exists.
        id_at, name_at, note_at, date_at = self.columns
        raw_id = cells[id_at]
        name = cells[name_at] if name_at is not None else ""
        note = cells[note_at] if note_at is not None else ""
        recognized_raw = cells[date_at] if date_at is not None else ""
        error, id_number, recognized = None, None, None
        if not raw_id:
            error = "MISSING_ID" if name else "EMPTY_ROW"
        else:
            try:
                id_number = id_number_of(raw_id, self.today)
            except IdNumberError as problem:
                error = problem.code
        if recognized_raw:
            recognized = self.dates.parse(recognized_raw)
            if recognized is None:
                error = error or "INVALID_DATE"
        if error is None:
            if id_number in self.seen:
                error = "DUPLICATE_IN_FILE"
            else:
                self.seen.add(id_number)
        return (number, id_number, error, name, recognized, note)


async def _copy_raw(db: Db, table: Table, mapping: dict[str, int], today: date) -> int:
    """Stream the file into `subsidy_raw`; the number of rows staged."""
    stager = _RowStager(mapping, today)
    staged = 0
    async with db.driver() as conn:
        async with conn.cursor() as cursor:
            # Earlier uploads in this transaction (the demo loads several) left theirs.
            for name in ("subsidy_raw", "subsidy_stage", "subsidy_removed"):
                await cursor.execute(f"DROP TABLE IF EXISTS {name}")
            await cursor.execute(_RAW)
            async with cursor.copy(f"COPY subsidy_raw ({_RAW_COLUMNS}) FROM STDIN") as copy:
                for row in stager.rows(table):
                    await copy.write_row(row)
                    staged += 1
    return staged


# One statement: every later step reads person_id, listed and changed from here. The
# first failing check of a row is its error (the file's own errors came with the row).
# `changed`: on the current list, but the row differs from the number's last entry
# (membership.batch_id names the version that wrote it).
_STAGE = """
CREATE TEMP TABLE subsidy_stage ON COMMIT DROP AS
SELECT r.row_number, r.id_number, r.name, r.recognized_on, r.note,
       p.id AS person_id, p.birth_date, p.unit_id, p.unit_path,
       m.id_number IS NOT NULL AS listed,
       m.id_number IS NOT NULL
         AND (e.id_number IS NULL OR (e.name, e.recognized_on, e.note)
              IS DISTINCT FROM (r.name, r.recognized_on, nullif(r.note, ''))) AS changed,
       CASE
        WHEN r.error IS NOT NULL THEN r.error
        WHEN p.name IS NOT NULL AND r.name <> '' AND r.name <> p.name THEN 'NAME_MISMATCH'
        WHEN CAST(:cutoff AS date) IS NOT NULL AND r.recognized_on > CAST(:cutoff AS date) THEN 'RECOGNIZED_AFTER_CUTOFF'
       END AS error
  FROM subsidy_raw r
  LEFT JOIN person p ON p.tenant_id = :tenant AND p.id_number = r.id_number
  LEFT JOIN subsidy_membership m ON m.tenant_id = :tenant AND m.year = :year AND m.category_code = :category
                                AND m.id_number = r.id_number
  LEFT JOIN subsidy_list_entry e ON e.tenant_id = :tenant AND e.batch_id = m.batch_id AND e.id_number = m.id_number
"""


# Accepted rows hold distinct ID numbers, so the members not kept are the removed ones.
_COUNTS = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE error IS NULL) AS accepted,
       count(*) FILTER (WHERE error IS NULL AND person_id IS NULL) AS pending,
       count(*) FILTER (WHERE error IS NULL AND NOT listed) AS added,
       count(*) FILTER (WHERE error IS NULL AND listed) AS kept,
       (SELECT count(*) FROM subsidy_membership m
         WHERE m.tenant_id = :tenant AND m.year = :year AND m.category_code = :category) AS members
  FROM subsidy_stage
"""


async def lock_year_lists(db: Db, tenant_id: int, year: int) -> None:
    """Lock the year's policy row before reading any list: two uploads of one year run
    one after the other, so each compares against the list the other wrote and
    recomputes from the members the other added (two departments listing one person:
    the later upload must see the earlier one's category, not overwrite its result).
    A policy being saved holds the same row; a registration shares it
    (`recompute_persons`), so a person registered meanwhile is recomputed after the
    list is in."""
    await db.execute(
        text("SELECT 1 FROM year_policy WHERE tenant_id = :t AND year = :y FOR NO KEY UPDATE"),
        {"t": tenant_id, "y": year},
    )


async def _next_version(db: Db, tenant_id: int, year: int, category: str) -> int:
    return await db.scalar(
        text("SELECT coalesce(max(version), 0) + 1 FROM subsidy_batch WHERE tenant_id = :t AND year = :y AND category_code = :c"),
        {"t": tenant_id, "y": year, "c": category},
    )


async def _check_rows(db: Db, params: dict, cutoff: date | None) -> dict:
    await db.execute(text("ANALYZE subsidy_raw (id_number)"))
    await db.execute(text(_STAGE), {**params, "cutoff": cutoff})
    # The columns later statements filter and join on.
    await db.execute(text("ANALYZE subsidy_stage (id_number, error, listed, changed, person_id)"))
    return dict((await db.execute(text(_COUNTS), params)).mappings().one())


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
        {"limit": REPORT_ROW_LIMIT},
    )
    return [RowProblem(r.row_number, column(r.error), ErrorCode(r.error), variant=_ROW_VARIANTS.get(r.error)) for r in rows]


# Row codes worded for a row (the catalogue's CODE.ROW) where the same code as a
# userError names an argument instead.
_ROW_VARIANTS = {ErrorCode.INVALID_DATE: "ROW"}


_INSERT_BATCH = """
INSERT INTO subsidy_batch (tenant_id, year, category_code, version, file_name, checksum, uploaded_by,
                           rows_total, rows_accepted, rows_rejected, added, removed, pending)
VALUES (:tenant, :year, :category, :version, :file, :checksum, :actor,
        :total, :accepted, :rejected, :added, :removed, :pending)
RETURNING id
"""


_REMOVED = """
CREATE TEMP TABLE subsidy_removed ON COMMIT DROP AS
SELECT m.id_number
  FROM subsidy_membership m
 WHERE m.tenant_id = :tenant AND m.year = :year AND m.category_code = :category
   AND NOT EXISTS (SELECT 1 FROM subsidy_stage s WHERE s.error IS NULL AND s.id_number = m.id_number)
"""


# A version writes what changed: numbers added, numbers removed, and kept numbers whose
# row (name, date, note) differs from their last entry. A number's state at any version
# is its last entry up to that version (domain/subsidy_lists/store.py reads it so), so every
# version of the list can still be told whole. Sorted by number, so the index pages are
# visited in order; by byte order, which for ID numbers (digits and X) is the index's
# order, and several times cheaper than a locale-aware sort.
_WRITE_ENTRIES = """
INSERT INTO subsidy_list_entry (tenant_id, batch_id, id_number, name, row_number, recognized_on, note, change)
SELECT :tenant, :batch, id_number, name, row_number, recognized_on, note, change
  FROM (SELECT s.id_number, s.name, s.row_number, s.recognized_on, nullif(s.note, '') AS note,
               CASE WHEN s.listed THEN 'KEPT' ELSE 'ADDED' END AS change
          FROM subsidy_stage s
         WHERE s.error IS NULL AND (s.changed OR NOT s.listed)
        UNION ALL
        SELECT r.id_number, '', NULL, NULL, NULL, 'REMOVED'
          FROM subsidy_removed r) written
 ORDER BY id_number COLLATE "C"
"""


# Only the membership rows that change are written; batch_id follows the number's last
# entry. (Three plain statements: an upsert pays for a speculative insert per row.)
_APPLY_MEMBERSHIP = [
    """DELETE FROM subsidy_membership m
        USING subsidy_removed r
        WHERE m.tenant_id = :tenant AND m.year = :year AND m.category_code = :category
          AND m.id_number = r.id_number""",
    """UPDATE subsidy_membership m
          SET batch_id = :batch
         FROM subsidy_stage s
        WHERE m.tenant_id = :tenant AND m.year = :year AND m.category_code = :category
          AND m.id_number = s.id_number AND s.error IS NULL AND s.changed""",
    """INSERT INTO subsidy_membership (tenant_id, year, category_code, id_number, batch_id)
       SELECT :tenant, :year, :category, s.id_number, :batch
         FROM subsidy_stage s
        WHERE s.error IS NULL AND NOT s.listed
        ORDER BY s.id_number COLLATE "C"
    """,
]


# The removed members as the previous version holds them, in ID-number order: the
# registered person, else the name last listed (the entry of the version that wrote it).
_REMOVALS = """
SELECT r.id_number, coalesce(p.name, e.name, '') AS name, p.id AS person_id, p.unit_id
  FROM subsidy_removed r
  JOIN subsidy_membership m ON m.tenant_id = :tenant AND m.year = :year AND m.category_code = :category
                           AND m.id_number = r.id_number
  LEFT JOIN subsidy_list_entry e ON e.tenant_id = :tenant AND e.batch_id = m.batch_id AND e.id_number = r.id_number
  LEFT JOIN person p ON p.tenant_id = :tenant AND p.id_number = r.id_number
 ORDER BY r.id_number COLLATE "C"
 LIMIT :limit
"""


# Whose enrolment can move: registered persons added, and registered persons removed
# (each once: a number is either). The stage read the added ones from `person` already.
_CHANGED = f"""
SELECT {SELECTED_COLUMNS}
  FROM subsidy_stage s WHERE s.error IS NULL AND NOT s.listed AND s.person_id IS NOT NULL
UNION ALL
SELECT p.id, p.id_number, p.birth_date, p.unit_id, p.unit_path
  FROM subsidy_removed r JOIN person p ON p.tenant_id = :tenant AND p.id_number = r.id_number
"""


@dataclass(frozen=True)
class Upload:
    year: int
    category: str
    file_name: str
    data: bytes
    dry_run: bool = False
    confirm_removals: bool = False  # the uploader means the removals (domain/subsidy_lists/rules.py)
    removal_share: Decimal = DEFAULT_REMOVAL_SHARE


def _refuse_before_reading(policy: YearPolicy, upload: Upload, today: date) -> None:
    if policy.category(upload.category) is None:
        raise Rejected([Problem(ErrorCode.NOT_FOUND, ["category"], {"year": upload.year, "category": upload.category}, "CATEGORY")])
    if policy.list_cutoff is not None and today > policy.list_cutoff:
        raise Rejected(
            [Problem(ErrorCode.LIST_CLOSED, ["year"], {"year": upload.year, "listCutoff": policy.list_cutoff})]
        )


async def upload_list(db: Db, tenant_id: int, policy: YearPolicy, upload: Upload, actor: str, today: date) -> UploadReport:
    """Validate and (unless dry_run) apply one department list. Raises Rejected when
    the file as a whole cannot be taken, and RejectedWithReport (counts, row errors,
    removals) when the guard refuses the version."""
    _refuse_before_reading(policy, upload, today)
    table, mapping = open_upload(upload.data, upload.file_name, SUBSIDY_LIST_ALIASES)
    await db.execute(text("SELECT set_config('work_mem', :mem, true)"), {"mem": WORK_MEM})
    if await _copy_raw(db, table, mapping, today) == 0:
        raise Rejected([Problem(ErrorCode.EMPTY_FILE, ["file"], {"fileName": upload.file_name})])
    params = {"tenant": tenant_id, "year": upload.year, "category": upload.category}
    await lock_year_lists(db, tenant_id, upload.year)
    counts = await _check_rows(db, params, policy.list_cutoff)
    report = await _report(db, tenant_id, upload, counts, (table, mapping))
    guard = (counts["members"], report.rows_accepted, report.removed, upload.removal_share)
    problem = removal_problem(*guard, confirmed=upload.confirm_removals)
    # Confirmed: the version passes, and would not have passed without the word.
    report.removals_confirmed = problem is None and removal_problem(*guard) is not None

    def apply() -> Awaitable[list[Removal]]:
        return _apply(db, params, report, upload, actor)

    if problem is None and not upload.dry_run:
        report.removals = await apply()
        return report
    # A dry run or a refusal: the same writes, undone, to show who would lose what.
    report.removals = await _undone(db, apply) if report.removed else []
    report.batch_id, report.dry_run = None, True
    if problem is not None:
        raise RejectedWithReport([problem], report)
    return report


async def _report(db: Db, tenant_id: int, upload: Upload, counts: dict, file: tuple[Table, dict[str, int]]) -> UploadReport:
    """The counts and row errors of the version `upload` would make (nothing written yet)."""
    table, mapping = file
    return UploadReport(
        year=upload.year,
        category=upload.category,
        version=await _next_version(db, tenant_id, upload.year, upload.category),
        batch_id=None,
        rows_total=counts["total"],
        rows_accepted=counts["accepted"],
        rows_rejected=counts["total"] - counts["accepted"],
        added=counts["added"],
        removed=counts["members"] - counts["kept"],
        pending=counts["pending"],
        dry_run=upload.dry_run,
        row_errors=await _row_errors(db, table.headers, mapping),
    )


class _Undo(Exception):
    """Rolls a trial savepoint back."""


async def _undone(db: Db, work: Callable[[], Awaitable[T]]) -> T:
    """`work`'s answer, with every write it made rolled back."""
    answers: list[T] = []
    try:
        async with db.savepoint():
            answers.append(await work())
            raise _Undo
    except _Undo:
        return answers[0]


async def _insert_batch(db: Db, params: dict, report: UploadReport, upload: Upload, actor: str) -> int:
    return await db.scalar(
        text(_INSERT_BATCH),
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


async def _apply(db: Db, params: dict, report: UploadReport, upload: Upload, actor: str) -> list[Removal]:
    """Write the version: its batch row, entries, the membership changes and the
    enrolments they move (about added + removed of them). Returns the first removals
    with their enrolments before and after."""
    await db.execute(text(_REMOVED), params)
    removals = await _removals_before(db, params) if report.removed else []
    report.batch_id = await _insert_batch(db, params, report, upload, actor)
    batch = {**params, "batch": report.batch_id}
    await db.execute(text(_WRITE_ENTRIES), batch)
    for statement in _APPLY_MEMBERSHIP:
        await db.execute(text(statement), batch)
    await recompute_selected(db, batch["tenant"], batch["year"], _CHANGED, {}, report.added + report.removed)
    return await _with_enrolments_after(db, params, removals)


async def _removals_before(db: Db, params: dict) -> list[Removal]:
    rows = (await db.execute(text(_REMOVALS), {**params, "limit": REMOVAL_LIMIT})).all()
    persons = [r.person_id for r in rows if r.person_id is not None]
    before = await enrollments_of(db, params["tenant"], params["year"], persons)
    return [Removal(r.id_number, r.name, r.person_id, r.unit_id, before.get(r.person_id), None) for r in rows]


async def _with_enrolments_after(db: Db, params: dict, removals: list[Removal]) -> list[Removal]:
    persons = [r.person_id for r in removals if r.person_id is not None]
    if not persons:
        return removals
    after = await enrollments_of(db, params["tenant"], params["year"], persons)
    return [replace(r, after=after.get(r.person_id)) if r.person_id is not None else r for r in removals]
