"""断保 and 漏保 three times: `cover_gap` (domain/coverage/rules.py), and the two SQL shapes
of domain/coverage/sql.py — `gap_condition` (pages, lists) and `GAP_JOINS` + `gap_flag`
(counts) — person by person, over random records: enrolments here in every status,
history imported as enrolled or not, in years around the one asked for."""
from __future__ import annotations

import random
from datetime import date

import pytest
from sqlalchemy import text

from domain.coverage.rules import CoverGap, cover_gap
from domain.coverage.sql import GAP_JOINS, gap_condition, gap_flag
from domain.enrollment.rules import ENROLLED, EnrollmentStatus
from domain.persons.idnumber import make_id_number
from domain.policy.store import save_policy
from schema.relay import from_global_id
from tests.conftest import ALL_DEPARTMENTS
from tests.test_enrolled_at_sql import seed

YEARS = range(2071, 2077)
PERSONS = 400

CASES = [  # (year, enrolled years, explained) → gap
    (2027, set(), False, CoverGap.NEVER_ENROLLED),
    (2027, {2026}, False, CoverGap.LAPSED),
    (2027, {2025, 2026}, False, CoverGap.LAPSED),
    (2027, {2026, 2027}, False, None),
    (2027, {2027}, False, None),
    (2027, {2025}, False, None),  # an older break is not this year's 断保
    (2027, {2028}, False, CoverGap.NEVER_ENROLLED),  # a later year is not on record up to 2027
    (2027, {2026}, True, None),  # explained: died, joined employee insurance, …
    (2027, set(), True, None),
]


@pytest.mark.parametrize(("year", "enrolled", "explained", "gap"), CASES)
def test_cover_gap(year: int, enrolled: set[int], explained: bool, gap: CoverGap | None) -> None:
    assert cover_gap(year, enrolled, explained) is gap


async def _generate(db, tenant_id: int, rng: random.Random) -> dict[int, set[int]]:  # noqa: ANN001
    """Persons with random enrolments and history; person id → the years they count as enrolled."""
    unit_id, path = (await db.execute(
        text("SELECT id, path FROM unit WHERE tenant_id = :t AND kind = 'VILLAGE' ORDER BY id LIMIT 1"), {"t": tenant_id}
    )).one()
    enrolled: dict[int, set[int]] = {}
    for serial in range(PERSONS):
        number = make_id_number("411325", date(1950, 1, 1) + (date(2000, 1, 1) - date(1950, 1, 1)) * rng.random(), serial + 1)
        person_id = (await db.execute(
            text("""INSERT INTO person (tenant_id, id_number, name, birth_date, sex, unit_id, unit_path)
                    VALUES (:t, :n, '比对', :b, 'F', :u, :p) RETURNING id"""),
            {"t": tenant_id, "n": number, "b": date.fromisoformat(f"{number[6:10]}-{number[10:12]}-{number[12:14]}"),
             "u": unit_id, "p": path},
        )).scalar_one()
        years: set[int] = set()
        for year in YEARS:
            if rng.random() < 0.45:
                status = rng.choice(list(EnrollmentStatus))
                await db.execute(
                    text("""INSERT INTO enrollment (tenant_id, person_id, year, status, amount_due)
                            VALUES (:t, :p, :y, :s, 400)"""),
                    {"t": tenant_id, "p": person_id, "y": year, "s": status.value},
                )
                years |= {year} if status in ENROLLED else set()
            if rng.random() < 0.3:
                on_record = rng.random() < 0.6
                await db.execute(
                    text("""INSERT INTO enrollment_history (tenant_id, id_number, year, enrolled, source)
                            VALUES (:t, :n, :y, :e, 'test')"""),
                    {"t": tenant_id, "n": number, "y": year, "e": on_record},
                )
                years |= {year} if on_record else set()
        enrolled[person_id] = years
    await db.execute(text("ANALYZE person; ANALYZE enrollment; ANALYZE enrollment_history"))
    return enrolled


async def _sql_gaps(db, tenant_id: int, year: int) -> tuple[dict[int, CoverGap], dict[int, CoverGap]]:  # noqa: ANN001
    """Person id → gap, by each shape."""
    shapes: tuple[dict[int, CoverGap], dict[int, CoverGap]] = ({}, {})
    for gap in CoverGap:
        by_row = f"SELECT p.id FROM person p WHERE p.tenant_id = :tenant AND {gap_condition(gap)}"
        joined = f"SELECT p.id FROM person p {GAP_JOINS} WHERE p.tenant_id = :tenant AND {gap_flag(gap)}"
        for found, sql in zip(shapes, (by_row, joined), strict=True):
            for row in await db.execute(text(sql), {"tenant": tenant_id, "year": year}):
                assert row.id not in found, f"person {row.id} has two gaps"
                found[row.id] = gap
    return shapes


def test_gaps_in_sql_equal_the_rule(new_county, owner_db):
    county = new_county(ALL_DEPARTMENTS)
    tenant_id = from_global_id(county.id)[1]
    rng = random.Random(20261202)

    async def run(db) -> tuple[dict[int, set[int]], dict[int, tuple[dict[int, CoverGap], ...]]]:  # noqa: ANN001
        for year in YEARS:
            await save_policy(db, tenant_id, seed("neixiang-2027.json", year), "test")
        enrolled = await _generate(db, tenant_id, rng)
        return enrolled, {year: await _sql_gaps(db, tenant_id, year) for year in (*YEARS, YEARS[-1] + 1)}

    enrolled, sql = owner_db(run, tenant_id)
    seen: set[CoverGap | None] = set()
    for year, (by_row, joined) in sql.items():
        for person_id, years in enrolled.items():
            expected = cover_gap(year, years)
            seen.add(expected)
            assert by_row.get(person_id) is expected, ("row", year, person_id, sorted(years))
            assert joined.get(person_id) is expected, ("joined", year, person_id, sorted(years))
    assert seen == {None, *CoverGap}
