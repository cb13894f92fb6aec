"""domain/payments/sql.py against domain/payments/rules.py: one table of cases through both.

The payment-file import classifies and dates 100,000 payments in SQL; recordPayment does
one in Python. Both must give the same timing, refusal, break years, waiting period,
benefit start and expected amount for every case below: the seeds' policies and variants
reaching every timing, each newborn's period end and the day after it (days and calendar
months), the grace month's last day and the day after it, subsidised or not, registered
on the day of birth or later.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from itertools import product
from pathlib import Path

import pytest
from sqlalchemy import text

from domain.payments import sql as payments_sql
from domain.payments.rules import (
    TimingRefused,
    benefit_start,
    break_years,
    classify,
    expected_amount,
    grace_end,
    newborn_period_end,
    waiting_months,
)
from domain.policy.files import policy_from_dict
from domain.policy.rules import LateRule, NewbornLateRule, YearPolicy

POLICIES = Path(__file__).resolve().parent.parent / "examples" / "policies"


def load(name: str) -> YearPolicy:
    return policy_from_dict(json.loads((POLICIES / name).read_text(encoding="utf-8")))


BAIGONGSHAN = load("baigongshan-2022.json")  # extension to 2022-02-28 with proof; newborns 3 months, then the next day
ZAOZHUANG = load("zaozhuang-2022.json")  # late payers: 280 + 550, 30 days; subsidised persons one month more
NEIXIANG_2023 = load("neixiang-2023.json")  # newborns 90 days, then from the registration day
NEIXIANG_2027 = load("neixiang-2027.json")  # 2027: waiting periods after a break
# 2027 with an extension, a grace month and late payers too: every timing under the long-term rules.
NEIXIANG_2027_WIDE = replace(
    NEIXIANG_2027, extension_end=date(2027, 2, 28), late_rule=LateRule.FULL_COST_WAIT, fiscal_subsidy=Decimal("700.00"),
    subsidized_grace_months=1,
)
NEIXIANG_2027_PROOF = replace(NEIXIANG_2027_WIDE, extension_needs_proof=True, newborn_days=60)
NEIXIANG_2027_MONTHS = replace(
    NEIXIANG_2027_WIDE, newborn_days=None, newborn_months=3, newborn_late_rule=NewbornLateRule.DAY_AFTER_PAYMENT,
)
ZAOZHUANG_NO_LATE_NEWBORNS = replace(ZAOZHUANG, subsidized_grace_months=2, newborn_late_rule=NewbornLateRule.GENERAL)

HISTORIES = [
    {},
    {2026: True},
    {2024: True, 2025: False, 2026: False},  # DOMAIN.md: → 2027-05-01
    {2025: False, 2026: False},
    {2019: True, 2020: False},
    {2021: True, 2026: False, 2027: False, 2028: True},  # later years do not count
    {2018: True, 2018 + 1: True, 2022: True},
]


@dataclass(frozen=True)
class Case:
    paid_on: date
    birth: date
    proof: bool
    history: dict
    back_years: int
    amount_due: Decimal
    subsidized: bool = False
    registered_on: date = date(2000, 1, 1)


def day_after(day: date) -> date:
    return date.fromordinal(day.toordinal() + 1)


def dates_around(policy: YearPolicy) -> list[date]:
    days = {
        policy.window_start, policy.window_end, date(policy.year, 1, 1), date(policy.year, 1, 30),
        date(policy.year, 1, 31), date(policy.year, 3, 1), date(policy.year, 12, 31), date(policy.year + 1, 1, 2),
        date.fromordinal(policy.window_start.toordinal() - 1), date.fromordinal(policy.window_end.toordinal() + 1),
    }
    if policy.extension_end:
        days |= {policy.extension_end, day_after(policy.extension_end)}
    grace = grace_end(policy)
    if grace:
        days |= {grace, day_after(grace)}
    return sorted(days)


def births_around(policy: YearPolicy) -> list[date]:
    return [
        date(1980, 5, 5), policy.window_start, date.fromordinal(policy.window_start.toordinal() - 1),
        date(policy.year, 1, 15), date(policy.year - 1, 12, 31), date(policy.year, 3, 1),
        date(policy.year, 1, 31), date(policy.year - 1, 12, 28), date(policy.year, 11, 30),  # months that clamp
    ]


def cases(policy: YearPolicy) -> list[Case]:
    """Every payment day around the policy's dates and each birth's newborn period,
    crossed with the other inputs; subsidised and the registration day take turns."""
    table = []
    for born in births_around(policy):
        end = newborn_period_end(policy, born)
        days = sorted(set(dates_around(policy)) | {end, day_after(end)})
        for paid, proof, history, back, due in product(days, (False, True), HISTORIES, (0, 1, 3), (policy.standard, Decimal("0.00"))):
            n = len(table)
            registered = born if n % 3 else date(policy.year, 3, 15)
            table.append(Case(paid, born, proof, history, back, due, subsidized=n % 5 in (1, 3), registered_on=registered))
    return table


def in_python(policy: YearPolicy, case: Case) -> tuple:
    try:
        timing = classify(policy, case.paid_on, case.birth, case.proof, subsidized=case.subsidized)
    except TimingRefused as refused:
        return (refused.problem.code, None, None, None, None)
    breaks = break_years(policy.year, case.history)
    start = benefit_start(policy, timing, case.paid_on, case.birth, breaks, case.back_years, registered_on=case.registered_on)
    assert start.waiting_months == waiting_months(policy.year, timing, breaks, case.back_years)
    expected = expected_amount(policy, timing, case.amount_due, case.back_years)
    return (timing.value, breaks, start.waiting_months, start.day, expected)


_QUERY = f"""
WITH c AS (
    SELECT * FROM unnest(CAST(:ids AS int[]), CAST(:paid AS date[]), CAST(:birth AS date[]), CAST(:proof AS boolean[]),
                         CAST(:back AS int[]), CAST(:due AS numeric[]), CAST(:subsidized AS boolean[]),
                         CAST(:registered AS date[]))
                  AS c(id, paid_on, birth, proof, back, due, subsidized, registered_on)
),
h AS (SELECT * FROM unnest(CAST(:hid AS int[]), CAST(:hyear AS int[]), CAST(:henrolled AS boolean[])) AS h(id, year, enrolled)),
b AS (
    SELECT id, {payments_sql.break_years("year", "enrolled")} AS breaks
      FROM h WHERE year < CAST(:p_year AS int) GROUP BY id
),
t AS (
    SELECT c.*, coalesce(b.breaks, 0) AS breaks,
           {payments_sql.timing("c.paid_on", "c.birth", "c.proof", "c.subsidized")} AS timing
      FROM c LEFT JOIN b USING (id)
)
SELECT id, timing, breaks,
       {payments_sql.waiting_months("timing", "breaks", "back")} AS months,
       {payments_sql.benefit_start("timing", "paid_on", "birth", "registered_on", "breaks", "back")} AS start,
       {payments_sql.expected_amount("timing", "due", "back")} AS expected
  FROM t ORDER BY id
"""


def in_sql(owner_db, policy: YearPolicy, table: list[Case]) -> list[tuple]:
    history = [(n, year, enrolled) for n, case in enumerate(table) for year, enrolled in case.history.items()]
    params = {
        **payments_sql.policy_params(policy),
        "ids": list(range(len(table))),
        "paid": [c.paid_on for c in table],
        "birth": [c.birth for c in table],
        "proof": [c.proof for c in table],
        "back": [c.back_years for c in table],
        "due": [c.amount_due for c in table],
        "subsidized": [c.subsidized for c in table],
        "registered": [c.registered_on for c in table],
        "hid": [h[0] for h in history],
        "hyear": [h[1] for h in history],
        "henrolled": [h[2] for h in history],
    }

    async def run(db):
        return (await db.execute(text(_QUERY), params)).all()

    rows = owner_db(run)
    found = []
    for row in rows:
        if row.timing in payments_sql.REFUSALS:
            found.append((row.timing, None, None, None, None))
        else:
            found.append((row.timing, row.breaks, row.months, row.start, row.expected))
    return found


@pytest.mark.parametrize(
    "policy",
    [
        BAIGONGSHAN, ZAOZHUANG, NEIXIANG_2023, NEIXIANG_2027, NEIXIANG_2027_WIDE, NEIXIANG_2027_PROOF,
        NEIXIANG_2027_MONTHS, ZAOZHUANG_NO_LATE_NEWBORNS,
    ],
    ids=[
        "baigongshan-2022", "zaozhuang-2022", "neixiang-2023", "neixiang-2027", "neixiang-2027-extension-grace-late",
        "neixiang-2027-proof", "neixiang-2027-newborn-months", "zaozhuang-two-grace-months",
    ],
)
def test_sql_and_python_agree(owner_db, policy):
    table = cases(policy)
    expected = [in_python(policy, case) for case in table]
    found = in_sql(owner_db, policy, table)
    mismatches = [(case, want, got) for case, want, got in zip(table, expected, found) if want != got]
    assert not mismatches, f"{len(mismatches)} of {len(table)} differ, e.g. {mismatches[:3]}"
    # the table reaches every outcome, so agreement means something
    timings = {row[0] for row in expected}
    assert timings >= {"WINDOW", "WINDOW_NOT_OPEN", "WINDOW_CLOSED"}


def test_the_table_covers_every_timing_and_refusal(owner_db):
    policies = (BAIGONGSHAN, NEIXIANG_2023, NEIXIANG_2027_WIDE, NEIXIANG_2027_PROOF)
    seen = {in_python(policy, case)[0] for policy in policies for case in cases(policy)}
    assert seen == set(payments_sql.TIMINGS) | set(payments_sql.REFUSALS)


def test_the_domain_example_in_sql(owner_db):
    """No enrolment in 2025 and 2026, pays for 2027 in the window → 2027-05-01; one back year → 2027-04-01."""
    history = {2024: True, 2025: False, 2026: False}
    cases_ = [Case(date(2026, 11, 1), date(1980, 5, 5), False, history, back, Decimal("400.00")) for back in (0, 1)]
    assert in_sql(owner_db, NEIXIANG_2027, cases_) == [
        ("WINDOW", 2, 4, date(2027, 5, 1), Decimal("400.00")),
        ("WINDOW", 2, 3, date(2027, 4, 1), Decimal("800.00")),
    ]


def test_the_documents_newborn_and_grace_days_in_sql(owner_db):
    """The boundary days of the documents, in SQL: 八公山 born 01-31 covered from birth until
    04-30 and from the next day after; 内乡 90 days, then from the registration day; 枣庄's
    subsidised persons until 2022-01-20 as in the window, then standard + fiscal subsidy."""
    adult = date(1980, 5, 5)
    baigongshan = [
        Case(date(2022, 4, 30), date(2022, 1, 31), False, {}, 0, Decimal("320.00")),
        Case(date(2022, 5, 1), date(2022, 1, 31), False, {}, 0, Decimal("320.00")),
    ]
    assert in_sql(owner_db, BAIGONGSHAN, baigongshan) == [
        ("NEWBORN", 0, 0, date(2022, 1, 31), Decimal("320.00")),
        ("NEWBORN_LATE", 0, 0, date(2022, 5, 2), Decimal("320.00")),
    ]
    neixiang = [
        Case(date(2023, 4, 10), date(2023, 1, 10), False, {}, 0, Decimal("350.00"), registered_on=date(2023, 3, 20)),
        Case(date(2023, 4, 11), date(2023, 1, 10), False, {}, 0, Decimal("350.00"), registered_on=date(2023, 3, 20)),
        Case(date(2023, 3, 29), date(2022, 12, 28), False, {}, 0, Decimal("350.00"), registered_on=date(2022, 12, 29)),
    ]
    assert in_sql(owner_db, NEIXIANG_2023, neixiang) == [
        ("NEWBORN", 0, 0, date(2023, 1, 10), Decimal("350.00")),
        ("NEWBORN_LATE", 0, 0, date(2023, 3, 20), Decimal("350.00")),
        ("NEWBORN_LATE", 0, 0, date(2023, 1, 1), Decimal("350.00")),
    ]
    zaozhuang = [
        Case(date(2022, 1, 20), adult, False, {}, 0, Decimal("140.00"), subsidized=True),
        Case(date(2022, 1, 21), adult, False, {}, 0, Decimal("140.00"), subsidized=True),
        Case(date(2021, 12, 21), adult, False, {}, 0, Decimal("280.00"), subsidized=False),
    ]
    assert in_sql(owner_db, ZAOZHUANG, zaozhuang) == [
        ("GRACE", 0, 0, date(2022, 1, 1), Decimal("140.00")),
        ("LATE", 0, 0, date(2022, 2, 20), Decimal("830.00")),
        ("LATE", 0, 0, date(2022, 1, 20), Decimal("830.00")),
    ]
