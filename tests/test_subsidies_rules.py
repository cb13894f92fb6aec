"""The subsidy rules against the seed numbers (DOMAIN.md §4), from examples/policies/*.json."""
import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

from domain.enrollment.rules import (
    EnrollmentStatus,
    amount_due,
    applicable_categories,
    choose_subsidy,
    recognized_in_time,
)
from domain.persons.rules import age_at
from domain.policy.files import policy_from_dict
from domain.policy.rules import (
    FunderShare,
    LateRule,
    SubsidyCategory,
    SubsidyMode,
    SubsidyRule,
    YearPolicy,
    category_amount,
    funder_split,
    late_amount,
)
from tenants.kinds import DepartmentCode

POLICIES = Path(__file__).resolve().parent.parent / "examples" / "policies"
ADULT = date(1980, 5, 17)  # 41 in 2022: no age category anywhere
UNPAID, SUBSIDIZED = EnrollmentStatus.UNPAID, EnrollmentStatus.SUBSIDIZED
D = Decimal


@cache
def load(name: str) -> YearPolicy:
    return policy_from_dict(json.loads((POLICIES / f"{name}.json").read_text(encoding="utf-8")))


def born_aged(age: int) -> date:
    """Born on 1 June, so `age` completed years on 1 January 2022 (枣庄's reference date)."""
    born = date(2022 - age - 1, 6, 1)
    assert age_at(born, date(2022, 1, 1)) == age
    return born


# --- the seed table -------------------------------------------------------------


# The seed table: (policy file, lists the person is on, birth date) → status, amount due,
# the category that applies, its subsidy and mode, what is paid back afterwards.
# tests/test_amount_due_sql.py runs the same table through the SQL recompute.
SEED_CASES = [
    # 八公山 2022: 320, 低保 90% deducted → 32 due; 特困 fully funded and enrolled at import
    ("baigongshan-2022", {"dibao"}, ADULT, UNPAID, "32.00", "dibao", "288.00", SubsidyMode.DEDUCT, "0.00"),
    ("baigongshan-2022", {"tuopin"}, ADULT, UNPAID, "32.00", "tuopin", "288.00", SubsidyMode.DEDUCT, "0.00"),
    ("baigongshan-2022", {"tekun"}, ADULT, SUBSIDIZED, "0.00", "tekun", "320.00", SubsidyMode.AUTO_ENROLL, "0.00"),
    ("baigongshan-2022", {"dibao", "tekun"}, ADULT, SUBSIDIZED, "0.00", "tekun", "320.00", SubsidyMode.AUTO_ENROLL, "0.00"),
    ("baigongshan-2022", set(), ADULT, UNPAID, "320.00", None, "0.00", None, "0.00"),
    # 双牌 2022: 先缴后补 — pay 320, get 160 back
    ("shuangpai-2022", {"dibao"}, ADULT, UNPAID, "320.00", "dibao", "160.00", SubsidyMode.REIMBURSE, "160.00"),
    ("shuangpai-2022", {"jiance_tufa"}, ADULT, UNPAID, "320.00", "jiance_tufa", "160.00", SubsidyMode.REIMBURSE, "160.00"),
    ("shuangpai-2022", {"dibao", "guer"}, ADULT, SUBSIDIZED, "0.00", "guer", "320.00", SubsidyMode.AUTO_ENROLL, "0.00"),
    # 双牌 重点优抚: FULL DEDUCT (our configurable choice) → nothing to collect
    ("shuangpai-2022", {"youfu"}, ADULT, SUBSIDIZED, "0.00", "youfu", "320.00", SubsidyMode.DEDUCT, "0.00"),
    # 内乡 2023: pay 350, get 80 back; 特困 not collected
    ("neixiang-2023", {"tuopin"}, ADULT, UNPAID, "350.00", "tuopin", "80.00", SubsidyMode.REIMBURSE, "80.00"),
    ("neixiang-2023", {"tekun"}, ADULT, SUBSIDIZED, "0.00", "tekun", "350.00", SubsidyMode.AUTO_ENROLL, "0.00"),
    # 就高不就低 … 补贴一次: two 80-yuan identities still give 80 once
    ("neixiang-2023", {"dibao", "jiance", "tuopin"}, ADULT, UNPAID, "350.00", "dibao", "80.00", SubsidyMode.REIMBURSE, "80.00"),
    ("neixiang-2027", {"dibao"}, ADULT, UNPAID, "400.00", "dibao", "90.00", SubsidyMode.REIMBURSE, "90.00"),
    # 枣庄 2022: ages at 1 January 2022, no list needed
    ("zaozhuang-2022", set(), born_aged(66), UNPAID, "140.00", "age60", "140.00", SubsidyMode.DEDUCT, "0.00"),
    ("zaozhuang-2022", set(), born_aged(71), SUBSIDIZED, "0.00", "age70", "280.00", SubsidyMode.DEDUCT, "0.00"),
    ("zaozhuang-2022", set(), born_aged(59), UNPAID, "280.00", None, "0.00", None, "0.00"),
    ("zaozhuang-2022", set(), born_aged(60), UNPAID, "140.00", "age60", "140.00", SubsidyMode.DEDUCT, "0.00"),
    ("zaozhuang-2022", set(), born_aged(69), UNPAID, "140.00", "age60", "140.00", SubsidyMode.DEDUCT, "0.00"),
    ("zaozhuang-2022", set(), born_aged(70), SUBSIDIZED, "0.00", "age70", "280.00", SubsidyMode.DEDUCT, "0.00"),
    # a 66-year-old on the 低保 list gets the full subsidy, once
    ("zaozhuang-2022", {"dibao"}, born_aged(66), SUBSIDIZED, "0.00", "dibao", "280.00", SubsidyMode.DEDUCT, "0.00"),
    # listing someone in an age category counts for nothing: ages are computed
    ("zaozhuang-2022", {"age70"}, ADULT, UNPAID, "280.00", None, "0.00", None, "0.00"),
]


@pytest.mark.parametrize(("policy", "listed", "birth", "status", "due", "chosen", "subsidy", "mode", "reimbursement"), SEED_CASES)
def test_seed_assessments(policy, listed, birth, status, due, chosen, subsidy, mode, reimbursement):
    result = amount_due(load(policy), listed, birth)
    assert result.status_if_unpaid is status
    assert result.amount_due == D(due) and str(result.amount_due) == due
    assert result.subsidy_category == chosen
    assert result.subsidy_amount == D(subsidy)
    assert result.subsidy_mode is mode
    assert result.reimbursement_due == D(reimbursement)


def test_considered_lists_every_candidate_best_first():
    result = amount_due(load("baigongshan-2022"), {"dibao", "tekun", "tuopin"}, ADULT)
    assert result.considered == [("tekun", D("320.00")), ("dibao", D("288.00")), ("tuopin", D("288.00"))]
    older = amount_due(load("zaozhuang-2022"), {"dibao"}, born_aged(66))
    assert [code for code, _ in older.considered] == ["dibao", "age60"]


def test_unknown_listed_codes_are_ignored():
    assert amount_due(load("neixiang-2023"), {"nonexistent"}, ADULT).subsidy_category is None


# --- age --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(1955, 6, 1), date(2022, 1, 1), 66),
        (date(1952, 1, 1), date(2022, 1, 1), 70),  # birthday on the reference date counts
        (date(1952, 1, 2), date(2022, 1, 1), 69),
        (date(1960, 2, 29), date(2022, 2, 28), 61),
        (date(1960, 2, 29), date(2022, 3, 1), 62),
        (date(2022, 1, 1), date(2022, 1, 1), 0),
    ],
)
def test_age_at(birth, on, age):
    assert age_at(birth, on) == age


def test_age_at_before_birth_is_an_error():
    with pytest.raises(ValueError):
        age_at(date(2022, 3, 1), date(2022, 1, 1))


def test_newborn_after_reference_date_gets_no_age_category():
    assert applicable_categories(load("zaozhuang-2022"), set(), date(2022, 3, 1)) == []
    assert applicable_categories(load("zaozhuang-2022"), set(), None) == []


def test_age_reference_date_is_configurable():
    # born 1952-06-01: 69 on 1 January 2022, 70 on 31 December 2022
    later = replace(load("zaozhuang-2022"), age_reference_date=date(2022, 12, 31))
    assert amount_due(load("zaozhuang-2022"), set(), date(1952, 6, 1)).subsidy_category == "age60"
    assert amount_due(later, set(), date(1952, 6, 1)).subsidy_category == "age70"


# --- amounts ----------------------------------------------------------------------


def cat(code: str, rule: SubsidyRule, value: str | None, mode: SubsidyMode = SubsidyMode.DEDUCT) -> SubsidyCategory:
    return SubsidyCategory(code, code, DepartmentCode.CIVIL_AFFAIRS, rule, D(value) if value else None, mode)


@pytest.mark.parametrize(
    ("rule", "value", "standard", "amount"),
    [
        (SubsidyRule.FULL, None, "320", "320.00"),
        (SubsidyRule.PERCENT, "90", "320", "288.00"),
        (SubsidyRule.PERCENT, "50", "280", "140.00"),
        (SubsidyRule.PERCENT, "33.333", "100", "33.33"),
        (SubsidyRule.PERCENT, "12.5", "0.20", "0.03"),  # 0.025 → 0.03, half up
        (SubsidyRule.FIXED, "80", "350", "80.00"),
        (SubsidyRule.FIXED, "500", "350", "350.00"),  # never more than the standard
    ],
)
def test_category_amount(rule, value, standard, amount):
    result = category_amount(cat("x", rule, value), D(standard))
    assert result == D(amount) and str(result) == amount


# --- the tie order ----------------------------------------------------------------


def base_policy(*categories: SubsidyCategory) -> YearPolicy:
    return YearPolicy(2022, D("320"), None, date(2021, 9, 1), date(2021, 12, 31), categories=categories)


@pytest.mark.parametrize(
    ("candidates", "winner"),
    [
        # 1. higher amount wins, whatever the mode
        ([cat("a", SubsidyRule.PERCENT, "90", SubsidyMode.AUTO_ENROLL), cat("b", SubsidyRule.FULL, None, SubsidyMode.REIMBURSE)], "b"),
        ([cat("a", SubsidyRule.FIXED, "80"), cat("b", SubsidyRule.PERCENT, "50")], "b"),
        # 2. same amount: AUTO_ENROLL > DEDUCT > REIMBURSE
        ([cat("a", SubsidyRule.FULL, None, SubsidyMode.REIMBURSE), cat("b", SubsidyRule.FULL, None, SubsidyMode.DEDUCT)], "b"),
        ([cat("a", SubsidyRule.FULL, None, SubsidyMode.DEDUCT), cat("b", SubsidyRule.FULL, None, SubsidyMode.AUTO_ENROLL)], "b"),
        # same amount written two ways (FIXED 160 and 50%) still ties on amount
        ([cat("a", SubsidyRule.FIXED, "160", SubsidyMode.REIMBURSE), cat("b", SubsidyRule.PERCENT, "50", SubsidyMode.DEDUCT)], "b"),
        # 3. same amount and mode: code alphabetically, whatever the list order
        ([cat("zz", SubsidyRule.FULL, None), cat("aa", SubsidyRule.FULL, None)], "aa"),
        ([cat("aa", SubsidyRule.FULL, None), cat("zz", SubsidyRule.FULL, None)], "aa"),
    ],
)
def test_choose_subsidy_order(candidates, winner):
    chosen = choose_subsidy(base_policy(*candidates), candidates)
    assert chosen is not None and chosen.code == winner
    assert choose_subsidy(base_policy(*candidates), list(reversed(candidates))).code == winner


def test_choose_subsidy_of_nothing():
    assert choose_subsidy(base_policy(), []) is None


@pytest.mark.parametrize(
    ("category", "status", "due", "reimbursement"),
    [
        # AUTO_ENROLL with a partial amount behaves like DEDUCT
        (cat("p", SubsidyRule.PERCENT, "90", SubsidyMode.AUTO_ENROLL), UNPAID, "32.00", "0.00"),
        (cat("f", SubsidyRule.FULL, None, SubsidyMode.AUTO_ENROLL), SUBSIDIZED, "0.00", "0.00"),
        # DEDUCT full leaves nothing to collect: SUBSIDIZED, the same as AUTO_ENROLL full
        (cat("d", SubsidyRule.FULL, None, SubsidyMode.DEDUCT), SUBSIDIZED, "0.00", "0.00"),
        (cat("x", SubsidyRule.FIXED, "320", SubsidyMode.DEDUCT), SUBSIDIZED, "0.00", "0.00"),
        # REIMBURSE full: pay first, everything back later
        (cat("r", SubsidyRule.FULL, None, SubsidyMode.REIMBURSE), UNPAID, "320.00", "320.00"),
    ],
)
def test_status_follows_the_amount_due(category, status, due, reimbursement):
    result = amount_due(base_policy(category), {category.code}, ADULT)
    assert (result.status_if_unpaid, result.amount_due, result.reimbursement_due) == (status, D(due), D(reimbursement))


# --- list cutoff, late payers ---------------------------------------------------------


@pytest.mark.parametrize(
    ("recognized_on", "counts"),
    [(date(2022, 11, 1), True), (date(2022, 12, 31), True), (date(2023, 1, 5), False), (None, True)],
)
def test_recognized_in_time_neixiang(recognized_on, counts):
    assert recognized_in_time(load("neixiang-2023"), recognized_on) is counts


def test_no_cutoff_means_always_in_time():
    assert recognized_in_time(load("shuangpai-2022"), date(2022, 2, 1))


def test_late_amount():
    assert late_amount(load("zaozhuang-2022")) == D("830.00")
    assert late_amount(load("neixiang-2023")) is None
    assert late_amount(replace(load("zaozhuang-2022"), late_rule=LateRule.REFUSED)) is None


# --- funders ---------------------------------------------------------------------------


def test_zaozhuang_one_child_families_split_between_city_and_township():
    one_child = load("zaozhuang-2022").category("dushengzinv")
    assert one_child is not None
    assert funder_split(one_child, D("280.00")) == [("city", D("140.00")), ("township", D("140.00"))]


@pytest.mark.parametrize(
    ("shares", "amount", "expected"),
    [
        (("50", "50"), "280.01", ["140.01", "140.00"]),  # the odd cent goes to the first funder
        (("50", "50"), "0.01", ["0.01", "0.00"]),
        (("33.33", "33.33", "33.34"), "100.00", ["33.33", "33.33", "33.34"]),
        (("33.33", "33.33", "33.34"), "1.00", ["0.34", "0.33", "0.33"]),
        (("100",), "320", ["320.00"]),
    ],
)
def test_funder_split_adds_up_exactly(shares, amount, expected):
    funders = tuple(FunderShare(f"f{i}", D(s)) for i, s in enumerate(shares))
    category = replace(cat("x", SubsidyRule.FULL, None), funders=funders)
    split = funder_split(category, D(amount))
    assert [share for _, share in split] == [D(e) for e in expected]
    assert sum(share for _, share in split) == D(amount)
    assert [name for name, _ in split] == [f"f{i}" for i in range(len(shares))]


def test_funder_split_without_funders_is_empty():
    assert funder_split(cat("x", SubsidyRule.FULL, None), D("280")) == []
