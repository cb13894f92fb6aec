"""The amount due, twice: `amount_due` (domain/enrollment/rules.py, Python) and the
set-wise recompute (domain/enrollment/sql.py, what production runs), case by case.

The seeds' table (tests/test_subsidies_rules.py `SEED_CASES`) and a few thousand
generated cases (random policies: FULL / PERCENT / FIXED, the three modes, ties,
age-based categories, reference dates on leap days; random persons, births on
29 February and after the reference date; random list memberships) go through both,
and every field of every enrolment must be equal.
"""
from __future__ import annotations

import json
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import text

from domain.enrollment.rules import amount_due
from domain.enrollment.store import recompute_year
from domain.persons.idnumber import make_id_number
from domain.policy.files import policy_from_dict
from domain.policy.rules import SubsidyCategory, SubsidyMode, SubsidyRule, YearPolicy
from domain.policy.store import save_policy
from schema.relay import from_global_id
from tenants.kinds import DepartmentCode
from tests.conftest import ALL_DEPARTMENTS
from tests.test_subsidies_rules import SEED_CASES

POLICIES = Path(__file__).resolve().parent.parent / "examples" / "policies"
PERSONS_PER_POLICY = 300
GENERATED_POLICIES = 12
OWNERS = [DepartmentCode.CIVIL_AFFAIRS, DepartmentCode.RURAL_REVITALIZATION, DepartmentCode.DISABLED_FEDERATION]


def random_category(rng: random.Random, index: int, standard: Decimal) -> SubsidyCategory:
    rule = rng.choice(list(SubsidyRule))
    value = None
    if rule is SubsidyRule.PERCENT:
        value = Decimal(rng.choice(["10", "12.5", "33.33", "50", "80", "90", "100"]))
    elif rule is SubsidyRule.FIXED:
        value = rng.choice([Decimal("80.00"), Decimal("90.00"), Decimal("140.00"), Decimal("160.00"), standard])
    min_age = max_age = None
    if rng.random() < 0.3:
        min_age = rng.choice([None, 0, 60, 65, 70])
        max_age = rng.choice([None, 59, 69, 79]) if min_age is None or min_age <= 59 else rng.choice([None, 79])
        if min_age is None and max_age is None:
            min_age = 70
    return SubsidyCategory(
        code=f"c{index}", name=f"类别{index}", owner=rng.choice(OWNERS), rule=rule, value=value,
        mode=rng.choice(list(SubsidyMode)), min_age=min_age, max_age=max_age,
    )


def random_policy(rng: random.Random, year: int) -> YearPolicy:
    standard = Decimal(rng.choice(["280.00", "320.00", "320.50", "350.00", "380.00", "400.00"]))
    references = [date(year, 1, 1), date(year - 1, 12, 31), date(year, 6, 30), date(year, 3, 1)]
    if year % 4 == 0:
        references.append(date(year, 2, 29))
    return YearPolicy(
        year=year, standard=standard, fiscal_subsidy=None, window_start=date(year - 1, 10, 15),
        window_end=date(year - 1, 12, 31), age_reference_date=rng.choice(references),
        categories=tuple(random_category(rng, i, standard) for i in range(rng.randint(1, 6))),
    )


def random_births(rng: random.Random, count: int, last: date) -> list[date]:
    span = (last - date(1920, 1, 1)).days
    births = [date(1920, 1, 1) + timedelta(days=rng.randrange(span)) for _ in range(count)]
    births[:4] = [date(1952, 2, 29), date(1960, 2, 29), date(2000, 2, 29), last]
    return births


async def _add_persons(db, tenant_id: int, births: list[date]) -> list[tuple[int, str, date]]:  # noqa: ANN001
    unit = (await db.execute(
        text("SELECT id, path FROM unit WHERE tenant_id = :t AND kind = 'VILLAGE' ORDER BY id LIMIT 1"), {"t": tenant_id}
    )).one()
    persons = []
    for index, born in enumerate(births):
        number = make_id_number("411325", born, index % 999 + 1)
        person_id = await db.scalar(
            text(
                """INSERT INTO person (tenant_id, id_number, name, birth_date, sex, unit_id, unit_path)
                   VALUES (:t, :n, '比对', :b, :s, :u, :p)
                   ON CONFLICT (tenant_id, id_number) DO UPDATE SET name = EXCLUDED.name RETURNING id"""
            ),
            {"t": tenant_id, "n": number, "b": born, "s": "M" if (index % 999 + 1) % 2 else "F", "u": unit.id, "p": unit.path},
        )
        persons.append((person_id, number, born))
    return persons


async def _compare(db, tenant_id: int, policy: YearPolicy, cases: list[tuple[int, str, date, set[str]]]) -> list[str]:  # noqa: ANN001
    """Save the policy, list the cases' persons, recompute in SQL, compare with Python."""
    await db.execute(text("DELETE FROM subsidy_membership WHERE tenant_id = :t AND year = :y"), {"t": tenant_id, "y": policy.year})
    await save_policy(db, tenant_id, policy, "test")
    rows = [
        {"t": tenant_id, "y": policy.year, "n": number, "c": code}
        for _, number, _, listed in cases for code in sorted(listed)
    ]
    if rows:
        await db.execute(
            text("INSERT INTO subsidy_membership (tenant_id, year, id_number, category_code, batch_id) VALUES (:t, :y, :n, :c, 0)"),
            rows,
        )
    await recompute_year(db, tenant_id, policy.year)
    stored = {
        r.person_id: r
        for r in await db.execute(
            text(
                """SELECT person_id, status, amount_due, subsidy_category, subsidy_amount, subsidy_mode, reimbursement_due
                     FROM enrollment WHERE tenant_id = :t AND year = :y"""
            ),
            {"t": tenant_id, "y": policy.year},
        )
    }
    mismatches = []
    for person_id, _number, born, listed in cases:
        expected = amount_due(policy, {c for c in listed if policy.category(c)}, born)
        row = stored[person_id]
        sql = (row.status, row.amount_due, row.subsidy_category, row.subsidy_amount, row.subsidy_mode, row.reimbursement_due)
        python = (
            expected.status_if_unpaid.value, expected.amount_due, expected.subsidy_category, expected.subsidy_amount,
            expected.subsidy_mode.value if expected.subsidy_mode else None, expected.reimbursement_due,
        )
        if sql != python:
            mismatches.append(f"{policy.year} {sorted(listed)} born {born}: SQL {sql} != Python {python}")
    return mismatches


def _seed_policy(name: str) -> YearPolicy:
    return policy_from_dict(json.loads((POLICIES / f"{name}.json").read_text(encoding="utf-8")))


def test_the_seed_table_in_sql(new_county, owner_db):
    county = new_county(ALL_DEPARTMENTS)
    tenant_id = from_global_id(county.id)[1]

    async def run(db) -> list[str]:  # noqa: ANN001
        mismatches = []
        for name in sorted({case[0] for case in SEED_CASES}):
            cases = [c for c in SEED_CASES if c[0] == name]
            persons = await _add_persons(db, tenant_id, [c[2] for c in cases])
            found = await _compare(db, tenant_id, _seed_policy(name), [(*p, c[1]) for p, c in zip(persons, cases)])
            mismatches += [f"{name}: {m}" for m in found]
        return mismatches

    assert owner_db(run, tenant_id) == []


def test_thousands_of_generated_cases_agree(new_county, owner_db):
    county = new_county(ALL_DEPARTMENTS)
    tenant_id = from_global_id(county.id)[1]
    rng = random.Random(20261201)

    async def run(db) -> tuple[int, list[str]]:  # noqa: ANN001
        mismatches: list[str] = []
        compared = 0
        for year in range(2030, 2030 + GENERATED_POLICIES):
            policy = random_policy(rng, year)
            list_codes = [c.code for c in policy.categories if not c.age_based]
            births = random_births(rng, PERSONS_PER_POLICY, date(year, 12, 31))
            persons = await _add_persons(db, tenant_id, births)
            cases = [(*p, set(rng.sample(list_codes, rng.randint(0, len(list_codes))))) for p in persons]
            # Listing a person in an age-based category counts for nothing: try it too.
            cases[5][3].update(c.code for c in policy.categories if c.age_based)
            mismatches += await _compare(db, tenant_id, policy, cases)
            compared += len(cases)
        return compared, mismatches

    compared, mismatches = owner_db(run, tenant_id)
    assert compared >= 3000
    assert mismatches == [], "\n".join(mismatches[:10])
