"""A roster uploaded: read, checked set-wise, matched against the county's persons, and
(unless a dry run) made a new version whose findings are life events.

The file is streamed into a staging table (COPY); every check after the row's own (ID
number, date, repeated number) is one statement over the staging table. A new version
replaces the findings of the one before: persons it no longer lists lose the event that
version recorded for them, persons it lists gain one (unless one of the kind is in force
already), and the persons touched are recomputed once per policy year — EXCUSED while an
event in force predates the year's window end (domain/enrollment/sql.py).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import text

from domain.enrollment.store import recompute_selected_id_numbers, share_years
from domain.files.sheets import Table
from domain.files.uploads import RowProblem, open_upload
from domain.persons.idnumber import IdNumberError, id_number_of
from domain.rosters.rules import EVENT_OF, ROSTER_ALIASES, RosterKind
from domain.row_reports.rules import REPORT_ROW_LIMIT
from domain.subsidy_lists.upload import parse_date
from tenants.problems import ErrorCode, Problem, Rejected, RejectedWithReport
from tenants.session import Db

EARLIEST_YEAR = 2000


@dataclass(frozen=True)
class RosterFile:
    kind: RosterKind
    year: int
    file_name: str
    data: bytes
    dry_run: bool = False


@dataclass
class RosterReport:
    batch_id: int | None
    version: int | None
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    matched: int
    events_recorded: int
    events_withdrawn: int
    dry_run: bool
    row_errors: list[RowProblem] = field(default_factory=list)


_COLUMN_OF = {"EMPTY_ROW": None, "INVALID_DATE": "event_date", "MISSING_DATE": "event_date",
              "EVENT_IN_FUTURE": "event_date", "EVENT_BEFORE_BIRTH": "event_date", "NAME_MISMATCH": "name"}

_RAW = """
CREATE TEMP TABLE roster_raw (
    row_number int PRIMARY KEY, id_number text, name text, event_date date, error text
) ON COMMIT DROP
"""


class _Stager:
    """File rows → staging tuples with the errors a row shows by itself."""

    def __init__(self, mapping: dict[str, int], today: date) -> None:
        self.columns = tuple(mapping.get(name) for name in ("id_number", "name", "event_date"))
        self.today = today
        self.seen: set[str] = set()
        self.dates: dict[str, date | None] = {}

    def _date(self, raw: str) -> date | None:
        if raw not in self.dates:
            try:
                self.dates[raw] = parse_date(raw)
            except ValueError:
                self.dates[raw] = None
        return self.dates[raw]

    def rows(self, table: Table) -> Iterator[tuple]:
        previous = table.header_row
        for number, cells in table.rows:
            for gap in range(previous + 1, number):
                yield (gap, None, "", None, "EMPTY_ROW")
            previous = number
            yield self.row(number, cells)

    def row(self, number: int, cells: list[str]) -> tuple:
        id_at, name_at, date_at = self.columns
        raw_id = cells[id_at] if id_at is not None and id_at < len(cells) else ""
        name = cells[name_at] if name_at is not None and name_at < len(cells) else ""
        raw_date = cells[date_at] if date_at is not None and date_at < len(cells) else ""
        error, id_number, on = None, None, None
        if not raw_id:
            error = "MISSING_ID" if name or raw_date else "EMPTY_ROW"
        else:
            try:
                id_number = id_number_of(raw_id, self.today)
            except IdNumberError as problem:
                error = problem.code
        if not raw_date:
            error = error or "MISSING_DATE"
        else:
            on = self._date(raw_date)
            if on is None:
                error = error or "INVALID_DATE"
            elif on > self.today:
                error = error or "EVENT_IN_FUTURE"
        if error is None:
            if id_number in self.seen:
                error = "DUPLICATE_IN_FILE"
            else:
                self.seen.add(id_number)
        return (number, id_number, name, on, error)


def _read(upload: RosterFile) -> tuple[Table, dict[str, int]]:
    table, mapping = open_upload(upload.data, upload.file_name, ROSTER_ALIASES)
    if "event_date" not in mapping:
        found = [h for h in table.headers if h]
        names = ROSTER_ALIASES["event_date"][0]
        raise Rejected([Problem(ErrorCode.MISSING_COLUMNS, ["file"],
                                {"fileName": upload.file_name, "names": names, "found": found})])
    return table, mapping


async def _stage(db: Db, table: Table, mapping: dict[str, int], today: date) -> None:
    stager = _Stager(mapping, today)
    async with db.driver() as conn:
        async with conn.cursor() as cursor:
            for name in ("roster_raw", "roster_stage"):
                await cursor.execute(f"DROP TABLE IF EXISTS {name}")
            await cursor.execute(_RAW)
            async with cursor.copy("COPY roster_raw (row_number, id_number, name, event_date, error) FROM STDIN") as copy:
                for row in stager.rows(table):
                    await copy.write_row(row)
            await cursor.execute("ANALYZE roster_raw")


# The person of each good row; a registered person's name and birth date checked (a
# wrong number on a death roster must not mark a living neighbour dead). One pass that
# writes a new table: cheaper than updating half the rows of the staged one.
_MATCH = """
CREATE TEMP TABLE roster_stage ON COMMIT DROP AS
SELECT r.row_number, r.id_number, r.name, r.event_date, p.id AS person_id,
       coalesce(r.error, CASE WHEN r.name <> '' AND r.name <> p.name THEN 'NAME_MISMATCH'
                              WHEN r.event_date < p.birth_date THEN 'EVENT_BEFORE_BIRTH' END) AS error
  FROM roster_raw r
  LEFT JOIN person p ON p.tenant_id = :tenant AND p.id_number = r.id_number AND r.error IS NULL
"""


_COUNTS = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE error IS NULL) AS accepted,
       count(*) FILTER (WHERE error IS NULL AND person_id IS NOT NULL) AS matched
  FROM roster_stage
"""


async def _row_errors(db: Db, table: Table, mapping: dict[str, int]) -> list[RowProblem]:
    def column(code: str) -> str | None:
        name = _COLUMN_OF.get(code, "id_number")
        return table.headers[mapping[name]] if name in mapping else None

    rows = await db.execute(
        text("SELECT row_number, error FROM roster_stage WHERE error IS NOT NULL ORDER BY row_number LIMIT :limit"),
        {"limit": REPORT_ROW_LIMIT},
    )
    # INVALID_DATE has a row wording (the field-level one names a year range)
    return [
        RowProblem(r.row_number, column(r.error), ErrorCode(r.error), variant="ROW" if r.error == "INVALID_DATE" else None)
        for r in rows
    ]


async def _new_batch(db: Db, tenant_id: int, upload: RosterFile, counts: dict, actor: str) -> tuple[int, int]:
    """The next version of the kind and year (uploads of one kind and year queue)."""
    await db.execute(
        text("SELECT pg_advisory_xact_lock(:t, hashtext('roster:' || :kind || ':' || :year))"),
        {"t": tenant_id, "kind": upload.kind.value, "year": upload.year},
    )
    row = (await db.execute(
        text("""INSERT INTO roster_batch (tenant_id, kind, year, version, file_name, checksum, rows_total,
                                          rows_accepted, rows_rejected, matched, uploaded_by)
                SELECT :t, :kind, :year, coalesce(max(version), 0) + 1, :file, :checksum, :total, :accepted,
                       :total - :accepted, :matched, :by
                  FROM roster_batch WHERE tenant_id = :t AND kind = :kind AND year = :year
                RETURNING id, version"""),
        {"t": tenant_id, "kind": upload.kind.value, "year": upload.year, "file": upload.file_name[:200],
         "checksum": hashlib.sha256(upload.data).hexdigest(), "total": counts["total"],
         "accepted": counts["accepted"], "matched": counts["matched"], "by": actor},
    )).one()
    return row.id, row.version


# The previous version's findings, and what becomes of the events they recorded.
_PREVIOUS = """
CREATE TEMP TABLE roster_previous ON COMMIT DROP AS
SELECT f.person_id, f.event_id, f.event_date
  FROM roster_finding f
 WHERE f.tenant_id = :t AND f.batch_id = (
        SELECT id FROM roster_batch WHERE tenant_id = :t AND kind = :kind AND year = :year AND id <> :batch
         ORDER BY version DESC LIMIT 1)
"""

# What this upload changes, for the findings and the recompute.
_TOUCHED = """
CREATE TEMP TABLE roster_recorded (id bigint, person_id bigint, date date) ON COMMIT DROP;
CREATE TEMP TABLE roster_withdrawn (person_id bigint, date date) ON COMMIT DROP;
"""

# An event a version recorded ends when the new one drops the person or gives another date.
_WITHDRAW = """
WITH withdrawn AS (
    UPDATE person_event ev SET withdrawn_by = :by, withdrawn_at = now()
      FROM roster_previous r
     WHERE ev.tenant_id = :t AND ev.id = r.event_id AND ev.withdrawn_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM roster_stage s
                        WHERE s.person_id = r.person_id AND s.error IS NULL AND s.event_date = r.event_date)
    RETURNING ev.person_id, ev.date)
INSERT INTO roster_withdrawn SELECT person_id, date FROM withdrawn
"""

# Not again what a person withdrew by hand: the previous version's event for the same
# person and date, withdrawn (this upload withdraws only what it no longer says, so a
# withdrawal of a date it still says was someone's correction). Another date is news.
_RECORD = """
WITH recorded AS (
    INSERT INTO person_event (tenant_id, person_id, kind, date, note, recorded_by)
    SELECT :t, s.person_id, :event_kind, s.event_date, :note, :by
      FROM roster_stage s
     WHERE s.error IS NULL AND s.person_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM roster_previous p
                         JOIN person_event ev ON ev.tenant_id = :t AND ev.id = p.event_id
                        WHERE p.person_id = s.person_id AND p.event_date = s.event_date
                          AND ev.withdrawn_at IS NOT NULL)
    ON CONFLICT (tenant_id, person_id, kind) WHERE withdrawn_at IS NULL DO NOTHING
    RETURNING id, person_id, date)
INSERT INTO roster_recorded SELECT id, person_id, date FROM recorded
"""

# Each finding names its event: the one just recorded, or the previous version's for the
# same date — kept in force, or withdrawn by hand (the finding then stays out of
# `rosterFindings`, as its predecessor was); null when another was in force already.
_FINDINGS = """
INSERT INTO roster_finding (tenant_id, batch_id, kind, year, person_id, event_date, event_id, row_number)
SELECT :t, :batch, :kind, :year, s.person_id, s.event_date, coalesce(r.id, kept.event_id), s.row_number
  FROM roster_stage s
  LEFT JOIN roster_recorded r ON r.person_id = s.person_id
  LEFT JOIN roster_previous kept ON kept.person_id = s.person_id AND kept.event_date = s.event_date
 WHERE s.error IS NULL AND s.person_id IS NOT NULL
"""

_TOUCHED_NUMBERS = """
SELECT p.id_number FROM person p
  JOIN (SELECT person_id FROM roster_recorded UNION SELECT person_id FROM roster_withdrawn) t ON t.person_id = p.id
 WHERE p.tenant_id = :t
"""


async def _years_reached(db: Db, tenant_id: int) -> list[int]:
    """The policy years an event of this upload can excuse: those whose window closes on
    or after the earliest event date recorded or withdrawn (domain/persons/events.py)."""
    rows = await db.execute(
        text("""SELECT year FROM year_policy WHERE tenant_id = :t AND window_end >= (
                    SELECT min(date) FROM (SELECT date FROM roster_recorded UNION ALL SELECT date FROM roster_withdrawn) d)
                 ORDER BY year"""),
        {"t": tenant_id},
    )
    return [r.year for r in rows]


async def _apply(db: Db, tenant_id: int, upload: RosterFile, batch: tuple[int, int], actor: str) -> tuple[int, int]:
    """The version's findings and events; (events recorded, events withdrawn)."""
    batch_id, version = batch
    event_kind = EVENT_OF[upload.kind].value
    params = {"t": tenant_id, "kind": upload.kind.value, "year": upload.year, "batch": batch_id, "by": actor}
    for name in ("roster_previous", "roster_recorded", "roster_withdrawn"):
        await db.execute(text(f"DROP TABLE IF EXISTS {name}"))
    await db.execute(text(_PREVIOUS), params)
    await db.execute(text(_TOUCHED))
    withdrawn = (await db.execute(text(_WITHDRAW), params)).rowcount
    note = f"{upload.file_name[:100]} v{version}"
    recorded = (await db.execute(text(_RECORD), {**params, "event_kind": event_kind, "note": note})).rowcount
    await db.execute(text("ANALYZE roster_recorded; ANALYZE roster_withdrawn; ANALYZE roster_previous"))
    await db.execute(text(_FINDINGS), params)
    if recorded or withdrawn:
        for year in await share_years(db, tenant_id, await _years_reached(db, tenant_id)):
            await recompute_selected_id_numbers(db, tenant_id, year, _TOUCHED_NUMBERS, {"t": tenant_id})
    return recorded, withdrawn


def _check_year(year: int, today: date) -> None:
    if not EARLIEST_YEAR <= year <= today.year + 1:
        raise Rejected([Problem(ErrorCode.INVALID_YEAR, ["year"], {"from": EARLIEST_YEAR, "until": today.year + 1})])


async def upload_roster(db: Db, tenant_id: int, upload: RosterFile, actor: str, today: date) -> RosterReport:
    """Check, match and (unless a dry run, or a row was rejected) write a roster version.

    A roster is all or nothing: a department's list with a bad row is sent back whole
    (the row errors say which), so no version ever holds part of a file."""
    _check_year(upload.year, today)
    table, mapping = _read(upload)
    await _stage(db, table, mapping, today)
    await db.execute(text(_MATCH), {"tenant": tenant_id})
    await db.execute(text("CREATE INDEX ON roster_stage (person_id); ANALYZE roster_stage"))
    counts = dict((await db.execute(text(_COUNTS))).mappings().one())
    if counts["total"] == 0:
        raise Rejected([Problem(ErrorCode.EMPTY_FILE, ["file"], {"fileName": upload.file_name})])
    rejected = counts["total"] - counts["accepted"]
    report = RosterReport(
        batch_id=None, version=None, rows_total=counts["total"], rows_accepted=counts["accepted"],
        rows_rejected=rejected, matched=counts["matched"], events_recorded=0, events_withdrawn=0,
        dry_run=True, row_errors=await _row_errors(db, table, mapping),
    )
    if rejected and not upload.dry_run:
        problem = Problem(ErrorCode.ROW_ERRORS, ["file"], {"rejected": rejected, "rowsTotal": counts["total"]}, "ROSTER")
        raise RejectedWithReport([problem], report)
    if upload.dry_run:
        return report
    report.dry_run = False
    report.batch_id, report.version = await _new_batch(db, tenant_id, upload, counts, actor)
    report.events_recorded, report.events_withdrawn = await _apply(
        db, tenant_id, upload, (report.batch_id, report.version), actor
    )
    return report
