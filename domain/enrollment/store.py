"""Enrolments in the database: computed from the year policy and the lists, moved by
money, read back.

- Recompute (`recompute_year`, `recompute_persons`, `recompute_selected…`): the amount
  due set-wise (domain/enrollment/sql.py), rewriting only the rows that change, for a
  county, a few persons, or the persons of a list upload.
- Money moves status (`mark_paid`, `take_back`): payments make a year PAID, approved
  whole refunds make it REFUNDED, a subsidy refund that gives back everything paid by
  a person who now owes nothing makes it SUBSIDIZED (enrolled by the subsidy, from
  1 January), a newborn's exemption makes it EXEMPT (`set_status`,
  domain/enrollment/exemptions.py); the tallies (`enrollment_tally`, quota progress)
  move in the same statement, by the status the UPDATE found under its row lock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import text

from domain.enrollment.rules import EnrollmentStatus
from domain.enrollment.sql import (
    ALL_PERSONS,
    BY_ID_NUMBERS,
    BY_IDS,
    CANDIDATES,
    RECOMPUTE,
    persons_where,
    tally_deltas,
    tally_upsert,
    winner_order,
)
from tenants.session import Db

_TALLY_CHANGED = f"""
moved AS (
    SELECT p.unit_id, p.unit_path, {tally_deltas("c.status", "c.previous_status")}
      FROM changed c JOIN person p ON p.tenant_id = :tenant AND p.id = c.person_id
     GROUP BY p.unit_id, p.unit_path
),
tallied AS ({tally_upsert("moved")})
SELECT count(*) FROM changed
"""


_MARK_PAID = f"""
WITH paid AS (
    SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:amounts AS numeric[]), CAST(:starts AS date[]))
           AS i(person_id, amount, benefit_start)
),
changed AS (
    UPDATE enrollment e
       SET previous_status = e.status, status = 'PAID',
           paid_amount = e.paid_amount + i.amount, benefit_start = i.benefit_start
      FROM paid i
     WHERE e.tenant_id = :tenant AND e.year = :year AND e.person_id = i.person_id
    RETURNING e.person_id, e.status, e.previous_status
),
{_TALLY_CHANGED}
"""


# A paid year whose subsidy refund leaves nothing paid and nothing due (八公山 特困
# listed after paying 320, the 320 given back): enrolled by the subsidy, as if listed
# before paying — SUBSIDIZED, benefits from 1 January (the recompute's rule for due 0).
_NOW_SUBSIDIZED = (
    f"NOT :whole AND e.status = '{EnrollmentStatus.PAID}' AND e.amount_due = 0 AND e.paid_amount - i.amount = 0"
)

_REFUND = f"""
WITH refunded AS (
    SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:amounts AS numeric[])) AS i(person_id, amount)
),
changed AS (
    UPDATE enrollment e
       SET previous_status = e.status,
           status = CASE WHEN :whole THEN '{EnrollmentStatus.REFUNDED}'
                         WHEN {_NOW_SUBSIDIZED} THEN '{EnrollmentStatus.SUBSIDIZED}'
                         ELSE e.status END,
           paid_amount = e.paid_amount - i.amount,
           benefit_start = CASE WHEN :whole THEN NULL
                                WHEN {_NOW_SUBSIDIZED} THEN make_date(CAST(:year AS int), 1, 1)
                                ELSE e.benefit_start END
      FROM refunded i
     WHERE e.tenant_id = :tenant AND e.year = :year AND e.person_id = i.person_id
    RETURNING e.person_id, e.status, e.previous_status
),
{_TALLY_CHANGED}
"""


_SET_STATUS = f"""
WITH changed AS (
    UPDATE enrollment e
       SET previous_status = e.status, status = :status, benefit_start = :benefit_start, computed_at = now()
     WHERE e.tenant_id = :tenant AND e.year = :year AND e.person_id = ANY(CAST(:ids AS bigint[]))
    RETURNING e.person_id, e.status, e.previous_status
),
{_TALLY_CHANGED}
"""


# made once: a `text()` parses its parameters each time it is made
_SET_STATUS_STATEMENT = text(_SET_STATUS)
_MARK_PAID_STATEMENT = text(_MARK_PAID)
_REFUND_STATEMENT = text(_REFUND)


async def set_status(
    db: Db, tenant_id: int, year: int, person_ids: list[int], status: EnrollmentStatus, benefit_start: date | None
) -> int:
    """Put the persons' year in `status` from `benefit_start` (a newborn's exemption
    declared or withdrawn). Returns enrolments changed."""
    params = {
        "tenant": tenant_id, "year": year, "ids": person_ids, "status": status.value, "benefit_start": benefit_start,
    }
    return await db.scalar(_SET_STATUS_STATEMENT, params)


async def mark_paid(
    db: Db, tenant_id: int, year: int, paid: list[tuple[int, Decimal, date | None]]
) -> int:
    """(person_id, amount, benefit_start) rows → PAID. Returns enrolments changed."""
    if not paid:
        return 0
    ids, amounts, starts = (list(column) for column in zip(*paid))
    params = {"tenant": tenant_id, "year": year, "ids": ids, "amounts": amounts, "starts": starts}
    return await db.scalar(_MARK_PAID_STATEMENT, params)


async def take_back(db: Db, tenant_id: int, year: int, refunded: list[tuple[int, Decimal]], *, whole: bool) -> int:
    """An approved refund of (person_id, amount): the money leaves `paid_amount`; a
    whole refund also ends the enrolment (REFUNDED, no benefits); a subsidy refund
    that leaves nothing paid and nothing due makes the year SUBSIDIZED from 1 January."""
    if not refunded:
        return 0
    ids, amounts = (list(column) for column in zip(*refunded))
    params = {"tenant": tenant_id, "year": year, "ids": ids, "amounts": amounts, "whole": whole}
    return await db.scalar(_REFUND_STATEMENT, params)


# From this many persons on, reading person, membership and enrollment whole and hashing
# beats probing them (600,000 persons, random_page_cost 1.1: 100,000 → 1.8 s hashing,
# 2.0 – 2.8 s probing; 50,000 → 1.4 – 1.8 s either way; 30,000 → 0.8 – 0.9 s probing,
# 1.2 – 1.4 s hashing).
_HASH_FROM = 50_000


async def _run(db: Db, tenant_id: int, year: int, selected: str, params: dict, hashing: bool = False) -> int:
    sql = RECOMPUTE.replace("{selected}", selected)
    params = {"tenant": tenant_id, "year": year, "benefit_start": date(year, 1, 1), **params}
    if hashing:
        # The row-level-security conditions shrink the planner's estimates for the small
        # tables (a year's 4 categories look like 1 row), so it would rather cross-join
        # them with 100,000 persons and probe each pair; for this one statement, it may not.
        previous = await db.scalar(text("SELECT current_setting('enable_nestloop')"))
        await db.execute(text("SELECT set_config('enable_nestloop', 'off', true)"))
    written = (await db.execute(text(sql), params)).one().written
    if hashing:
        # (On an error the transaction or savepoint rolls back, and the setting with it.)
        await db.execute(text("SELECT set_config('enable_nestloop', :previous, true)"), {"previous": previous})
    return written


async def recompute_year(db: Db, tenant_id: int, year: int) -> int:
    """Every registered person of the county, for one benefit year."""
    return await _run(db, tenant_id, year, persons_where(ALL_PERSONS), {})


async def recompute_persons(db: Db, tenant_id: int, person_ids: list[int], years: list[int] | None = None) -> int:
    """A few persons (a registration), for every policy year or the ones given. Waits
    for a list upload of those years in progress (the years' policy rows, shared): a
    person registered while a list naming them is uploaded is then recomputed from it."""
    years = await share_years(db, tenant_id, years)
    total = 0
    for year in years:
        total += await _run(db, tenant_id, year, persons_where(BY_IDS), {"person_ids": person_ids})
    return total


async def recompute_selected_id_numbers(db: Db, tenant_id: int, year: int, select: str, params: dict | None = None) -> int:
    """The persons holding the ID numbers `select` returns (one column, e.g. read from
    the caller's staging table); numbers nobody holds are skipped."""
    await db.execute(text("DROP TABLE IF EXISTS recompute_id_number"))
    selected = await db.execute(
        text(
            "CREATE TEMP TABLE recompute_id_number ON COMMIT DROP AS"
            f" SELECT DISTINCT id_number FROM ({select}) AS selected(id_number)"
        ),
        params or {},
    )
    await db.execute(text("ANALYZE recompute_id_number"))
    return await _run(db, tenant_id, year, persons_where(BY_ID_NUMBERS), {}, hashing=selected.rowcount >= _HASH_FROM)


async def recompute_selected(db: Db, tenant_id: int, year: int, selected: str, params: dict, count: int) -> int:
    """The persons `selected` returns (`SELECTED_COLUMNS`, each person once), about
    `count` of them: for a caller that has just read them from `person`."""
    return await _run(db, tenant_id, year, selected, params, hashing=count >= _HASH_FROM)


async def share_years(db: Db, tenant_id: int, years: list[int] | None) -> list[int]:
    rows = await db.execute(
        text(
            """SELECT year FROM year_policy
                WHERE tenant_id = :t AND (CAST(:years AS int[]) IS NULL OR year = ANY(CAST(:years AS int[])))
                ORDER BY year FOR SHARE"""
        ),
        {"t": tenant_id, "years": years},
    )
    return [r[0] for r in rows]


async def policy_years(db: Db, tenant_id: int) -> list[int]:
    rows = await db.execute(text("SELECT year FROM year_policy WHERE tenant_id = :t ORDER BY year"), {"t": tenant_id})
    return [r[0] for r in rows]


@dataclass(frozen=True)
class EnrollmentRow:
    person_id: int
    year: int
    status: str
    amount_due: Decimal
    paid_amount: Decimal
    subsidy_category: str | None
    subsidy_amount: Decimal
    subsidy_mode: str | None
    reimbursement_due: Decimal
    benefit_start: date | None


async def enrollments_of(db: Db, tenant_id: int, year: int, person_ids: list[int]) -> dict[int, EnrollmentRow]:
    rows = await db.execute(
        text(
            """
            SELECT person_id, year, status, amount_due, paid_amount, subsidy_category, subsidy_amount,
                   subsidy_mode, reimbursement_due, benefit_start
              FROM enrollment
             WHERE tenant_id = :t AND year = :year AND person_id = ANY(CAST(:ids AS bigint[]))
            """
        ),
        {"t": tenant_id, "year": year, "ids": person_ids},
    )
    return {r.person_id: EnrollmentRow(*r) for r in rows}


@dataclass(frozen=True)
class CandidateRow:
    code: str
    name: str
    mode: str
    amount: Decimal
    applied: bool


async def explain(db: Db, tenant_id: int, year: int, person_ids: list[int]) -> dict[int, list[CandidateRow]]:
    """Per person: every category that applied, winner first, in the winner order. One
    statement for a page of persons (a list shows each person's candidates)."""
    sql = f"""
        WITH selected AS ({persons_where('p.id = ANY(CAST(:persons AS bigint[]))')}),
             candidates AS ({CANDIDATES})
        SELECT k.person_id, k.code, c.name, k.mode, k.amount
          FROM candidates k
          JOIN subsidy_category c ON c.tenant_id = :tenant AND c.year = :year AND c.code = k.code
         ORDER BY k.person_id, {winner_order("k")}
    """
    rows = (await db.execute(text(sql), {"tenant": tenant_id, "year": year, "persons": person_ids})).all()
    found: dict[int, list[CandidateRow]] = {pk: [] for pk in person_ids}
    for r in rows:
        candidates = found[r.person_id]
        candidates.append(CandidateRow(r.code, r.name, r.mode, r.amount, not candidates))
    return found
