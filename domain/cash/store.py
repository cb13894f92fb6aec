"""Cash, reimbursements and reconciliation in the database.

- Cash (代收) and its remittance (上解) under the 双限 rule (DOMAIN.md §5): every
  CASH_AGENT payment sits in its collector's cash book until it is declared in a
  remittance; the tax bureau confirms the remittance (缴费确认单). `cash_held` shows who
  holds cash longer or more than the policy allows.
- Reimbursements (先缴后补): REIMBURSE subsidies owed to persons who paid in full (双牌:
  低保 and 监测对象 pay 320 and get 50% back through the 一卡通 card from their township;
  内乡: 80 yuan back for all but 特困). Owed once paid; paid out once per person-year.
- Reconciliation (对账): every yuan of a year, per child unit and channel, adding up
  exactly: collected = accepted + duplicate + refunded; refunds approved and completed;
  kept = collected − approved − completed; for cash, confirmed + declared + undeclared
  = collected. The totals are the sums of the rows, computed in the same query.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal

from sqlalchemy import text

from domain.cash.rules import RemittanceStatus
from domain.money import ZERO
from tenants.pages import Page, newest_first
from tenants.problems import Problem, Rejected
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
            [Problem("NOT_OWED", f"{len(missing)} of the persons are not owed a reimbursement for {year} in your scope "
                     "(not paid, no REIMBURSE subsidy, already paid out, or outside your scope)", ["persons"])]
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


async def declare(db: Db, tenant_id: int, collector: Collector, up_to: datetime | None, actor: str) -> RemittanceRow:
    """Group the collector's undeclared cash (paid up to `up_to`) into one remittance.
    The cash rows are locked first: of two declarations at once, the second finds
    nothing left and is refused."""
    held = (
        await db.execute(
            text(
                """SELECT id, amount FROM payment
                    WHERE tenant_id = :t AND collector_id = :c AND channel = 'CASH_AGENT' AND remittance_id IS NULL
                      AND (CAST(:up_to AS timestamptz) IS NULL OR paid_at <= :up_to)
                    ORDER BY id FOR UPDATE"""
            ),
            {"t": tenant_id, "c": collector.id, "up_to": up_to},
        )
    ).all()
    if not held:
        raise Rejected([Problem("NOTHING_TO_REMIT", f"{collector.username} holds no undeclared cash", ["collector"])])
    total = sum((r.amount for r in held), Decimal("0.00"))
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
        raise Rejected([Problem("ALREADY_CONFIRMED", f"remittance {remittance.id} is already confirmed", ["remittance"])])
    if not confirmation_no.strip():
        raise Rejected([Problem("CONFIRMATION_REQUIRED", "the confirmation number (缴费确认单号) is required", ["confirmationNo"])])
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
    from that year's policy. Whole days held are counted in Shanghai."""
    rows = await db.execute(
        text(
            """
            WITH held AS (
                SELECT p.collector_id, count(*) AS payments, sum(p.amount) AS amount, min(p.paid_at) AS oldest
                  FROM payment p
                 WHERE p.tenant_id = :t AND p.year = :year AND p.channel = 'CASH_AGENT' AND p.remittance_id IS NULL
                   AND p.unit_path ^@ :scope
                 GROUP BY p.collector_id
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
