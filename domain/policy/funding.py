"""The subsidy money of a year per child unit, category and funder (资助资金), read from the
enrolments: what each budget owes (`funding` in domain/policy/rules.py splits it).

Only subsidies in force count: the person is enrolled (PAID or SUBSIDIZED) with that
subsidy. Not a person still UNPAID (a 60–69-year-old of 枣庄 who has not paid their
half is not insured, so nothing is owed for them yet), not a REFUNDED year, and not a
late payer under FULL_COST_WAIT (枣庄: "需全额缴纳包括各级政府补助(资助)资金在内的…": they paid the
subsidy themselves). A REIMBURSE subsidy of a paid person counts: it is owed back to
them (双牌 低保, 内乡 80 yuan), whether paid out yet or not.
"""
from __future__ import annotations

from sqlalchemy import text

from domain.enrollment.rules import EnrollmentStatus
from domain.payments.rules import PaymentStatus, Timing
from domain.policy.rules import FundedGroup, Funding, YearPolicy, funding
from tenants.session import Db

_GROUPS = text(
    f"""
    SELECT NULLIF(split_part(substr(p.unit_path, length(:parent) + 1), '/', 1), '')::bigint AS unit_id,
           e.subsidy_category AS category, e.subsidy_amount AS amount, count(*) AS persons
      FROM enrollment e
      JOIN person p ON p.tenant_id = e.tenant_id AND p.id = e.person_id
     WHERE e.tenant_id = :tenant AND e.year = :year AND p.unit_path ^@ :parent
       AND e.status IN ('{EnrollmentStatus.PAID}', '{EnrollmentStatus.SUBSIDIZED}')
       AND e.subsidy_category IS NOT NULL AND e.subsidy_amount > 0
       AND NOT EXISTS (
            SELECT 1 FROM payment pay
             WHERE pay.tenant_id = e.tenant_id AND pay.person_id = e.person_id AND pay.year = e.year
               AND pay.status = '{PaymentStatus.ACCEPTED}' AND pay.timing = '{Timing.LATE}')
     GROUP BY 1, 2, 3
    """
)


async def subsidy_funding(db: Db, tenant_id: int, policy: YearPolicy, parent_path: str) -> Funding:
    """Per child unit of `parent_path` (per township under the county)."""
    rows = await db.execute(_GROUPS, {"tenant": tenant_id, "year": policy.year, "parent": parent_path})
    groups = [FundedGroup(r.unit_id, r.category, r.amount, int(r.persons)) for r in rows]
    return funding(groups, policy.categories)
