"""The amount due in SQL: `amount_due` and `choose_subsidy` (domain/enrollment/rules.py)
set-wise, for every person of a county or of a list at once, with the tallies moved in
the same statement.

The rules are those of rules.py and nothing else: tests/test_amount_due_sql.py runs the
seeds' table and thousands of generated cases through both and compares them. Change
one, change the other. Names (statuses, modes, reasons) come from their enums.
"""
from __future__ import annotations

from domain.enrollment.rules import ENROLLED, MODE_PREFERENCE, EnrollmentStatus
from domain.matching.sql import released
from domain.payments.rules import PaymentStatus
from domain.policy.rules import SubsidyMode
from domain.refunds.rules import RefundReason, RefundStatus

UNPAID, PAID, SUBSIDIZED, REFUNDED, EXEMPT, EXCUSED = (
    EnrollmentStatus.UNPAID, EnrollmentStatus.PAID, EnrollmentStatus.SUBSIDIZED, EnrollmentStatus.REFUNDED,
    EnrollmentStatus.EXEMPT, EnrollmentStatus.EXCUSED,
)


def winner_order(alias: str = "") -> str:
    """`ORDER BY` putting a person's winning category first, as `choose_subsidy` does:
    the highest amount; on a tie the mode (MODE_PREFERENCE); then the category code."""
    a = f"{alias}." if alias else ""
    modes = " ".join(f"WHEN '{mode}' THEN {rank}" for mode, rank in MODE_PREFERENCE.items())
    return f"{a}amount DESC, CASE {a}mode {modes} END, {a}code"


# The persons a recompute covers, read once: every later part joins this set, never
# `person` again. A caller that has read the persons already (an upload's staging
# table) hands in its own `selected`, with these columns.
SELECTED_COLUMNS = "person_id, id_number, birth_date, unit_id, unit_path"


def persons_where(condition: str) -> str:
    """`selected`: the persons (alias p) meeting `condition`."""
    return f"""
    SELECT p.id AS person_id, p.id_number, p.birth_date, p.unit_id, p.unit_path
      FROM person p
     WHERE p.tenant_id = :tenant AND {condition}"""


# Every category that applies to each selected person (`applicable_categories`): listed
# ones (joined on the ID number, so pending list rows count from the moment the person
# is registered; a listing in an age-based category counts for nothing) and age-based
# ones (age at the policy's reference date; none for a person born after it).
CANDIDATES = """
    SELECT s.person_id, c.code, c.mode, c.amount
      FROM selected s
      JOIN subsidy_membership m ON m.tenant_id = :tenant AND m.year = :year AND m.id_number = s.id_number
      JOIN subsidy_category c ON c.tenant_id = m.tenant_id AND c.year = m.year AND c.code = m.category_code
                             AND c.min_age IS NULL AND c.max_age IS NULL
    UNION ALL
    SELECT s.person_id, c.code, c.mode, c.amount
      FROM selected s
      JOIN year_policy y ON y.tenant_id = :tenant AND y.year = :year
      JOIN subsidy_category c ON c.tenant_id = y.tenant_id AND c.year = y.year
                             AND (c.min_age IS NOT NULL OR c.max_age IS NOT NULL)
     WHERE s.birth_date <= y.age_reference_date
       AND date_part('year', age(y.age_reference_date, s.birth_date))
           BETWEEN coalesce(c.min_age, 0) AND coalesce(c.max_age, 1000)
"""


# The status columns of `enrollment_tally` (one per status, in lower case); a status
# change moves one person between them.
STATUSES = tuple(EnrollmentStatus)


def tally_deltas(new: str, old: str) -> str:
    """`sum(...) AS unpaid, …`: per tally column, +1 for rows now in that status and
    −1 for rows that were (`old` NULL for new rows)."""
    return ", ".join(
        f"sum((coalesce({new} = '{s}', false))::int - (coalesce({old} = '{s}', false))::int) AS {s.lower()}"
        for s in STATUSES
    )


def tally_upsert(source: str) -> str:
    """Add the deltas of `source` (unit_id, unit_path, unpaid, paid, …) to the tallies.
    Sorted by unit so two transactions always lock tally rows in the same order."""
    columns = ", ".join(s.lower() for s in STATUSES)
    moved = " OR ".join(f"{s.lower()} <> 0" for s in STATUSES)
    adds = ", ".join(f"{s.lower()} = t.{s.lower()} + EXCLUDED.{s.lower()}" for s in STATUSES)
    return f"""
    INSERT INTO enrollment_tally AS t (tenant_id, year, unit_id, unit_path, {columns})
    SELECT :tenant, :year, unit_id, unit_path, {columns} FROM {source}
     WHERE {moved}
     ORDER BY unit_id
    ON CONFLICT (tenant_id, year, unit_id) DO UPDATE SET {adds}
    RETURNING 1"""


# A life event in force (domain/persons/events.py) dated before the year's window closed:
# the year is EXCUSED instead of UNPAID (a fully subsidised year stays SUBSIDIZED).
EXCUSED_BY_EVENT = """EXISTS (SELECT 1 FROM person_event ev
                WHERE ev.tenant_id = :tenant AND ev.person_id = s.person_id AND ev.withdrawn_at IS NULL
                  AND ev.date <= y.window_end)"""


# Payments own PAID and REFUNDED, a newborn's exemption owns EXEMPT (declared and
# withdrawn by domain/enrollment/exemptions.py): only the other years follow their subsidy.
_KEEPS_STATUS = f"e.status IN ('{PAID}', '{REFUNDED}', '{EXEMPT}')"


# `status IN {ENROLLED_SQL}`: the statuses that count as enrolled (rules.ENROLLED).
ENROLLED_SQL = "(" + ", ".join(f"'{s}'" for s in ENROLLED) + ")"

RECOMPUTE = f"""
WITH selected AS MATERIALIZED ({{selected}}),
candidates AS ({CANDIDATES}),
best AS (
    SELECT DISTINCT ON (person_id) person_id, code, mode, amount
      FROM candidates
     ORDER BY person_id, {winner_order()}
),
amounts AS (
    SELECT s.person_id, s.unit_id, s.unit_path,
           b.code, b.mode, coalesce(b.amount, 0) AS subsidy,
           CASE WHEN b.mode = '{SubsidyMode.REIMBURSE}' THEN y.standard ELSE y.standard - coalesce(b.amount, 0) END AS due,
           CASE WHEN b.mode = '{SubsidyMode.REIMBURSE}' THEN b.amount ELSE 0 END AS reimburse,
           {EXCUSED_BY_EVENT} AS excused,
           {released("s.person_id")} AS released
      FROM selected s
      JOIN year_policy y ON y.tenant_id = :tenant AND y.year = :year
      LEFT JOIN best b ON b.person_id = s.person_id
),
-- Released to another county (domain/matching/sql.py): not this county's to collect or
-- subsidise. Nothing left to collect: enrolled by the subsidy, benefits from 1 January.
-- `stored`: the person has this year's row (read once here, so the insert below need not look).
computed AS MATERIALIZED (
    SELECT a.*,
           CASE WHEN a.released THEN '{EXCUSED}' WHEN a.due = 0 THEN '{SUBSIDIZED}' WHEN a.excused THEN '{EXCUSED}'
                ELSE '{UNPAID}' END AS status,
           CASE WHEN a.due = 0 AND NOT a.released THEN CAST(:benefit_start AS date) END AS benefit_start,
           e.person_id IS NOT NULL AS stored
      FROM amounts a
      LEFT JOIN enrollment e ON e.tenant_id = :tenant AND e.year = :year AND e.person_id = a.person_id
),
-- Rewrite only what changed (a policy re-set touches the few rows it moves), and lock
-- nothing else: an UPDATE skips rows its WHERE rejects, an upsert would lock them all.
updated AS (
    UPDATE enrollment e
       SET amount_due = c.due,
           subsidy_category = c.code,
           subsidy_amount = c.subsidy,
           subsidy_mode = c.mode,
           reimbursement_due = c.reimburse,
           computed_at = now(),
           previous_status = e.status,
           status = CASE WHEN {_KEEPS_STATUS} THEN e.status ELSE c.status END,
           benefit_start = CASE WHEN {_KEEPS_STATUS} THEN e.benefit_start ELSE c.benefit_start END
      FROM computed c
     WHERE e.tenant_id = :tenant AND e.year = :year AND e.person_id = c.person_id
       AND ((e.amount_due, e.subsidy_category, e.subsidy_amount, e.subsidy_mode, e.reimbursement_due)
            IS DISTINCT FROM (c.due, c.code, c.subsidy, c.mode, c.reimburse)
            OR (NOT {_KEEPS_STATUS} AND (e.status, e.benefit_start) IS DISTINCT FROM (c.status, c.benefit_start)))
    -- previous_status is the status this statement found, read under the row lock:
    -- exact even when a payment commits in between.
    RETURNING e.person_id, e.status, e.previous_status, e.amount_due
),
inserted AS (
    INSERT INTO enrollment (tenant_id, person_id, year, status, amount_due, paid_amount, subsidy_category,
                            subsidy_amount, subsidy_mode, reimbursement_due, benefit_start, computed_at)
    SELECT :tenant, c.person_id, :year, c.status, c.due, 0, c.code, c.subsidy, c.mode, c.reimburse,
           c.benefit_start, now()
      FROM computed c
     WHERE NOT c.stored
    -- (registered meanwhile by another transaction: that one computed it)
    ON CONFLICT (tenant_id, person_id, year) DO NOTHING
    RETURNING person_id, status, previous_status, amount_due
),
written AS (SELECT * FROM updated UNION ALL SELECT * FROM inserted),
moved AS (
    SELECT c.unit_id, c.unit_path, {tally_deltas("w.status", "w.previous_status")}
      FROM written w
      JOIN computed c ON c.person_id = w.person_id
     GROUP BY c.unit_id, c.unit_path
),
tallied AS ({tally_upsert("moved")}),
-- A paid person whose DEDUCT subsidy arrived later paid the subsidy part: refund it.
overpaid AS (
    INSERT INTO refund (tenant_id, payment_id, reason, amount, status, automatic, requested_by, note)
    SELECT :tenant, pay.id, '{RefundReason.SUBSIDY_OVERPAID}', pay.due_at_payment - w.amount_due - coalesce(r.refunded, 0),
           '{RefundStatus.REQUESTED}', true, 'system', 'opened when a subsidy list lowered the amount due after payment'
      FROM written w
      JOIN payment pay ON pay.tenant_id = :tenant AND pay.person_id = w.person_id AND pay.year = :year
                      AND pay.status = '{PaymentStatus.ACCEPTED}'
                      -- (only where the amount due went below what was paid: the refunds
                      -- already opened are then summed for those few)
                      AND pay.due_at_payment > w.amount_due
      LEFT JOIN LATERAL (
           SELECT sum(r.amount) AS refunded FROM refund r
            WHERE r.tenant_id = :tenant AND r.payment_id = pay.id AND r.reason = '{RefundReason.SUBSIDY_OVERPAID}'
              AND r.status <> '{RefundStatus.REJECTED}') r ON true
     WHERE w.status = '{PAID}' AND pay.due_at_payment - w.amount_due - coalesce(r.refunded, 0) > 0
    RETURNING 1
)
SELECT (SELECT count(*) FROM written) AS written, (SELECT count(*) FROM overpaid) AS refunds
"""


ALL_PERSONS = "true"
BY_IDS = "p.id = ANY(CAST(:person_ids AS bigint[]))"
# The caller's numbers, collected into a temporary table with statistics (see
# recompute_selected_id_numbers) and joined: never an array the planner may turn into an
# index condition repeated for every outer row (quadratic: 18,000 numbers took minutes).
BY_ID_NUMBERS = "p.id_number IN (SELECT id_number FROM recompute_id_number)"
