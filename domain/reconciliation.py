"""Reconciliation (对账): every yuan of a year, per unit and channel, adding up exactly.

For each child unit of a parent (townships under the county) and each channel:
- collected = accepted + duplicate + refunded (every payment is in exactly one status);
- refunds: approved (owed back) and completed (paid back);
- kept = collected − approved − completed;
- cash (CASH_AGENT) only: confirmed + declared + undeclared = collected.
The totals are the sums of the rows, computed in the same query.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal

from sqlalchemy import text

from tenants.session import Db

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ReconciliationRow:
    unit_id: int | None  # child unit of the parent; None: the totals row, or the parent itself
    channel: str | None  # None: the totals row
    payments: int
    collected: Decimal
    accepted_count: int
    accepted: Decimal
    duplicate_count: int
    duplicate: Decimal
    refunded_count: int
    refunded: Decimal
    refunds_approved: Decimal
    refunds_completed: Decimal
    kept: Decimal
    cash_confirmed: Decimal
    cash_declared: Decimal
    cash_undeclared: Decimal


_SQL = """
WITH paid AS (
    SELECT NULLIF(split_part(substr(p.unit_path, length(:parent) + 1), '/', 1), '')::bigint AS unit_id,
           p.channel, p.status, p.amount, p.id, p.remittance_id
      FROM payment p
     WHERE p.tenant_id = :t AND p.year = :year AND p.unit_path ^@ :parent
),
refunds AS (
    SELECT r.payment_id,
           sum(r.amount) FILTER (WHERE r.status = 'APPROVED') AS approved,
           sum(r.amount) FILTER (WHERE r.status = 'COMPLETED') AS completed
      FROM refund r JOIN paid ON paid.id = r.payment_id
     WHERE r.tenant_id = :t
     GROUP BY r.payment_id
),
rows AS (
    SELECT paid.unit_id, paid.channel, paid.status, paid.amount,
           coalesce(f.approved, 0.00) AS approved, coalesce(f.completed, 0.00) AS completed,
           CASE WHEN paid.channel <> 'CASH_AGENT' THEN 'n/a'
                WHEN paid.remittance_id IS NULL THEN 'undeclared' ELSE m.status END AS cash
      FROM paid
      LEFT JOIN refunds f ON f.payment_id = paid.id
      LEFT JOIN remittance m ON m.tenant_id = :t AND m.id = paid.remittance_id
)
SELECT unit_id, channel, count(*), coalesce(sum(amount), 0.00),
       count(*) FILTER (WHERE status = 'ACCEPTED'), coalesce(sum(amount) FILTER (WHERE status = 'ACCEPTED'), 0.00),
       count(*) FILTER (WHERE status = 'DUPLICATE'), coalesce(sum(amount) FILTER (WHERE status = 'DUPLICATE'), 0.00),
       count(*) FILTER (WHERE status = 'REFUNDED'), coalesce(sum(amount) FILTER (WHERE status = 'REFUNDED'), 0.00),
       coalesce(sum(approved), 0.00), coalesce(sum(completed), 0.00),
       coalesce(sum(amount - approved - completed), 0.00),
       coalesce(sum(amount) FILTER (WHERE cash = 'CONFIRMED'), 0.00),
       coalesce(sum(amount) FILTER (WHERE cash = 'DECLARED'), 0.00),
       coalesce(sum(amount) FILTER (WHERE cash = 'undeclared'), 0.00),
       GROUPING(unit_id, channel) AS grouping
  FROM rows
 GROUP BY GROUPING SETS ((unit_id, channel), ())
 ORDER BY GROUPING(unit_id, channel), unit_id NULLS FIRST, channel
"""


@dataclass(frozen=True)
class Reconciliation:
    rows: list[ReconciliationRow]
    totals: ReconciliationRow


async def reconcile(db: Db, tenant_id: int, year: int, parent_path: str) -> Reconciliation:
    result = await db.execute(text(_SQL), {"t": tenant_id, "year": year, "parent": parent_path})
    width = len(fields(ReconciliationRow))
    rows, totals = [], None
    for r in result:
        row = ReconciliationRow(*tuple(r)[:width])
        if r.grouping:
            totals = row
        else:
            rows.append(row)
    if totals is None:  # no payments at all: the totals row of an empty set
        totals = ReconciliationRow(None, None, 0, ZERO, 0, ZERO, 0, ZERO, 0, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO)
    return Reconciliation(rows, totals)
