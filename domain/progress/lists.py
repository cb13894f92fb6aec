"""Lists for the field: who has not paid yet (催缴), and the public postings (张榜公示)
of a village's paid persons and subsidy recipients.

Each is one query over a unit's subtree, ordered by village then person, so a
township's list comes out village by village. Masking is the caller's business: the
unpaid list follows the viewer's right to whole ID numbers (and shows the birth date only
with them), postings are always masked and carry no birth date (api/downloads.py).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import text

from domain.coverage.rules import CoverGap
from domain.coverage.sql import gap_condition
from tenants.session import Db

MAX_ROWS = 200_000  # a township is ~60,000 persons; a whole county is not one sheet


class TooManyRows(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"TOO_MANY_ROWS {limit}")
        self.limit = limit


@dataclass(frozen=True)
class ListRow:
    township: str
    village: str
    name: str
    id_number: str
    sex: str
    birth_date: date
    phone: str | None
    status: str
    amount_due: Decimal
    paid_amount: Decimal
    category_name: str | None
    subsidy_amount: Decimal
    subsidy_mode: str | None
    benefit_start: date | None
    roster: str | None = None  # roster findings: the roster's kind (domain/rosters)
    event_date: date | None = None  # and the date it gives


_SELECT = """
    SELECT coalesce(top.name, '') AS township, v.name AS village, p.name, p.id_number, p.sex, p.birth_date, p.phone,
           e.status, e.amount_due, e.paid_amount, c.name AS category_name, e.subsidy_amount, e.subsidy_mode,
           e.benefit_start
      FROM person p
      JOIN enrollment e ON e.tenant_id = p.tenant_id AND e.person_id = p.id AND e.year = :year
      JOIN unit v ON v.tenant_id = p.tenant_id AND v.id = p.unit_id
      LEFT JOIN unit top ON top.tenant_id = p.tenant_id AND top.id = split_part(p.unit_path, '/', 2)::bigint
      LEFT JOIN subsidy_category c ON c.tenant_id = e.tenant_id AND c.year = e.year AND c.code = e.subsidy_category
     WHERE p.tenant_id = :tenant AND p.unit_path ^@ :path AND {condition}
     ORDER BY p.unit_path, p.id
     LIMIT :limit
"""


UNPAID = "e.status = 'UNPAID'"


PAID = "e.status = 'PAID'"


# (an exempt newborn used no subsidy: its parent's cover enrolled it; an excused year —
# died, moved out … before the window closed — uses none either)
SUBSIDIZED = (
    "e.subsidy_category IS NOT NULL AND e.subsidy_amount > 0 AND e.status NOT IN ('REFUNDED', 'EXEMPT', 'EXCUSED')"
)


async def _fetch(db: Db, sql: str, tenant_id: int, year: int, path: str, limit: int) -> list[ListRow]:
    """A subtree's rows of one list, or TooManyRows past `limit`."""
    result = await db.execute(text(sql), {"tenant": tenant_id, "year": year, "path": path, "limit": limit + 1})
    rows = [ListRow(*r) for r in result]
    if len(rows) > limit:
        raise TooManyRows(limit)
    return rows


async def _rows(db: Db, tenant_id: int, year: int, path: str, condition: str, limit: int) -> list[ListRow]:
    return await _fetch(db, _SELECT.replace("{condition}", condition), tenant_id, year, path, limit)


async def unpaid(db: Db, tenant_id: int, year: int, path: str, limit: int = MAX_ROWS) -> list[ListRow]:
    """Persons of the subtree whose year is still UNPAID (REFUNDED ones are not chased:
    they left, died or joined employee insurance)."""
    return await _rows(db, tenant_id, year, path, UNPAID, limit)


async def paid(db: Db, tenant_id: int, year: int, path: str, limit: int = MAX_ROWS) -> list[ListRow]:
    return await _rows(db, tenant_id, year, path, PAID, limit)


_GAP_SELECT = """
    SELECT coalesce(top.name, '') AS township, v.name AS village, p.name, p.id_number, p.sex, p.birth_date, p.phone,
           coalesce(e.status, ''), coalesce(e.amount_due, 0), coalesce(e.paid_amount, 0), c.name AS category_name,
           coalesce(e.subsidy_amount, 0), e.subsidy_mode, e.benefit_start
      FROM person p
      LEFT JOIN enrollment e ON e.tenant_id = p.tenant_id AND e.person_id = p.id AND e.year = :year
      JOIN unit v ON v.tenant_id = p.tenant_id AND v.id = p.unit_id
      LEFT JOIN unit top ON top.tenant_id = p.tenant_id AND top.id = split_part(p.unit_path, '/', 2)::bigint
      LEFT JOIN subsidy_category c ON c.tenant_id = e.tenant_id AND c.year = e.year AND c.code = e.subsidy_category
     WHERE p.tenant_id = :tenant AND p.unit_path ^@ :path AND {condition}
     ORDER BY p.unit_path, p.id
     LIMIT :limit
"""


async def _gap_rows(db: Db, tenant_id: int, year: int, path: str, gap: CoverGap, limit: int) -> list[ListRow]:
    return await _fetch(db, _GAP_SELECT.replace("{condition}", gap_condition(gap)), tenant_id, year, path, limit)


async def lapsed(db: Db, tenant_id: int, year: int, path: str, limit: int = MAX_ROWS) -> list[ListRow]:
    """断保: enrolled the year before, not this year (domain/coverage)."""
    return await _gap_rows(db, tenant_id, year, path, CoverGap.LAPSED, limit)


async def never_enrolled(db: Db, tenant_id: int, year: int, path: str, limit: int = MAX_ROWS) -> list[ListRow]:
    """漏保: registered, never enrolled up to this year (domain/coverage)."""
    return await _gap_rows(db, tenant_id, year, path, CoverGap.NEVER_ENROLLED, limit)


async def subsidy_recipients(db: Db, tenant_id: int, year: int, path: str, limit: int = MAX_ROWS) -> list[ListRow]:
    """Persons a subsidy applies to this year (八公山: 财政资助人员名单 posted in every village)."""
    return await _rows(db, tenant_id, year, path, SUBSIDIZED, limit)


# The newest version of each roster kind of the year (domain/rosters/store.py).
_FOUND = """
    SELECT coalesce(top.name, '') AS township, v.name AS village, p.name, p.id_number, p.sex, p.birth_date, p.phone,
           coalesce(e.status, ''), coalesce(e.amount_due, 0), coalesce(e.paid_amount, 0), NULL, 0, NULL, NULL,
           f.kind, f.event_date
      FROM roster_finding f
      JOIN person p ON p.tenant_id = f.tenant_id AND p.id = f.person_id
      LEFT JOIN enrollment e ON e.tenant_id = p.tenant_id AND e.person_id = p.id AND e.year = :year
      JOIN unit v ON v.tenant_id = p.tenant_id AND v.id = p.unit_id
      LEFT JOIN unit top ON top.tenant_id = p.tenant_id AND top.id = split_part(p.unit_path, '/', 2)::bigint
     WHERE f.tenant_id = :tenant AND f.year = :year AND p.unit_path ^@ :path
       AND f.batch_id IN (SELECT DISTINCT ON (kind) id FROM roster_batch
                           WHERE tenant_id = :tenant AND year = :year ORDER BY kind, version DESC)
     ORDER BY p.unit_path, p.id, f.kind
     LIMIT :limit
"""


async def roster_found(db: Db, tenant_id: int, year: int, path: str, limit: int = MAX_ROWS) -> list[ListRow]:
    """Persons on a department's roster of the year (职工医保, 死亡, 异地参保): not to chase."""
    return await _fetch(db, _FOUND, tenant_id, year, path, limit)
