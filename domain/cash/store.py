"""Cash, reimbursements and reconciliation in the database.

- Cash (代收) and its remittance (上解) under the 双限 rule (DOMAIN.md §5): every
  CASH_AGENT payment sits in its collector's cash book until it is declared in a
  remittance; the tax bureau confirms the remittance (缴费确认单). `cash_held` shows who
  holds cash longer or more than the policy allows. A refund of cash still in the book
  is handed back by the collector (a completed CASH_BOOK refund): that part leaves the
  book, is never declared, and no alert asks for it.
- Reimbursements (先缴后补): REIMBURSE subsidies owed to persons who paid in full (双牌:
  低保 and 监测对象 pay 320 and get 50% back through the 一卡通 card from their township;
  内乡: 80 yuan back for all but 特困). Owed once paid; paid out once per person-year.
- Reconciliation (对账): every yuan of a year, per child unit and channel, adding up
  exactly: collected = accepted + duplicate + refunded; refunds approved and completed;
  kept = collected − approved − completed; for cash, confirmed + declared + undeclared
  + handed back = collected. The totals are the sums of the rows, computed in the same
  query. By period (Beijing days, `domain/cash/rules.py Period`): payments count on
  the day they were paid (`paid_at`) with where their money is now (status, cash
  book, remittance); a refund counts on the day of its present status — APPROVED on
  its decision day, COMPLETED on its completion day. Each payment and each refund
  falls in exactly one day, so days add up to their month and months to the year.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal

from sqlalchemy import text

from domain.cash.rules import Period, RemittanceStatus
from domain.money import ZERO
from domain.payments.rules import PaymentChannel, PaymentStatus
from domain.refunds.rules import RefundPayback, RefundStatus
from tenants.pages import Page, newest_first
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.session import Db


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
    cash_handed_back: Decimal


# Cash handed back to payers from the cash book: completed CASH_BOOK refunds of the
# payment `p`. It left the collector's hands, so it is neither held nor ever declared.
HANDED_BACK = f"""coalesce((
    SELECT sum(r.amount) FROM refund r
     WHERE r.tenant_id = p.tenant_id AND r.payment_id = p.id
       AND r.status = '{RefundStatus.COMPLETED}' AND r.payback = '{RefundPayback.CASH_BOOK}'), 0.00)"""

_CASH, _UNDECLARED = PaymentChannel.CASH_AGENT, "undeclared"
_ACCEPTED, _DUPLICATE, _REFUNDED = PaymentStatus.ACCEPTED, PaymentStatus.DUPLICATE, PaymentStatus.REFUNDED
_APPROVED, _COMPLETED = RefundStatus.APPROVED, RefundStatus.COMPLETED


def _counts(column: str) -> str:
    return f"coalesce(sum({column}), 0)"


def _sums(column: str) -> str:
    # (the totals of nothing in the period are 0.00, not NULL)
    return f"coalesce(sum({column}), 0.00)"


def _in_period(column: str) -> str:
    return (
        f"(CAST(:start AS timestamptz) IS NULL OR {column} >= CAST(:start AS timestamptz))"
        f" AND (CAST(:end AS timestamptz) IS NULL OR {column} < CAST(:end AS timestamptz))"
    )


_SQL = f"""
WITH handed AS (
    SELECT r.payment_id, sum(r.amount) AS handed_back
      FROM refund r
     WHERE r.tenant_id = :t AND r.status = '{_COMPLETED}' AND r.payback = '{RefundPayback.CASH_BOOK}'
     GROUP BY r.payment_id
),
paid AS (
    SELECT NULLIF(split_part(substr(p.unit_path, length(:parent) + 1), '/', 1), '')::bigint AS unit_id,
           p.channel, p.status, p.amount, p.id, p.remittance_id, p.paid_at, coalesce(h.handed_back, 0.00) AS handed_back
      FROM payment p
      LEFT JOIN handed h ON h.payment_id = p.id
     WHERE p.tenant_id = :t AND p.year = :year AND p.unit_path ^@ :parent
),
-- Refunds that moved money, dated by their present status.
refunds AS (
    SELECT paid.unit_id, paid.channel, r.status, r.amount
      FROM refund r JOIN paid ON paid.id = r.payment_id
     WHERE r.tenant_id = :t AND r.status IN ('{_APPROVED}', '{_COMPLETED}')
       AND {_in_period(f"CASE WHEN r.status = '{_APPROVED}' THEN r.decided_at ELSE r.completed_at END")}
),
-- The period's payments, with where their money is now.
payments AS (
    SELECT paid.unit_id, paid.channel, paid.status, paid.amount, paid.handed_back,
           CASE WHEN paid.channel <> '{_CASH}' THEN 'n/a'
                WHEN paid.remittance_id IS NULL THEN '{_UNDECLARED}' ELSE m.status END AS cash
      FROM paid
      LEFT JOIN remittance m ON m.tenant_id = :t AND m.id = paid.remittance_id
     WHERE {_in_period("paid.paid_at")}
),
moves AS (
    SELECT unit_id, channel, 1 AS payments, amount AS collected,
           (status = '{_ACCEPTED}')::int AS accepted_count, CASE WHEN status = '{_ACCEPTED}' THEN amount ELSE 0.00 END AS accepted,
           (status = '{_DUPLICATE}')::int AS duplicate_count, CASE WHEN status = '{_DUPLICATE}' THEN amount ELSE 0.00 END AS duplicate,
           (status = '{_REFUNDED}')::int AS refunded_count, CASE WHEN status = '{_REFUNDED}' THEN amount ELSE 0.00 END AS refunded,
           0.00 AS approved, 0.00 AS completed,
           CASE WHEN cash = '{RemittanceStatus.CONFIRMED}' THEN amount - handed_back ELSE 0.00 END AS cash_confirmed,
           CASE WHEN cash = '{RemittanceStatus.DECLARED}' THEN amount - handed_back ELSE 0.00 END AS cash_declared,
           CASE WHEN cash = '{_UNDECLARED}' THEN amount - handed_back ELSE 0.00 END AS cash_undeclared,
           handed_back AS cash_handed_back
      FROM payments
    UNION ALL
    SELECT unit_id, channel, 0, 0.00, 0, 0.00, 0, 0.00, 0, 0.00,
           CASE WHEN status = '{_APPROVED}' THEN amount ELSE 0.00 END,
           CASE WHEN status = '{_COMPLETED}' THEN amount ELSE 0.00 END,
           0.00, 0.00, 0.00, 0.00
      FROM refunds
)
SELECT unit_id, channel, {_counts("payments")}, {_sums("collected")}, {_counts("accepted_count")}, {_sums("accepted")},
       {_counts("duplicate_count")}, {_sums("duplicate")}, {_counts("refunded_count")}, {_sums("refunded")},
       {_sums("approved")}, {_sums("completed")}, {_sums("collected")} - {_sums("approved")} - {_sums("completed")},
       {_sums("cash_confirmed")}, {_sums("cash_declared")}, {_sums("cash_undeclared")}, {_sums("cash_handed_back")},
       GROUPING(unit_id, channel) AS grouping
  FROM moves
 GROUP BY GROUPING SETS ((unit_id, channel), ())
 ORDER BY GROUPING(unit_id, channel), unit_id NULLS FIRST, channel
"""


@dataclass(frozen=True)
class Reconciliation:
    rows: list[ReconciliationRow]
    totals: ReconciliationRow


async def reconcile(db: Db, tenant_id: int, year: int, parent_path: str, period: Period = Period()) -> Reconciliation:
    params = {"t": tenant_id, "year": year, "parent": parent_path, "start": period.start(), "end": period.end()}
    result = await db.execute(text(_SQL), params)
    width = len(fields(ReconciliationRow))
    rows, totals = [], None
    for r in result:
        row = ReconciliationRow(*tuple(r)[:width])
        if r.grouping:
            totals = row
        else:
            rows.append(row)
    if totals is None:  # nothing in the period: the totals row of an empty set
        totals = ReconciliationRow(None, None, 0, ZERO, 0, ZERO, 0, ZERO, 0, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO)
    return Reconciliation(rows, totals)


_OWED = """
    FROM enrollment e
    JOIN person p ON p.tenant_id = e.tenant_id AND p.id = e.person_id
    LEFT JOIN reimbursement_payout o ON o.tenant_id = e.tenant_id AND o.person_id = e.person_id AND o.year = e.year
   WHERE e.tenant_id = :t AND e.year = :year AND e.status = 'PAID' AND e.subsidy_mode = 'REIMBURSE'
     AND e.reimbursement_due > 0 AND p.unit_path ^@ :path
"""


@dataclass(frozen=True)
class OwedRow:
    person_id: int
    unit_path: str
    category: str
    amount: Decimal
    paid_out_at: datetime | None
    method: str | None
    reference: str | None


async def list_owed(
    db: Db, tenant_id: int, year: int, path: str, paid_out: bool | None, first: int, after: tuple[str, int] | None
) -> Page[OwedRow]:
    """Persons owed (or paid) a reimbursement, in village order, keyset-paginated."""
    where = _OWED
    if paid_out is not None:
        where += " AND (o.person_id IS NOT NULL) = :paid_out"
    params = {"t": tenant_id, "year": year, "path": path, "paid_out": paid_out}
    page = where + (" AND (p.unit_path, p.id) > (:after_path, :after_id)" if after else "")
    rows = (
        await db.execute(
            text(
                f"""SELECT p.id, p.unit_path, e.subsidy_category, e.reimbursement_due, o.paid_at, o.method, o.reference
                    {page} ORDER BY p.unit_path, p.id LIMIT :limit"""
            ),
            {**params, "after_path": after[0] if after else None, "after_id": after[1] if after else None, "limit": first + 1},
        )
    ).all()
    total = await db.scalar(text(f"SELECT count(*) {where}"), params)
    return Page([OwedRow(*r) for r in rows[:first]], len(rows) > first, total)


@dataclass(frozen=True)
class OwedSummary:
    unit_id: int | None  # the child unit of the parent; None: persons of the parent itself
    owed_count: int
    owed_amount: Decimal
    paid_count: int
    paid_amount: Decimal


async def summary(db: Db, tenant_id: int, year: int, parent_path: str) -> list[OwedSummary]:
    """Per child unit of `parent_path` (per township under the county)."""
    rows = await db.execute(
        text(
            f"""SELECT NULLIF(split_part(substr(p.unit_path, length(:path) + 1), '/', 1), '')::bigint AS unit_id,
                       count(*) FILTER (WHERE o.person_id IS NULL) AS owed_count,
                       coalesce(sum(e.reimbursement_due) FILTER (WHERE o.person_id IS NULL), 0.00) AS owed_amount,
                       count(o.person_id) AS paid_count, coalesce(sum(o.amount), 0.00) AS paid_amount
                {_OWED}
                GROUP BY 1 ORDER BY 1"""
        ),
        {"t": tenant_id, "year": year, "path": parent_path},
    )
    return [OwedSummary(*r) for r in rows]


async def pay_out(
    db: Db, tenant_id: int, year: int, path: str, person_ids: list[int], method: str, reference: str | None, actor: str
) -> tuple[int, Decimal]:
    """Record payouts for persons owed one, all or none: any person not owed (not in
    scope, not paid, no REIMBURSE subsidy, already paid out) refuses the whole call."""
    wanted = sorted(set(person_ids))
    rows = (
        await db.execute(
            text(
                f"""SELECT p.id, e.reimbursement_due, o.person_id IS NOT NULL AS done {_OWED}
                      AND p.id = ANY(CAST(:ids AS bigint[]))
                    ORDER BY p.id FOR UPDATE OF e"""
            ),
            {"t": tenant_id, "year": year, "path": path, "ids": wanted},
        )
    ).all()
    owed = {r.id: r.reimbursement_due for r in rows if not r.done}
    missing = [i for i in wanted if i not in owed]
    if missing:
        raise Rejected(
            [Problem(ErrorCode.NOT_OWED, ["persons"], {"count": len(missing), "year": year})]
        )
    await db.execute(
        text(
            """INSERT INTO reimbursement_payout (tenant_id, person_id, year, amount, method, reference, paid_by)
               SELECT :t, i.id, :year, i.amount, :method, :ref, :by
                 FROM unnest(CAST(:ids AS bigint[]), CAST(:amounts AS numeric[])) AS i(id, amount)"""
        ),
        {"t": tenant_id, "year": year, "ids": list(owed), "amounts": list(owed.values()), "method": method,
         "ref": reference, "by": actor},
    )
    return len(owed), sum(owed.values(), Decimal("0.00"))


@dataclass(frozen=True)
class Collector:
    id: int
    username: str
    scope_path: str
    scope_unit_id: int | None


async def collector_in_scope(db: Db, tenant_id: int, scope_path: str, user_id: int) -> Collector | None:
    """A village collector whose village lies inside `scope_path`."""
    row = (
        await db.execute(
            text(
                """SELECT u.id, u.username, s.path, u.scope_unit_id FROM app_user u
                     JOIN unit s ON s.tenant_id = u.tenant_id AND s.id = u.scope_unit_id
                    WHERE u.tenant_id = :t AND u.id = :id AND u.role = 'VILLAGE_COLLECTOR' AND s.path ^@ :scope"""
            ),
            {"t": tenant_id, "id": user_id, "scope": scope_path},
        )
    ).first()
    return Collector(*row) if row else None


@dataclass(frozen=True)
class RemittanceRow:
    id: int
    collector_id: int
    unit_path: str
    payments: int
    total: Decimal
    status: str
    declared_by: str
    declared_at: datetime
    confirmed_by: str | None
    confirmed_at: datetime | None
    confirmation_no: str | None


_COLUMNS = (
    "id, collector_id, unit_path, payments, total, status, declared_by, declared_at, confirmed_by, confirmed_at, "
    "confirmation_no"
)


async def _held(db: Db, tenant_id: int, payment_ids: list[int]):  # noqa: ANN202
    """What is still in the book of each payment (locked by the caller), those holding
    any. Read in a statement of its own, after the lock: a hand-back completed while
    the lock was awaited is seen."""
    rows = await db.execute(
        text(
            f"""SELECT p.id, p.amount - {HANDED_BACK} AS held FROM payment p
                 WHERE p.tenant_id = :t AND p.id = ANY(CAST(:ids AS bigint[])) ORDER BY p.id"""
        ),
        {"t": tenant_id, "ids": payment_ids},
    )
    return [r for r in rows if r.held > 0]


async def declare(db: Db, tenant_id: int, collector: Collector, up_to: datetime | None, actor: str) -> RemittanceRow:
    """Group the collector's undeclared cash (paid up to `up_to`) into one remittance:
    what the book holds of each payment, without what was handed back. The cash rows
    are locked first: of two declarations at once, the second finds nothing left and is
    refused; a refund completed from the book waits for the declaration, or the
    declaration for it."""
    locked = (
        await db.execute(
            text(
                f"""SELECT p.id FROM payment p
                     WHERE p.tenant_id = :t AND p.collector_id = :c AND p.channel = 'CASH_AGENT' AND p.remittance_id IS NULL
                       AND (CAST(:up_to AS timestamptz) IS NULL OR p.paid_at <= :up_to) AND p.amount > {HANDED_BACK}
                     ORDER BY p.id FOR UPDATE OF p"""
            ),
            {"t": tenant_id, "c": collector.id, "up_to": up_to},
        )
    ).scalars().all()
    held = await _held(db, tenant_id, list(locked))
    if not held:
        raise Rejected([Problem(ErrorCode.NOTHING_TO_REMIT, ["collector"], {"username": collector.username})])
    total = sum((r.held for r in held), Decimal("0.00"))
    row = (
        await db.execute(
            text(
                f"""INSERT INTO remittance (tenant_id, collector_id, unit_path, payments, total, status, declared_by)
                    VALUES (:t, :c, :path, :n, :total, 'DECLARED', :by) RETURNING {_COLUMNS}"""
            ),
            {"t": tenant_id, "c": collector.id, "path": collector.scope_path, "n": len(held), "total": total, "by": actor},
        )
    ).one()
    await db.execute(
        text("UPDATE payment SET remittance_id = :r WHERE tenant_id = :t AND id = ANY(CAST(:ids AS bigint[]))"),
        {"t": tenant_id, "r": row.id, "ids": [r.id for r in held]},
    )
    return RemittanceRow(*row)


async def remittance_in_scope(db: Db, tenant_id: int, scope_path: str, remittance_id: int, *, lock: bool = False) -> RemittanceRow | None:
    row = (
        await db.execute(
            text(
                f"""SELECT {_COLUMNS} FROM remittance WHERE tenant_id = :t AND id = :id AND unit_path ^@ :scope
                    {'FOR UPDATE' if lock else ''}"""
            ),
            {"t": tenant_id, "id": remittance_id, "scope": scope_path},
        )
    ).first()
    return RemittanceRow(*row) if row else None


async def confirm(db: Db, tenant_id: int, remittance: RemittanceRow, confirmation_no: str, actor: str) -> RemittanceRow:
    """The tax bureau received the money and issued its confirmation (缴费确认单)."""
    if remittance.status != RemittanceStatus.DECLARED:
        raise Rejected([Problem(ErrorCode.ALREADY_CONFIRMED, ["remittance"], {"id": remittance.id})])
    if not confirmation_no.strip():
        raise Rejected([Problem(ErrorCode.CONFIRMATION_REQUIRED, ["confirmationNo"])])
    row = (
        await db.execute(
            text(
                f"""UPDATE remittance SET status = 'CONFIRMED', confirmed_by = :by, confirmed_at = now(),
                           confirmation_no = :no
                     WHERE tenant_id = :t AND id = :id RETURNING {_COLUMNS}"""
            ),
            {"t": tenant_id, "id": remittance.id, "by": actor, "no": confirmation_no.strip()},
        )
    ).one()
    return RemittanceRow(*row)


async def list_remittances(
    db: Db, tenant_id: int, scope_path: str, status: str | None, collector_id: int | None, first: int, before_id: int | None
) -> Page[RemittanceRow]:
    where = "tenant_id = :t AND unit_path ^@ :scope"
    params: dict = {"t": tenant_id, "scope": scope_path, "status": status, "c": collector_id}
    if status is not None:
        where += " AND status = :status"
    if collector_id is not None:
        where += " AND collector_id = :c"
    return await newest_first(
        db, columns=_COLUMNS, source="remittance", where=where, params=params, id_column="id",
        first=first, before_id=before_id, row=lambda r: RemittanceRow(*r),
    )


@dataclass(frozen=True)
class CashHeld:
    collector_id: int
    username: str
    unit_id: int | None
    payments: int
    amount: Decimal
    oldest_paid_at: datetime
    days_held: int
    overdue: bool  # held longer than the policy's days
    over_amount: bool  # more than the policy's amount


async def cash_held(
    db: Db, tenant_id: int, scope_path: str, year: int, now: datetime, only_alerts: bool
) -> list[CashHeld]:
    """Undeclared cash per collector in scope, for one benefit year, with the 双限 flags
    from that year's policy: what the books hold, without the cash handed back to
    payers. Whole days held are counted in Shanghai, from the oldest payment still held."""
    rows = await db.execute(
        text(
            f"""
            WITH book AS (
                SELECT p.collector_id, p.paid_at, p.amount - {HANDED_BACK} AS held
                  FROM payment p
                 WHERE p.tenant_id = :t AND p.year = :year AND p.channel = 'CASH_AGENT' AND p.remittance_id IS NULL
                   AND p.unit_path ^@ :scope
            ),
            held AS (
                SELECT collector_id, count(*) AS payments, sum(held) AS amount, min(paid_at) AS oldest
                  FROM book WHERE held > 0
                 GROUP BY collector_id
            )
            SELECT h.collector_id, u.username, u.scope_unit_id, h.payments, h.amount, h.oldest,
                   (CAST(:now AS timestamptz) AT TIME ZONE 'Asia/Shanghai')::date
                     - (h.oldest AT TIME ZONE 'Asia/Shanghai')::date AS days_held,
                   y.remit_days, y.remit_amount
              FROM held h
              JOIN app_user u ON u.tenant_id = :t AND u.id = h.collector_id
              JOIN year_policy y ON y.tenant_id = :t AND y.year = :year
             ORDER BY h.oldest, h.collector_id
            """
        ),
        {"t": tenant_id, "year": year, "scope": scope_path, "now": now},
    )
    found = []
    for r in rows:
        overdue, over_amount = r.days_held > r.remit_days, r.amount > r.remit_amount
        if only_alerts and not (overdue or over_amount):
            continue
        found.append(
            CashHeld(r.collector_id, r.username, r.scope_unit_id, r.payments, r.amount, r.oldest, r.days_held, overdue, over_amount)
        )
    return found
