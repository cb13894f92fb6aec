"""Reimbursements (先缴后补): REIMBURSE subsidies owed to persons who paid in full.

双牌: 低保 and 监测对象 pay the full 320 and get 50% back through the 一卡通 card from
their township; 内乡: 80 yuan back for all but 特困. A person is owed once they have
paid (PAID) with a REIMBURSE subsidy; a payout is recorded once per person-year.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import text

from tenants.problems import Problem, Rejected
from tenants.session import Db

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
) -> tuple[list[OwedRow], bool, int]:
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
    return [OwedRow(*r) for r in rows[:first]], len(rows) > first, total


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
