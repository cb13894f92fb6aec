"""Moving enrolments between statuses when money moves, tallies in the same statement.

Payments make a year PAID, approved refunds make it REFUNDED; both go through here so
`enrollment_tally` (quota progress) always moves with the row, by the status the
UPDATE found under its row lock (`previous_status`).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import text

from domain.enrollments import tally_deltas, tally_upsert
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

_REFUND = f"""
WITH refunded AS (
    SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:amounts AS numeric[])) AS i(person_id, amount)
),
changed AS (
    UPDATE enrollment e
       SET previous_status = e.status,
           status = CASE WHEN :whole THEN 'REFUNDED' ELSE e.status END,
           paid_amount = e.paid_amount - i.amount,
           benefit_start = CASE WHEN :whole THEN NULL ELSE e.benefit_start END
      FROM refunded i
     WHERE e.tenant_id = :tenant AND e.year = :year AND e.person_id = i.person_id
    RETURNING e.person_id, e.status, e.previous_status
),
{_TALLY_CHANGED}
"""


async def mark_paid(
    db: Db, tenant_id: int, year: int, paid: list[tuple[int, Decimal, date | None]]
) -> int:
    """(person_id, amount, benefit_start) rows → PAID. Returns enrolments changed."""
    if not paid:
        return 0
    ids, amounts, starts = (list(column) for column in zip(*paid))
    params = {"tenant": tenant_id, "year": year, "ids": ids, "amounts": amounts, "starts": starts}
    return await db.scalar(text(_MARK_PAID), params)


async def take_back(db: Db, tenant_id: int, year: int, refunded: list[tuple[int, Decimal]], *, whole: bool) -> int:
    """An approved refund of (person_id, amount): the money leaves `paid_amount`; a
    whole refund also ends the enrolment (REFUNDED, no benefits)."""
    if not refunded:
        return 0
    ids, amounts = (list(column) for column in zip(*refunded))
    params = {"tenant": tenant_id, "year": year, "ids": ids, "amounts": amounts, "whole": whole}
    return await db.scalar(text(_REFUND), params)
