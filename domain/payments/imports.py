"""Importing a channel file (缴费明细) of the tax bureau: the rules of `record_payment`, set-wise.

A file of 100,000 payments goes through a few statements, never a loop over rows:

1. the cells are read and checked in Python (`domain.payment_files`) and COPYed into a
   temporary staging table;
2. the file's registered persons are read once into a small table, and their
   enrolment rows locked into another (`FOR UPDATE`, ordered by person id), as
   `record_payment` locks its one row, so a payment recorded at the same moment either
   waits for the import or is seen by it: never two ACCEPTED payments;
3. one statement classifies every row (`_CLASSIFY`) with the same rules as
   `record_payment`: person registered, name, idempotent 流水号 per channel, the
   channel open to channel files that day, timing and benefit start
   (`domain/payments/sql.py`), amount due, duplicates. Within the file, a
   person's payments count in the order they were made: the first that passes is
   ACCEPTED, later ones are DUPLICATE (kept, with a DUPLICATE_PAYMENT refund);
4. unless it is a dry run, the import is recorded (`payment_import`), the payments and
   refunds are inserted with one statement, and the enrolments move to PAID with the
   statement of `mark_paid` (tallies in the same statement).

By default the good rows are written and the bad ones reported; `atomic` writes nothing
when any row fails. A file that cannot be read at all is refused whole.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from domain.enrollment.sql import ENROLLED_SQL, tally_deltas, tally_upsert
from domain.files.sheets import PAYMENT_FILE_ALIASES, Table, require
from domain.files.uploads import RowProblem, found_headers, open_upload
from domain.payments import sql as payments_sql
from domain.payments.files import STAGE_COLUMNS, FileContext, staged_rows
from domain.payments.rules import PaymentChannel, RecorderKind, channel_refusal, shanghai_day
from domain.policy.rules import YearPolicy
from domain.row_reports.rules import REPORT_ROW_LIMIT
from tenants.pages import Page, newest_first
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.session import Db
from tenants.unit_changes import share_tree

IMPORT_STATEMENT_TIMEOUT_S = 300  # one statement of a 100,000-row file takes seconds, not 15


# The optional extension-proof column (八公山: migrant workers' proof) beside the shared aliases.
PAYMENT_ALIASES = {**PAYMENT_FILE_ALIASES, "extension_proof": ["延期证明", "证明材料", "extension proof", "extension_proof"]}


REQUIRED = {"channel": "渠道", "paid_at": "缴费时间", "external_id": "流水号"}


@dataclass(frozen=True)
class PaymentFile:
    year: int
    file_name: str
    data: bytes
    dry_run: bool = False
    atomic: bool = False


@dataclass(frozen=True)
class Importer:
    subject: str  # "u:12", recorded as payment.recorded_by and payment_import.imported_by
    scope_path: str  # persons outside it are not found


@dataclass
class ImportReport:
    year: int
    file_name: str
    checksum: str
    rows_total: int
    accepted: int
    duplicates: int
    already_imported: int
    rejected: int
    dry_run: bool
    atomic: bool
    written: bool = False
    import_id: int | None = None
    row_errors: list[RowProblem] = field(default_factory=list)


class RowsRejected(Rejected):
    """Atomic mode and some rows failed: nothing is written; the report says why."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(
            [Problem(ErrorCode.ROW_ERRORS, ["file"], {"rejected": report.rejected, "rowsTotal": report.rows_total})]
        )
        self.report = report


def read_payment_file(data: bytes, file_name: str) -> tuple[Table, dict[str, int]]:
    table, mapping = open_upload(data, file_name, PAYMENT_ALIASES)
    found = found_headers(table)
    if require(mapping, ["amount"]):
        raise Rejected([Problem(ErrorCode.NO_AMOUNT_COLUMN, ["file"], {"fileName": file_name, "found": found})])
    missing = require(mapping, REQUIRED)
    if missing:
        names = ", ".join(REQUIRED[m] for m in missing)
        raise Rejected(
            [Problem(ErrorCode.MISSING_COLUMNS, ["file"], {"fileName": file_name, "names": names, "found": found})]
        )
    return table, mapping


_STAGE = """
CREATE TEMP TABLE payment_stage (
    row_number int PRIMARY KEY, id_number text, name text, amount numeric(12, 2), channel text, raw_channel text,
    paid_at timestamptz, external_id text, receipt_no text, proof text, error text
) ON COMMIT DROP
"""


async def _stage(db: Db, table: Table, context: FileContext) -> None:
    async with db.driver() as conn:
        async with conn.cursor() as cursor:
            for name in ("payment_stage", "payment_person", "payment_enrolled", "payment_outcome"):
                await cursor.execute(f"DROP TABLE IF EXISTS {name}")
            await cursor.execute(_STAGE)
            async with cursor.copy(f"COPY payment_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy:
                for row in staged_rows(table, context):
                    await copy.write_row(row)
            # The planner needs the real row count to hash-join 100,000 rows, not loop
            # (statistics of the columns later statements join and filter on).
            await cursor.execute("ANALYZE payment_stage (row_number, id_number, error)")


# Each registered person the file names (in the importer's scope), read once: the
# classification and the writes join this small table, never `person` again.
_PERSONS = """
CREATE TEMP TABLE payment_person ON COMMIT DROP AS
SELECT p.id AS person_id, p.id_number, p.name, p.birth_date, p.registered_on, p.unit_id, p.unit_path
  FROM person p
 WHERE p.tenant_id = :tenant AND p.unit_path ^@ :scope
   AND p.id_number IN (SELECT s.id_number FROM payment_stage s WHERE s.error IS NULL)
"""


# Their enrolments for the year, locked in person order as `record_payment` locks its
# one row: a payment recorded at the same moment either waits for the import or is
# seen by it, never two ACCEPTED payments. (A dry run reads without locking.) `paid`:
# the year has its accepted payment (PAID moves with it, in the same statement, under
# this lock; the unique index `payment_one_accepted` stands behind it). `subsidized`: a
# subsidy category applies (the grace months); `exempt`: a newborn's exempt year.
_ENROLLED = """
CREATE TEMP TABLE payment_enrolled ON COMMIT DROP AS
SELECT e.person_id, e.amount_due, e.status = 'PAID' AS paid, e.subsidy_category IS NOT NULL AS subsidized,
       e.status = 'EXEMPT' AS exempt
  FROM enrollment e
 WHERE e.tenant_id = :tenant AND e.year = :year AND e.person_id IN (SELECT person_id FROM payment_person)
 ORDER BY e.person_id
"""


async def _find_persons(db: Db, tenant_id: int, year: int, scope_path: str, lock: bool) -> None:
    await db.execute(text(_PERSONS), {"tenant": tenant_id, "scope": scope_path})
    await db.execute(text("ANALYZE payment_person"))
    await db.execute(text(_ENROLLED + (" FOR UPDATE OF e" if lock else "")), {"tenant": tenant_id, "year": year})
    await db.execute(text("ANALYZE payment_enrolled"))


_PAID_ON = "(paid_at AT TIME ZONE 'Asia/Shanghai')::date"


_ROWS_PER_MILLISECOND = 2**21  # more rows than a 64 MB file can hold: (time, row) in one bigint


# One row per staged row. Each CTE adds one kind of fact; `verdict` is the first rule a
# row breaks, in the order record_payment checks them. Facts about a few rows (a 流水号
# or receipt twice in the file, a person paying twice) come from narrow aggregates
# joined back, not from sorting 100,000 wide rows.
_CLASSIFY = f"""
CREATE TEMP TABLE payment_outcome ON COMMIT DROP AS
WITH staged AS (
    SELECT s.row_number, s.id_number, s.name, s.amount, s.channel, s.paid_at, s.external_id, s.receipt_no, s.proof,
           {_PAID_ON} AS paid_on, p.person_id, p.name AS registered_name, p.birth_date, p.registered_on, p.unit_id,
           p.unit_path
      FROM payment_stage s
      LEFT JOIN payment_person p ON p.id_number = s.id_number
     WHERE s.error IS NULL
),
-- A 流水号 (per channel) more than once in the file: the same payment repeated, or two
-- payments given one number (then every row of it is refused: which is right is unknown).
ext_groups AS (
    SELECT channel, external_id, min(row_number) AS first_row, max(row_number) AS last_row,
           (min(id_number) <> max(id_number) OR min(amount) <> max(amount) OR min(paid_at) <> max(paid_at)) AS differs
      FROM staged GROUP BY channel, external_id HAVING count(*) > 1
),
{{receipt_groups}}
-- Earlier years, as domain.payments.enrollment_history reads them for one person.
history AS (
    SELECT f.person_id, h.year, h.enrolled
      FROM payment_person f
      JOIN enrollment_history h ON h.tenant_id = :tenant AND h.id_number = f.id_number AND h.year < :year
    UNION ALL
    SELECT f.person_id, e.year, e.status IN {ENROLLED_SQL}
      FROM payment_person f
      JOIN enrollment e ON e.tenant_id = :tenant AND e.person_id = f.person_id AND e.year < :year
),
breaks AS (SELECT person_id, {payments_sql.break_years("year", "enrolled")} AS breaks FROM history GROUP BY person_id),
facts AS (
    SELECT i.*, e.amount_due, e.person_id IS NOT NULL AS has_enrollment, coalesce(e.exempt, false) AS exempt,
           g.first_row, g.last_row, coalesce(g.differs, false) AS ext_differs,
           g.first_row IS NOT NULL AND i.row_number <> g.first_row AS repeat,
           x.id AS existing_id, (x.person_id, x.year, x.amount) = (i.person_id, :year, i.amount) AS same_as_existing,
           {{receipt_facts}},
           coalesce(e.paid, false) AS paid_before,
           coalesce(b.breaks, 0) AS breaks,
           {payments_sql.timing("i.paid_on", "i.birth_date", "i.proof IS NOT NULL", "coalesce(e.subsidized, false)")}
               AS timing,
           -- a duplicate is kept whenever it arrived; its timing is only informative
           {payments_sql.timing("i.paid_on", "i.birth_date", "true", "coalesce(e.subsidized, false)")} AS duplicate_timing,
           -- the order payments were made in (milliseconds, then the row): a person's
           -- earliest good one is accepted
           floor(extract(epoch FROM i.paid_at) * 1000)::bigint * {_ROWS_PER_MILLISECOND} + i.row_number AS ord
      FROM staged i
      LEFT JOIN ext_groups g ON g.channel = i.channel AND g.external_id = i.external_id
      LEFT JOIN payment_enrolled e ON e.person_id = i.person_id
      -- one index probe per row (receipts too): a file looks up its own numbers, never
      -- the whole payment table, which grows all campaign long (LIMIT 1: each is
      -- unique, and it keeps the planner from hashing the table instead). Read by this
      -- statement, after the locks: a payment committed meanwhile is seen.
      LEFT JOIN LATERAL (
           SELECT x.id, x.person_id, x.year, x.amount FROM payment x
            WHERE x.tenant_id = :tenant AND x.channel = i.channel AND x.external_id = i.external_id LIMIT 1) x ON true
      {{receipt_join}}
      LEFT JOIN breaks b ON b.person_id = i.person_id
),
-- What stops a row before the payment rules are even asked; or it was imported already.
-- A channel the policy closes to channel files that day stops it before duplicates are
-- looked for, as in record_payment.
judged AS (
    SELECT f.*,
           CASE
               WHEN person_id IS NULL THEN 'PERSON_NOT_FOUND'
               WHEN name <> '' AND name <> registered_name THEN 'NAME_MISMATCH'
               WHEN ext_differs THEN 'EXTERNAL_ID_REUSED_IN_FILE'
               WHEN existing_id IS NOT NULL AND NOT same_as_existing THEN 'EXTERNAL_ID_CONFLICT'
               WHEN existing_id IS NOT NULL OR repeat THEN NULL
               WHEN {payments_sql.channel_closed("channel", "CAST(:file_recorder AS text)", "paid_on")} THEN 'CHANNEL_CLOSED'
               WHEN receipt_used OR receipt_reused THEN 'RECEIPT_NO_USED'
               WHEN NOT has_enrollment THEN 'NO_ENROLLMENT'
           END AS block,
           existing_id IS NOT NULL AND same_as_existing AS imported_before,
           {payments_sql.expected_amount("timing", "amount_due")} AS expected
      FROM facts f
),
-- (only the columns the decision needs: this set is read twice)
candidates AS (
    SELECT j.row_number, j.person_id, j.ord, j.paid_before,
           CASE
               WHEN exempt THEN 'NEWBORN_EXEMPT'
               WHEN timing IN {payments_sql.REFUSALS} THEN timing
               WHEN amount_due = 0 AND timing <> 'LATE' THEN 'NOTHING_DUE'
               WHEN amount <> expected THEN 'AMOUNT_MISMATCH'
           END AS verdict
      FROM judged j
     WHERE block IS NULL AND NOT imported_before AND NOT repeat
),
firsts AS (
    SELECT person_id, min(ord) FILTER (WHERE verdict IS NULL) AS first_ok
      FROM candidates GROUP BY person_id
),
decided AS (
    SELECT c.row_number,
           CASE WHEN c.paid_before OR c.ord > f.first_ok THEN 'DUPLICATE' WHEN c.ord = f.first_ok THEN 'ACCEPTED' END
               AS outcome,
           CASE WHEN c.paid_before OR c.ord >= f.first_ok THEN NULL ELSE c.verdict END AS verdict
      FROM candidates c JOIN firsts f USING (person_id)
),
settled AS (
    SELECT j.*, d.outcome AS decided_outcome, coalesce(j.block, d.verdict) AS first_error
      FROM judged j LEFT JOIN decided d USING (row_number)
)
SELECT s.row_number, s.error AS stage_error, t.person_id, t.id_number, t.amount, t.channel, t.paid_at, t.external_id,
       t.receipt_no, t.proof, t.unit_id, t.unit_path, t.amount_due, t.expected, t.breaks,
       CASE
           WHEN t.first_error IS NOT NULL THEN NULL
           WHEN t.imported_before THEN 'ALREADY_IMPORTED'
           WHEN t.repeat THEN 'REPEATED'  -- settled below by the row it repeats
           ELSE t.decided_outcome
       END AS outcome,
       coalesce(s.error, t.first_error) AS error,
       CASE WHEN t.first_error = 'EXTERNAL_ID_REUSED_IN_FILE'
            THEN CASE WHEN t.row_number = t.first_row THEN t.last_row ELSE t.first_row END
            WHEN t.first_error = 'RECEIPT_NO_USED' AND t.receipt_reused THEN t.receipt_row
            WHEN t.repeat THEN t.first_row
       END AS other_row,
       CASE WHEN t.decided_outcome = 'ACCEPTED' THEN t.timing
            WHEN t.duplicate_timing IN {payments_sql.REFUSALS} THEN 'LATE'
            ELSE t.duplicate_timing END AS pay_timing,
       CASE WHEN t.decided_outcome = 'ACCEPTED'
            THEN {payments_sql.benefit_start("t.timing", "t.paid_on", "t.birth_date", "t.registered_on", "t.breaks")}
       END AS benefit_start
  FROM payment_stage s LEFT JOIN settled t USING (row_number)
"""


# Receipt numbers are checked (against the county's, and for two payments with one
# receipt in the file) only when the file has them.
_RECEIPT_PARTS = {
    "receipt_groups": """receipt_firsts AS (
    SELECT DISTINCT ON (receipt_no) receipt_no, row_number, channel, external_id
      FROM staged WHERE receipt_no IS NOT NULL ORDER BY receipt_no, row_number
),""",
    "receipt_facts": """r.id IS NOT NULL AND r.id IS DISTINCT FROM x.id AS receipt_used,
           rf.receipt_no IS NOT NULL AND (rf.channel, rf.external_id) <> (i.channel, i.external_id) AS receipt_reused,
           rf.row_number AS receipt_row""",
    "receipt_join": """LEFT JOIN LATERAL (
           SELECT r.id FROM payment r WHERE r.tenant_id = :tenant AND r.receipt_no = i.receipt_no LIMIT 1) r ON true
      LEFT JOIN receipt_firsts rf ON rf.receipt_no = i.receipt_no""",
}


_NO_RECEIPTS = {
    "receipt_groups": "",
    "receipt_facts": "false AS receipt_used, false AS receipt_reused, NULL::int AS receipt_row",
    "receipt_join": "",
}


def classify_statement(has_receipts: bool) -> str:
    statement = _CLASSIFY
    for name, part in (_RECEIPT_PARTS if has_receipts else _NO_RECEIPTS).items():
        statement = statement.replace("{" + name + "}", part)
    return statement


# A line repeating an earlier line of the file (same channel, 流水号 and content) is the
# same payment: already imported when that row was taken, an error when it was not.
_SETTLE_REPEATS = """
UPDATE payment_outcome r
   SET outcome = CASE WHEN f.outcome IS NOT NULL THEN 'ALREADY_IMPORTED' END,
       error = CASE WHEN f.outcome IS NULL THEN 'SAME_AS_BAD_ROW' END
  FROM payment_outcome f
 WHERE r.outcome = 'REPEATED' AND f.row_number = r.other_row
"""


_COUNTS = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE outcome = 'ACCEPTED') AS accepted,
       count(*) FILTER (WHERE outcome = 'DUPLICATE') AS duplicates,
       count(*) FILTER (WHERE outcome = 'ALREADY_IMPORTED') AS already,
       count(*) FILTER (WHERE error IS NOT NULL) AS rejected
  FROM payment_outcome
"""


async def _classify(db: Db, tenant_id: int, policy: YearPolicy, has_receipts: bool) -> None:
    params = {
        **payments_sql.policy_params(policy), "tenant": tenant_id, "year": policy.year,
        "file_recorder": RecorderKind.CHANNEL_FILE.value,
    }
    await db.execute(text(classify_statement(has_receipts)), params)
    # Real row counts for the statements that read it (a nested loop over 100,000 rows
    # estimated as 200 costs seconds).
    await db.execute(text("ANALYZE payment_outcome (row_number, person_id, outcome, other_row)"))
    await db.execute(text(_SETTLE_REPEATS))


_COLUMN_OF = {
    "EMPTY_ROW": None,
    "MISSING_AMOUNT": "amount", "INVALID_AMOUNT": "amount", "NOTHING_DUE": "amount", "NEWBORN_EXEMPT": "amount",
    "AMOUNT_MISMATCH": "amount",
    "MISSING_CHANNEL": "channel", "UNKNOWN_CHANNEL": "channel", "CASH_NOT_IN_FILES": "channel", "CHANNEL_CLOSED": "channel",
    "MISSING_PAID_AT": "paid_at", "INVALID_PAID_AT": "paid_at", "PAID_AT_IN_FUTURE": "paid_at",
    "WINDOW_NOT_OPEN": "paid_at", "WINDOW_CLOSED": "paid_at", "EXTENSION_PROOF_REQUIRED": "extension_proof",
    "MISSING_EXTERNAL_ID": "external_id", "INVALID_EXTERNAL_ID": "external_id",
    "EXTERNAL_ID_REUSED_IN_FILE": "external_id", "EXTERNAL_ID_CONFLICT": "external_id", "SAME_AS_BAD_ROW": "external_id",
    "INVALID_RECEIPT_NO": "receipt_no", "RECEIPT_NO_USED": "receipt_no",
    "NAME_MISMATCH": "name",
}


def _row_problem(row, policy: YearPolicy, column: str | None) -> RowProblem:  # noqa: ANN001
    """A rejected row of a channel file, with the values its message names."""
    code = ErrorCode(row.error)
    year = policy.year
    params: dict[str, object] = {}
    variant = None
    if code in (ErrorCode.NO_ENROLLMENT, ErrorCode.NEWBORN_EXEMPT):
        params = {"year": year}
    elif code is ErrorCode.WINDOW_NOT_OPEN:
        params = {"year": year, "windowStart": policy.window_start}
    elif code is ErrorCode.WINDOW_CLOSED:
        params = {"year": year, "lastPaymentDay": policy.last_payment_day}
    elif code is ErrorCode.EXTENSION_PROOF_REQUIRED:
        params = {"windowEnd": policy.window_end}
    elif code is ErrorCode.CHANNEL_CLOSED:
        closed = channel_refusal(policy, PaymentChannel(row.channel), RecorderKind.CHANNEL_FILE, shanghai_day(row.paid_at))
        if closed is not None:
            params, variant = dict(closed.params), closed.variant
    elif code is ErrorCode.AMOUNT_MISMATCH:
        params = {"expected": row.expected, "amount": row.amount}
    elif code is ErrorCode.EXTERNAL_ID_CONFLICT:
        params = {"externalId": row.external_id}
    elif code is ErrorCode.RECEIPT_NO_USED:
        params = {"receiptNo": row.receipt_no}
        if row.other_row:
            params, variant = {**params, "otherRow": row.other_row}, "IN_FILE"
    elif code in (ErrorCode.EXTERNAL_ID_REUSED_IN_FILE, ErrorCode.SAME_AS_BAD_ROW):
        params = {"otherRow": row.other_row}
    elif code in (ErrorCode.INVALID_EXTERNAL_ID, ErrorCode.INVALID_RECEIPT_NO, ErrorCode.INVALID_PAID_AT, ErrorCode.INVALID_AMOUNT):
        variant = "ROW"
    return RowProblem(row.row_number, column, code, params, variant)


async def _row_errors(db: Db, policy: YearPolicy, table: Table, mapping: dict[str, int]) -> list[RowProblem]:
    def column(code: str) -> str | None:
        name = _COLUMN_OF.get(code, "id_number")
        return table.headers[mapping[name]] if name in mapping else None

    rows = await db.execute(
        text(
            """SELECT row_number, error, expected, amount, other_row, channel, paid_at, external_id, receipt_no
                 FROM payment_outcome WHERE error IS NOT NULL ORDER BY row_number LIMIT :limit"""
        ),
        {"limit": REPORT_ROW_LIMIT},
    )
    return [_row_problem(r, policy, column(r.error)) for r in rows]


_RECORD_IMPORT = """
INSERT INTO payment_import (tenant_id, year, file_name, checksum, imported_by, rows_total, accepted, duplicates,
                            already_imported, rejected)
VALUES (:tenant, :year, :file, :checksum, :actor, :total, :accepted, :duplicates, :already, :rejected)
RETURNING id
"""


_INSERT_PAYMENTS = """
WITH inserted AS (
    INSERT INTO payment (tenant_id, person_id, year, amount, due_at_payment, channel, status, timing, paid_at,
                         benefit_start, back_years, receipt_no, external_id, extension_proof, unit_id, unit_path,
                         import_id, recorded_by)
    SELECT :tenant, person_id, :year, amount, CASE WHEN outcome = 'ACCEPTED' THEN amount_due ELSE 0 END, channel,
           outcome, pay_timing, paid_at, benefit_start, 0, receipt_no, external_id, proof, unit_id, unit_path,
           :import, :actor
      FROM payment_outcome
     WHERE outcome IN ('ACCEPTED', 'DUPLICATE')
     -- in person order: the person-year and unit-path indexes, and the foreign-key
     -- checks on person, then walk their pages in order instead of at random
     ORDER BY person_id, row_number
    RETURNING id, status, amount
),
refunds AS (
    INSERT INTO refund (tenant_id, payment_id, reason, amount, status, automatic, requested_by, note)
    SELECT :tenant, id, 'DUPLICATE_PAYMENT', amount, 'REQUESTED', true, 'system',
           'opened when the person-year was found already paid'
      FROM inserted WHERE status = 'DUPLICATE'
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted) AS payments, (SELECT count(*) FROM refunds) AS refunds
"""


# domain.enrollment_status.mark_paid, with the accepted rows read from payment_outcome
# instead of 100,000-element arrays sent back and forth: the same statement shape, so
# the tallies move with the rows, by the status the UPDATE found under its lock.
_MARK_PAID = f"""
WITH changed AS (
    UPDATE enrollment e
       SET previous_status = e.status, status = 'PAID',
           paid_amount = e.paid_amount + o.amount, benefit_start = o.benefit_start
      FROM payment_outcome o
     WHERE e.tenant_id = :tenant AND e.year = :year AND e.person_id = o.person_id AND o.outcome = 'ACCEPTED'
    RETURNING e.person_id, e.status, e.previous_status
),
moved AS (
    SELECT o.unit_id, o.unit_path, {tally_deltas("c.status", "c.previous_status")}
      FROM changed c JOIN payment_outcome o ON o.person_id = c.person_id AND o.outcome = 'ACCEPTED'
     GROUP BY o.unit_id, o.unit_path
),
tallied AS ({tally_upsert("moved")})
SELECT count(*) FROM changed
"""


_UNIQUE_PAYMENT_INDEXES = ("payment_external_unique", "payment_receipt_unique", "payment_one_accepted")


async def _write(db: Db, tenant_id: int, year: int, report: ImportReport, actor: str) -> int:
    import_id = await db.scalar(
        text(_RECORD_IMPORT),
        {
            "tenant": tenant_id, "year": year, "file": report.file_name[:255], "checksum": report.checksum,
            "actor": actor, "total": report.rows_total, "accepted": report.accepted,
            "duplicates": report.duplicates, "already": report.already_imported, "rejected": report.rejected,
        },
    )
    try:
        await db.execute(text(_INSERT_PAYMENTS), {"tenant": tenant_id, "year": year, "import": import_id, "actor": actor})
    except IntegrityError as error:
        # Only a payment recorded by someone else meanwhile with one of the file's 流水号
        # or receipt numbers gets here (the enrolment locks stop everything else), or an
        # accepted payment whose enrolment does not say PAID: refused whole, as a row
        # accepted twice must never be.
        if any(index in str(error.orig) for index in _UNIQUE_PAYMENT_INDEXES):
            raise Rejected(
                [Problem(ErrorCode.CONCURRENT_PAYMENT, ["file"])]
            ) from None
        raise
    await db.execute(text(_MARK_PAID), {"tenant": tenant_id, "year": year})
    return import_id


async def import_payments(
    db: Db, tenant_id: int, policy: YearPolicy, upload: PaymentFile, importer: Importer, now: datetime, today: date
) -> ImportReport:
    """Check and (unless a dry run, or atomic with errors) record a channel file.
    Raises Rejected when the file as a whole cannot be taken, RowsRejected in atomic
    mode when rows fail."""
    table, mapping = read_payment_file(upload.data, upload.file_name)
    # Sorting and hashing 100,000 rows in memory rather than in temporary files; and a
    # statement budget for a file, not for one request's look-up (this transaction only).
    await db.execute(text("SET LOCAL work_mem = '64MB'"))
    await db.execute(text(f"SET LOCAL statement_timeout = '{IMPORT_STATEMENT_TIMEOUT_S}s'"))
    await _stage(db, table, FileContext(mapping, now, today))
    writing = not upload.dry_run
    if writing:
        await share_tree(db, tenant_id)  # its persons' units stay put until it commits
    await _find_persons(db, tenant_id, policy.year, importer.scope_path, lock=writing)
    await _classify(db, tenant_id, policy, "receipt_no" in mapping)
    counts = (await db.execute(text(_COUNTS))).mappings().one()
    if counts["total"] == 0:
        raise Rejected([Problem(ErrorCode.EMPTY_FILE, ["file"], {"fileName": upload.file_name})])
    report = ImportReport(
        year=policy.year, file_name=upload.file_name, checksum=hashlib.sha256(upload.data).hexdigest(),
        rows_total=counts["total"], accepted=counts["accepted"], duplicates=counts["duplicates"],
        already_imported=counts["already"], rejected=counts["rejected"], dry_run=upload.dry_run, atomic=upload.atomic,
        row_errors=await _row_errors(db, policy, table, mapping),
    )
    if upload.atomic and report.rejected:
        report.accepted = report.duplicates = report.already_imported = 0
        raise RowsRejected(report)
    if writing:
        report.import_id = await _write(db, tenant_id, policy.year, report, importer.subject)
        report.written = True
    return report


@dataclass(frozen=True)
class ImportRow:
    id: int
    year: int
    file_name: str
    checksum: str
    imported_by: str
    imported_at: datetime
    rows_total: int
    accepted: int
    duplicates: int
    already_imported: int
    rejected: int


_IMPORT_COLUMNS = """i.id, i.year, i.file_name, i.checksum, coalesce(u.username, i.imported_by) AS imported_by,
                     i.imported_at, i.rows_total, i.accepted, i.duplicates, i.already_imported, i.rejected"""


_IMPORT_FROM = """payment_import i
  LEFT JOIN app_user u ON u.tenant_id = i.tenant_id AND i.imported_by = 'u:' || u.id"""


def _import_row(r) -> ImportRow:  # noqa: ANN001
    return ImportRow(
        r.id, r.year, r.file_name, r.checksum, r.imported_by, r.imported_at, r.rows_total, r.accepted, r.duplicates,
        r.already_imported, r.rejected,
    )


async def list_imports(
    db: Db, tenant_id: int, year: int | None, first: int, before_id: int | None
) -> Page[ImportRow]:
    """A county's imports, newest first: (page, has_next, total)."""
    where = "i.tenant_id = :t AND (CAST(:y AS int) IS NULL OR i.year = :y)"
    return await newest_first(
        db, columns=_IMPORT_COLUMNS, source=_IMPORT_FROM, where=where, params={"t": tenant_id, "y": year},
        id_column="i.id", first=first, before_id=before_id, row=_import_row,
    )


async def imports_by_ids(db: Db, tenant_id: int, ids: list[int]) -> dict[int, ImportRow]:
    rows = await db.execute(
        text(f"SELECT {_IMPORT_COLUMNS} FROM {_IMPORT_FROM} WHERE i.tenant_id = :t AND i.id = ANY(CAST(:ids AS bigint[]))"),
        {"t": tenant_id, "ids": ids},
    )
    return {r.id: _import_row(r) for r in rows}
