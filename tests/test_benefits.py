"""Payment timing and benefit start, table-driven with the seeds' dates (no database)."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from domain.payments.rules import (
    Timing,
    TimingRefused,
    add_months,
    benefit_start,
    break_years,
    classify,
    expected_amount,
    grace_end,
    newborn_period_end,
    waiting_months,
)
from domain.policy.files import policy_from_dict

POLICIES = Path(__file__).resolve().parent.parent / "examples" / "policies"


def policy(name: str):
    return policy_from_dict(json.loads((POLICIES / name).read_text(encoding="utf-8")))


BAIGONGSHAN = policy("baigongshan-2022.json")  # window 2021-09-01..12-31, extension to 02-28 with proof; newborns 3 months
ZAOZHUANG = policy("zaozhuang-2022.json")  # window 2021-11-01..12-20, late: 280 + 550, 30 days; subsidised: +1 month
NEIXIANG_2023 = policy("neixiang-2023.json")  # window 2022-10-15..12-31; newborns 90 days, late: the registration day
NEIXIANG_2027 = policy("neixiang-2027.json")  # window 2026-09-01..12-31, no extension, late refused
ADULT = date(1980, 5, 5)


@pytest.mark.parametrize(
    "policy, paid_on, birth, proof, timing, start",
    [
        (BAIGONGSHAN, date(2021, 10, 10), ADULT, False, Timing.WINDOW, date(2022, 1, 1)),
        (BAIGONGSHAN, date(2021, 12, 31), ADULT, False, Timing.WINDOW, date(2022, 1, 1)),
        (BAIGONGSHAN, date(2022, 1, 15), ADULT, True, Timing.EXTENSION, date(2022, 1, 16)),  # the day after
        (BAIGONGSHAN, date(2022, 2, 28), ADULT, True, Timing.EXTENSION, date(2022, 3, 1)),
        (BAIGONGSHAN, date(2022, 5, 20), date(2022, 3, 1), False, Timing.NEWBORN, date(2022, 3, 1)),  # from birth
        (BAIGONGSHAN, date(2022, 1, 10), date(2021, 12, 20), False, Timing.NEWBORN, date(2022, 1, 1)),
        (ZAOZHUANG, date(2021, 12, 20), ADULT, False, Timing.WINDOW, date(2022, 1, 1)),
        (ZAOZHUANG, date(2021, 12, 25), ADULT, False, Timing.LATE, date(2022, 1, 24)),  # 30 days after
        (ZAOZHUANG, date(2022, 3, 1), ADULT, False, Timing.LATE, date(2022, 3, 31)),
        (NEIXIANG_2027, date(2026, 11, 23), ADULT, False, Timing.WINDOW, date(2027, 1, 1)),
    ],
)
def test_timing_and_benefit_start(policy, paid_on, birth, proof, timing, start):
    found = classify(policy, paid_on, birth, proof, subsidized=False)
    assert found is timing
    assert benefit_start(policy, found, paid_on, birth).day == start


@pytest.mark.parametrize(
    "policy, paid_on, birth, proof, code",
    [
        (BAIGONGSHAN, date(2021, 8, 31), ADULT, False, "WINDOW_NOT_OPEN"),
        (BAIGONGSHAN, date(2022, 1, 15), ADULT, False, "EXTENSION_PROOF_REQUIRED"),
        (BAIGONGSHAN, date(2022, 3, 1), ADULT, True, "WINDOW_CLOSED"),
        (NEIXIANG_2027, date(2027, 1, 1), ADULT, False, "WINDOW_CLOSED"),
        (ZAOZHUANG, date(2023, 1, 2), ADULT, False, "WINDOW_CLOSED"),  # the benefit year is over
    ],
)
def test_refused_timings_name_the_rule(policy, paid_on, birth, proof, code):
    with pytest.raises(TimingRefused) as refused:
        classify(policy, paid_on, birth, proof, subsidized=False)
    assert refused.value.problem.code == code


def test_expected_amounts():
    assert expected_amount(ZAOZHUANG, Timing.LATE, Decimal("140.00")) == Decimal("830.00")  # 280 + 550
    assert expected_amount(ZAOZHUANG, Timing.WINDOW, Decimal("140.00")) == Decimal("140.00")
    assert expected_amount(NEIXIANG_2027, Timing.WINDOW, Decimal("400.00"), back_years=2) == Decimal("1200.00")


@pytest.mark.parametrize(
    "history, breaks",
    [
        ({}, 0),  # nothing known: not presumed broken
        ({2026: True}, 0),
        ({2024: True, 2025: False, 2026: False}, 2),
        ({2024: True}, 2),  # a missing year after the last enrolled one is a break too
        ({2025: False, 2026: False}, 2),
        ({2021: True, 2026: False}, 5),
        ({2026: True, 2027: False}, 0),  # later years do not count
    ],
)
def test_break_years(history, breaks):
    assert break_years(2027, history) == breaks


@pytest.mark.parametrize(
    "year, timing, breaks, back, months",
    [
        (2024, Timing.WINDOW, 3, 0, 0),  # before the 2024 rules
        (2027, Timing.WINDOW, 0, 0, 0),  # continuous, central period
        (2027, Timing.WINDOW, 1, 0, 3),  # fixed 3
        (2027, Timing.WINDOW, 2, 0, 4),  # DOMAIN.md: 2025 and 2026 missed → 3 + 1
        (2027, Timing.WINDOW, 2, 1, 3),  # one back year paid removes the variable month
        (2027, Timing.WINDOW, 3, 5, 3),  # never below the fixed 3
        (2027, Timing.WINDOW, 4, 0, 6),
        (2027, Timing.WINDOW, 5, 0, 7),
        (2027, Timing.WINDOW, 5, 4, 6),  # a break of 4+ years keeps at least 6 after repair
        (2027, Timing.EXTENSION, 0, 0, 3),  # outside the central period
        (2027, Timing.NEWBORN, 5, 0, 0),  # newborns are exempt
    ],
)
def test_waiting_months(year, timing, breaks, back, months):
    assert waiting_months(year, timing, breaks, back) == months


def test_the_domain_example_benefits_from_may_first():
    """No enrolment in 2025 and 2026, pays for 2027 in the central period → 2027-05-01."""
    breaks = break_years(2027, {2024: True, 2025: False, 2026: False})
    start = benefit_start(NEIXIANG_2027, Timing.WINDOW, date(2026, 11, 1), ADULT, breaks)
    assert (start.day, start.waiting_months) == (date(2027, 5, 1), 4)


def test_extension_after_2025_waits_three_months_from_the_day_after_payment():
    with_extension = replace(NEIXIANG_2027, extension_end=date(2027, 2, 28))
    timing = classify(with_extension, date(2027, 1, 30), ADULT, False, subsidized=False)
    assert timing is Timing.EXTENSION
    assert benefit_start(with_extension, timing, date(2027, 1, 30), ADULT).day == date(2027, 4, 30)


def test_add_months_clamps_to_the_month_end():
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


# --- newborns (DOMAIN.md §9): the period in days or calendar months, and after it -------


@pytest.mark.parametrize(
    "policy, birth, last_day",
    [
        (BAIGONGSHAN, date(2022, 1, 31), date(2022, 4, 30)),  # "出生后的3个月内": three calendar months, clamped
        (BAIGONGSHAN, date(2021, 11, 30), date(2022, 2, 28)),
        (BAIGONGSHAN, date(2022, 3, 1), date(2022, 6, 1)),
        (BAIGONGSHAN, date(2023, 11, 30), date(2024, 2, 29)),  # a leap year's February
        (NEIXIANG_2023, date(2023, 1, 10), date(2023, 4, 10)),  # "出生后90天内": 90 days
        (NEIXIANG_2023, date(2022, 12, 28), date(2023, 3, 28)),
        (NEIXIANG_2023, date(2023, 1, 31), date(2023, 5, 1)),  # days, not months
    ],
)
def test_newborn_period_end(policy, birth, last_day):
    assert newborn_period_end(policy, birth) == last_day


REGISTERED = date(2023, 3, 20)  # 内乡: a late newborn is covered from its registration day


@pytest.mark.parametrize(
    "policy, paid_on, birth, registered, timing, start",
    [
        # 八公山: within 3 months from birth; afterwards "待遇自缴费次日起享受"
        (BAIGONGSHAN, date(2022, 4, 30), date(2022, 1, 31), None, Timing.NEWBORN, date(2022, 1, 31)),
        (BAIGONGSHAN, date(2022, 5, 1), date(2022, 1, 31), None, Timing.NEWBORN_LATE, date(2022, 5, 2)),
        (BAIGONGSHAN, date(2022, 6, 1), date(2022, 3, 1), None, Timing.NEWBORN, date(2022, 3, 1)),
        (BAIGONGSHAN, date(2022, 8, 1), date(2022, 3, 1), None, Timing.NEWBORN_LATE, date(2022, 8, 2)),
        (BAIGONGSHAN, date(2022, 12, 31), date(2022, 3, 1), None, Timing.NEWBORN_LATE, date(2023, 1, 1)),
        # born during the campaign: from 1 January inside the period; a late one needs no migrant's proof
        (BAIGONGSHAN, date(2022, 2, 28), date(2021, 11, 30), None, Timing.NEWBORN, date(2022, 1, 1)),
        (BAIGONGSHAN, date(2022, 3, 1), date(2021, 11, 30), None, Timing.NEWBORN_LATE, date(2022, 3, 2)),
        (BAIGONGSHAN, date(2022, 1, 15), date(2021, 10, 1), None, Timing.NEWBORN_LATE, date(2022, 1, 16)),
        # 内乡: within 90 days from birth; afterwards "自参保登记之日起享受"
        (NEIXIANG_2023, date(2023, 4, 10), date(2023, 1, 10), REGISTERED, Timing.NEWBORN, date(2023, 1, 10)),
        (NEIXIANG_2023, date(2023, 4, 11), date(2023, 1, 10), REGISTERED, Timing.NEWBORN_LATE, REGISTERED),
        (NEIXIANG_2023, date(2023, 4, 11), date(2023, 1, 10), date(2023, 4, 11), Timing.NEWBORN_LATE, date(2023, 4, 11)),
        # born at the end of 2022: pays for 2023 — in the window, or as a newborn from 1 January
        (NEIXIANG_2023, date(2022, 12, 30), date(2022, 12, 28), date(2022, 12, 29), Timing.WINDOW, date(2023, 1, 1)),
        (NEIXIANG_2023, date(2023, 3, 28), date(2022, 12, 28), date(2022, 12, 29), Timing.NEWBORN, date(2023, 1, 1)),
        (NEIXIANG_2023, date(2023, 3, 29), date(2022, 12, 28), date(2022, 12, 29), Timing.NEWBORN_LATE, date(2023, 1, 1)),
        (NEIXIANG_2023, date(2023, 3, 29), date(2022, 12, 28), date(2023, 2, 1), Timing.NEWBORN_LATE, date(2023, 2, 1)),
        # 枣庄 has no late newborn rule: a newborn after 90 days is a late payer like anyone
        (ZAOZHUANG, date(2022, 5, 3), date(2022, 2, 1), None, Timing.LATE, date(2022, 6, 2)),
        # from 2025 a late newborn is outside the central period: 3 months' wait from its start
        (NEIXIANG_2027, date(2027, 4, 20), date(2027, 1, 10), date(2027, 4, 15), Timing.NEWBORN_LATE, date(2027, 7, 15)),
        (NEIXIANG_2027, date(2027, 4, 10), date(2027, 1, 10), date(2027, 4, 15), Timing.NEWBORN, date(2027, 1, 10)),
    ],
)
def test_newborn_timing_and_benefit_start(policy, paid_on, birth, registered, timing, start):
    found = classify(policy, paid_on, birth, False, subsidized=False)
    assert found is timing
    assert benefit_start(policy, found, paid_on, birth, registered_on=registered).day == start


def test_late_newborns_stop_with_the_benefit_year():
    with pytest.raises(TimingRefused) as refused:
        classify(BAIGONGSHAN, date(2023, 1, 2), date(2022, 3, 1), False, subsidized=False)
    assert refused.value.problem.code == "WINDOW_CLOSED"


def test_a_late_newborn_under_the_registration_rule_needs_the_registration_day():
    with pytest.raises(ValueError):
        benefit_start(NEIXIANG_2023, Timing.NEWBORN_LATE, date(2023, 4, 11), date(2023, 1, 10))


def test_a_newborn_pays_its_amount_due_in_or_after_its_period():
    for timing in (Timing.NEWBORN, Timing.NEWBORN_LATE):
        assert expected_amount(BAIGONGSHAN, timing, Decimal("320.00")) == Decimal("320.00")


@pytest.mark.parametrize(
    "year, timing, breaks, months",
    [
        (2027, Timing.NEWBORN, 0, 0),
        (2027, Timing.NEWBORN_LATE, 0, 3),  # outside the central period
        (2027, Timing.GRACE, 0, 0),  # the window prolonged for subsidised persons
        (2027, Timing.GRACE, 2, 4),
        (2023, Timing.NEWBORN_LATE, 0, 0),  # before the 2024 rules
    ],
)
def test_waiting_months_of_the_new_timings(year, timing, breaks, months):
    assert waiting_months(year, timing, breaks) == months


# --- 枣庄: "政府资助人员可延长1个月" ---------------------------------------------------------


def test_grace_ends_one_month_after_the_window():
    assert grace_end(ZAOZHUANG) == date(2022, 1, 20)
    assert grace_end(BAIGONGSHAN) is None


@pytest.mark.parametrize(
    "paid_on, subsidized, timing, start, amount",
    [
        (date(2021, 12, 20), True, Timing.WINDOW, date(2022, 1, 1), "140.00"),
        (date(2021, 12, 21), True, Timing.GRACE, date(2022, 1, 1), "140.00"),  # the subsidised amount, as in the window
        (date(2022, 1, 20), True, Timing.GRACE, date(2022, 1, 1), "140.00"),  # the grace month's last day
        (date(2022, 1, 21), True, Timing.LATE, date(2022, 2, 20), "830.00"),  # then the late rule: 280 + 550, 30 days
        (date(2021, 12, 21), False, Timing.LATE, date(2022, 1, 20), "830.00"),  # no subsidy, no grace
    ],
)
def test_zaozhuang_subsidised_persons_pay_one_month_longer(paid_on, subsidized, timing, start, amount):
    found = classify(ZAOZHUANG, paid_on, ADULT, False, subsidized=subsidized)
    assert found is timing
    assert benefit_start(ZAOZHUANG, found, paid_on, ADULT).day == start
    assert expected_amount(ZAOZHUANG, found, Decimal("140.00")) == Decimal(amount)


def test_grace_comes_before_an_extension_that_needs_proof():
    both = replace(BAIGONGSHAN, subsidized_grace_months=1)  # grace to 2022-01-31, extension to 02-28 with proof
    assert classify(both, date(2022, 1, 31), ADULT, False, subsidized=True) is Timing.GRACE
    with pytest.raises(TimingRefused):
        classify(both, date(2022, 2, 1), ADULT, False, subsidized=True)
