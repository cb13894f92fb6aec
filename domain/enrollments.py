"""Enrolments per person-year, computed set-wise in SQL.

The winner among a person's subsidy categories follows `domain/subsidies.py`
(`choose_subsidy`): the highest amount; on a tie AUTO_ENROLL before DEDUCT before
REIMBURSE; then the category code. `winner_order` below is that order in SQL, and a
test checks the two agree.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import text

from tenants.session import Db



def winner_order(alias: str = "") -> str:
    """`ORDER BY` putting a person's winning category first (see module docstring)."""
    a = f"{alias}." if alias else ""
    return f"{a}amount DESC, CASE {a}mode WHEN 'AUTO_ENROLL' THEN 0 WHEN 'DEDUCT' THEN 1 ELSE 2 END, {a}code"


# Every category that applies to each selected person: listed ones (joined on the ID
# number, so pending list rows count from the moment the person is registered) and
# age-based ones (age at the policy's reference date).
_CANDIDATES = """
    SELECT p.id AS person_id, c.code, c.mode, c.amount
      FROM person p
      JOIN subsidy_membership m ON m.tenant_id = p.tenant_id AND m.id_number = p.id_number AND m.year = :year
      JOIN subsidy_category c ON c.tenant_id = m.tenant_id AND c.year = m.year AND c.code = m.category_code
     WHERE p.tenant_id = :tenant AND {person_filter}
    UNION ALL
    SELECT p.id, c.code, c.mode, c.amount
      FROM person p
      JOIN year_policy y ON y.tenant_id = p.tenant_id AND y.year = :year
      JOIN subsidy_category c ON c.tenant_id = y.tenant_id AND c.year = y.year
                             AND (c.min_age IS NOT NULL OR c.max_age IS NOT NULL)
     WHERE p.tenant_id = :tenant AND {person_filter}
       AND date_part('year', age(y.age_reference_date, p.birth_date))
           BETWEEN coalesce(c.min_age, 0) AND coalesce(c.max_age, 1000)
"""

_RECOMPUTE = f"""
WITH candidates AS ({_CANDIDATES}),
best AS (
    SELECT DISTINCT ON (person_id) person_id, code, mode, amount
      FROM candidates
     ORDER BY person_id, {winner_order()}
),
computed AS (
    SELECT p.id AS person_id, y.standard,
           b.code, b.mode, coalesce(b.amount, 0) AS subsidy,
           CASE WHEN b.mode = 'REIMBURSE' THEN y.standard ELSE y.standard - coalesce(b.amount, 0) END AS due,
           CASE WHEN b.mode = 'REIMBURSE' THEN b.amount ELSE 0 END AS reimburse
      FROM person p
      JOIN year_policy y ON y.tenant_id = p.tenant_id AND y.year = :year
      LEFT JOIN best b ON b.person_id = p.id
     WHERE p.tenant_id = :tenant AND {{person_filter}}
)
INSERT INTO enrollment AS e (tenant_id, person_id, year, status, amount_due, paid_amount, subsidy_category,
                             subsidy_amount, subsidy_mode, reimbursement_due, benefit_start, computed_at)
SELECT :tenant, person_id, :year,
       CASE WHEN due = 0 THEN 'SUBSIDIZED' ELSE 'UNPAID' END,
       due, 0, code, subsidy, mode, reimburse,
       CASE WHEN due = 0 THEN :benefit_start END,
       now()
  FROM computed
ON CONFLICT (tenant_id, person_id, year) DO UPDATE
   SET amount_due = EXCLUDED.amount_due,
       subsidy_category = EXCLUDED.subsidy_category,
       subsidy_amount = EXCLUDED.subsidy_amount,
       subsidy_mode = EXCLUDED.subsidy_mode,
       reimbursement_due = EXCLUDED.reimbursement_due,
       computed_at = now(),
       -- payments own PAID and REFUNDED; only a not-yet-paid year follows the subsidy
       status = CASE WHEN e.status IN ('PAID', 'REFUNDED') THEN e.status ELSE EXCLUDED.status END,
       benefit_start = CASE WHEN e.status IN ('PAID', 'REFUNDED') THEN e.benefit_start
                            ELSE EXCLUDED.benefit_start END
"""

_ALL = "true"
_BY_IDS = "p.id = ANY(CAST(:person_ids AS bigint[]))"
_BY_ID_NUMBERS = "p.id_number = ANY(CAST(:id_numbers AS text[]))"


async def _run(db: Db, tenant_id: int, year: int, person_filter: str, extra: dict) -> int:
    sql = _RECOMPUTE.replace("{person_filter}", person_filter)
    result = await db.execute(
        text(sql), {"tenant": tenant_id, "year": year, "benefit_start": date(year, 1, 1), **extra}
    )
    return result.rowcount


async def recompute_year(db: Db, tenant_id: int, year: int) -> int:
    """Every registered person of the county, for one benefit year."""
    return await _run(db, tenant_id, year, _ALL, {})


async def recompute_persons(db: Db, tenant_id: int, person_ids: list[int], years: list[int] | None = None) -> int:
    years = years if years is not None else await policy_years(db, tenant_id)
    total = 0
    for year in years:
        total += await _run(db, tenant_id, year, _BY_IDS, {"person_ids": person_ids})
    return total


async def recompute_id_numbers(db: Db, tenant_id: int, year: int, id_numbers: list[str]) -> int:
    return await _run(db, tenant_id, year, _BY_ID_NUMBERS, {"id_numbers": id_numbers})


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


async def explain(db: Db, tenant_id: int, year: int, person_id: int) -> list[CandidateRow]:
    """Every category that applied to a person, winner first, in the winner order."""
    sql = f"""
        WITH candidates AS ({_CANDIDATES.replace('{person_filter}', 'p.id = :person')})
        SELECT k.code, c.name, k.mode, k.amount
          FROM candidates k
          JOIN subsidy_category c ON c.tenant_id = :tenant AND c.year = :year AND c.code = k.code
         ORDER BY {winner_order("k")}
    """
    rows = (await db.execute(text(sql), {"tenant": tenant_id, "year": year, "person": person_id})).all()
    return [CandidateRow(r.code, r.name, r.mode, r.amount, index == 0) for index, r in enumerate(rows)]
