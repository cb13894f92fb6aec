"""The year policy as data (DOMAIN.md §4): the seed files load, and bad policies are refused."""
import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from domain.policy.files import PolicyFormatError, policy_from_dict, policy_to_dict
from domain.policy.rules import (
    FunderShare,
    LateRule,
    NewbornLateRule,
    SubsidyCategory,
    SubsidyMode,
    SubsidyRule,
    YearPolicy,
    validate_policy,
)
from tenants.kinds import DepartmentCode
from tests.support import chinese

POLICIES = Path(__file__).resolve().parent.parent / "examples" / "policies"
ALL_DEPARTMENTS = set(DepartmentCode)
SEED_FILES = sorted(POLICIES.glob("*.json"))


def load(name: str) -> YearPolicy:
    return policy_from_dict(json.loads((POLICIES / name).read_text(encoding="utf-8")))


def category(code: str = "dibao", **changes) -> SubsidyCategory:
    base = SubsidyCategory(
        code=code,
        name="低保对象",
        owner=DepartmentCode.CIVIL_AFFAIRS,
        rule=SubsidyRule.PERCENT,
        value=Decimal("90"),
        mode=SubsidyMode.DEDUCT,
    )
    return replace(base, **changes)


def policy(*categories: SubsidyCategory, **changes) -> YearPolicy:
    base = YearPolicy(
        year=2022,
        standard=Decimal("320.00"),
        fiscal_subsidy=None,
        window_start=date(2021, 9, 1),
        window_end=date(2021, 12, 31),
        categories=categories or (category(),),
    )
    return replace(base, **changes)


def codes(problems) -> list[tuple[str, list[str]]]:
    return [(p.code, p.field) for p in problems]


# --- the seed files ---------------------------------------------------------


def test_all_seed_files_are_present():
    names = {p.name for p in SEED_FILES}
    assert names == {
        "baigongshan-2022.json",
        "baqiao-2022.json",
        "shuangpai-2022.json",
        "neixiang-2023.json",
        "neixiang-2027.json",
        "zaozhuang-2022.json",
    }


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.stem)
def test_seed_file_loads_validates_and_round_trips(path):
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert set(raw["tenant"]) == {"code", "name"} and raw["source"]
    loaded = policy_from_dict(raw)
    assert validate_policy(loaded, ALL_DEPARTMENTS) == []
    assert policy_from_dict(policy_to_dict(loaded)) == loaded
    for c in loaded.categories:
        assert c.code.isascii() and c.name


@pytest.mark.parametrize(
    ("name", "year", "standard", "start", "end", "extension", "categories"),
    [
        ("baigongshan-2022.json", 2022, "320", date(2021, 9, 1), date(2021, 12, 31), date(2022, 2, 28), 4),
        ("baqiao-2022.json", 2022, "320", date(2021, 10, 15), date(2021, 12, 31), None, 0),
        ("shuangpai-2022.json", 2022, "320", date(2021, 9, 21), date(2021, 12, 31), date(2022, 2, 28), 10),
        ("neixiang-2023.json", 2023, "350", date(2022, 10, 15), date(2022, 12, 31), None, 4),
        ("zaozhuang-2022.json", 2022, "280", date(2021, 11, 1), date(2021, 12, 20), None, 11),
        ("neixiang-2027.json", 2027, "400", date(2026, 9, 1), date(2026, 12, 31), None, 4),
    ],
)
def test_seed_numbers(name, year, standard, start, end, extension, categories):
    p = load(name)
    assert (p.year, p.standard, p.window_start, p.window_end, p.extension_end) == (
        year, Decimal(standard), start, end, extension,
    )
    assert len(p.categories) == categories


def test_seed_details():
    baigongshan = load("baigongshan-2022.json")
    assert baigongshan.extension_needs_proof and baigongshan.list_cutoff == date(2021, 12, 15)
    neixiang = load("neixiang-2023.json")
    assert neixiang.refund_claim_deadline == date(2023, 1, 31)
    assert neixiang.list_cutoff == date(2022, 12, 31)
    assert (neixiang.remit_days, neixiang.remit_amount) == (5, Decimal("10000"))
    zaozhuang = load("zaozhuang-2022.json")
    assert zaozhuang.late_rule is LateRule.FULL_COST_WAIT and zaozhuang.late_wait_days == 30
    assert zaozhuang.fiscal_subsidy == Decimal("550")
    assert zaozhuang.reference_date == date(2022, 1, 1)
    age60 = zaozhuang.category("age60")
    assert age60 and age60.age_based and (age60.min_age, age60.max_age) == (60, 69)
    assert age60.owner is DepartmentCode.MEDICAL_SECURITY
    one_child = zaozhuang.category("dushengzinv")
    assert one_child and [f.percent for f in one_child.funders] == [Decimal(50), Decimal(50)]
    assert zaozhuang.subsidized_grace_months == 1  # "政府资助人员可延长1个月"


@pytest.mark.parametrize(
    ("name", "days", "months", "late_rule", "exemption"),
    [
        ("baigongshan-2022.json", None, 3, NewbornLateRule.DAY_AFTER_PAYMENT, False),  # "出生后的3个月内"
        ("neixiang-2023.json", 90, None, NewbornLateRule.REGISTRATION_DAY, True),  # "出生后90天内"
        ("neixiang-2027.json", 90, None, NewbornLateRule.REGISTRATION_DAY, True),
        ("zaozhuang-2022.json", 90, None, NewbornLateRule.GENERAL, False),
        ("shuangpai-2022.json", 90, None, NewbornLateRule.GENERAL, False),
    ],
)
def test_seed_newborn_rules(name, days, months, late_rule, exemption):
    p = load(name)
    assert (p.newborn_days, p.newborn_months, p.newborn_late_rule, p.newborn_parent_exemption) == (
        days, months, late_rule, exemption,
    )


def test_reference_date_defaults_to_first_of_january():
    assert policy().reference_date == date(2022, 1, 1)
    assert policy(age_reference_date=date(2022, 12, 31)).reference_date == date(2022, 12, 31)


# --- validation -------------------------------------------------------------


def test_valid_policy_has_no_problems():
    assert validate_policy(policy(), ALL_DEPARTMENTS) == []


def test_a_newborn_period_in_months_alone_is_valid():
    assert validate_policy(policy(newborn_days=None, newborn_months=3), ALL_DEPARTMENTS) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"standard": Decimal("0")}, ("INVALID_STANDARD", ["standard"])),
        ({"standard": Decimal("-320")}, ("INVALID_STANDARD", ["standard"])),
        ({"standard": Decimal("320.005")}, ("INVALID_STANDARD", ["standard"])),
        ({"standard": Decimal("NaN")}, ("INVALID_STANDARD", ["standard"])),
        ({"fiscal_subsidy": Decimal("-1")}, ("INVALID_FISCAL_SUBSIDY", ["fiscalSubsidy"])),
        ({"late_rule": LateRule.FULL_COST_WAIT}, ("MISSING_FISCAL_SUBSIDY", ["fiscalSubsidy"])),
        ({"window_end": date(2021, 8, 31)}, ("INVALID_WINDOW", ["windowEnd"])),
        # the 枣庄 seed's typo: a 2022 policy whose window starts in 2020
        ({"window_start": date(2020, 11, 1)}, ("INVALID_WINDOW", ["windowStart"])),
        ({"extension_end": date(2021, 12, 30)}, ("INVALID_WINDOW", ["extensionEnd"])),
        ({"list_cutoff": date(2022, 1, 1)}, ("INVALID_WINDOW", ["listCutoff"])),
        ({"refund_claim_deadline": date(2021, 12, 1)}, ("INVALID_WINDOW", ["refundClaimDeadline"])),
        ({"remit_days": 0}, ("INVALID_REMIT_RULE", ["remitDays"])),
        ({"remit_amount": Decimal("0")}, ("INVALID_REMIT_RULE", ["remitAmount"])),
        ({"newborn_days": 0}, ("INVALID_NEWBORN_DAYS", ["newbornDays"])),
        ({"newborn_days": 367}, ("INVALID_NEWBORN_DAYS", ["newbornDays"])),
        # the period in days or in months: never both, never neither
        ({"newborn_months": 3}, ("INVALID_NEWBORN_PERIOD", ["newbornMonths"])),
        ({"newborn_days": None}, ("INVALID_NEWBORN_PERIOD", ["newbornDays"])),
        ({"newborn_days": None, "newborn_months": 0}, ("INVALID_NEWBORN_PERIOD", ["newbornMonths"])),
        ({"newborn_days": None, "newborn_months": 13}, ("INVALID_NEWBORN_PERIOD", ["newbornMonths"])),
        ({"subsidized_grace_months": -1}, ("INVALID_GRACE_MONTHS", ["subsidizedGraceMonths"])),
        ({"subsidized_grace_months": 13}, ("INVALID_GRACE_MONTHS", ["subsidizedGraceMonths"])),
        ({"year": 1999}, ("INVALID_YEAR", ["year"])),
    ],
)
def test_policy_level_problems(changes, expected):
    problems = validate_policy(policy(**changes), ALL_DEPARTMENTS)
    assert expected in codes(problems)


def test_list_cutoff_may_reach_the_extension_end():
    ok = policy(extension_end=date(2022, 2, 28), list_cutoff=date(2022, 1, 15))
    assert validate_policy(ok, ALL_DEPARTMENTS) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"value": Decimal("0")}, ("INVALID_SUBSIDY_VALUE", "value")),
        ({"value": Decimal("100.01")}, ("INVALID_SUBSIDY_VALUE", "value")),
        ({"value": None}, ("INVALID_SUBSIDY_VALUE", "value")),
        ({"value": Decimal("NaN")}, ("INVALID_SUBSIDY_VALUE", "value")),
        ({"rule": SubsidyRule.FIXED, "value": Decimal("0")}, ("INVALID_SUBSIDY_VALUE", "value")),
        ({"rule": SubsidyRule.FIXED, "value": Decimal("320.01")}, ("INVALID_SUBSIDY_VALUE", "value")),
        ({"rule": SubsidyRule.FIXED, "value": Decimal("80.001")}, ("INVALID_SUBSIDY_VALUE", "value")),
        ({"rule": SubsidyRule.FULL, "value": Decimal("90")}, ("INVALID_SUBSIDY_VALUE", "value")),
        ({"min_age": 70, "max_age": 60}, ("INVALID_AGE_RANGE", "maxAge")),
        ({"min_age": -1}, ("INVALID_AGE_RANGE", "minAge")),
        ({"max_age": 151}, ("INVALID_AGE_RANGE", "maxAge")),
        ({"name": "  "}, ("INVALID_CATEGORY_NAME", "name")),
        ({"owner": DepartmentCode.VETERANS}, ("UNKNOWN_DEPARTMENT", "owner")),
        (
            {"funders": (FunderShare("city", Decimal(50)), FunderShare("township", Decimal(40)))},
            ("INVALID_FUNDER_SHARES", "funders"),
        ),
        (
            {"funders": (FunderShare("city", Decimal(100)), FunderShare("township", Decimal(0)))},
            ("INVALID_FUNDER_SHARES", "funders"),
        ),
        (
            {"funders": (FunderShare("city", Decimal(50)), FunderShare("city", Decimal(50)))},
            ("INVALID_FUNDER_SHARES", "funders"),
        ),
    ],
)
def test_category_problems_name_the_category(changes, expected):
    departments = {DepartmentCode.CIVIL_AFFAIRS, DepartmentCode.RURAL_REVITALIZATION}
    bad = category("dibao", **changes)
    problems = validate_policy(policy(category("tekun", rule=SubsidyRule.FULL, value=None), bad), departments)
    code, field = expected
    assert (code, ["categories", "1", field]) in codes(problems)
    assert all(p.params["category"] == "dibao" for p in problems)
    assert all("资助类别 dibao" in chinese(p) for p in problems)


@pytest.mark.parametrize(
    ("value", "ok"),
    [(Decimal("100"), True), (Decimal("0.5"), True), (Decimal("50"), True), (Decimal("-5"), False)],
)
def test_percent_bounds(value, ok):
    assert (validate_policy(policy(category(value=value)), ALL_DEPARTMENTS) == []) is ok


def test_fixed_equal_to_standard_is_allowed():
    fixed = category(rule=SubsidyRule.FIXED, value=Decimal("320"))
    assert validate_policy(policy(fixed), ALL_DEPARTMENTS) == []


def test_funder_shares_summing_to_100_are_allowed():
    split = category(funders=(FunderShare("city", Decimal("33.33")), FunderShare("township", Decimal("66.67"))))
    assert validate_policy(policy(split), ALL_DEPARTMENTS) == []


def test_duplicate_and_empty_codes():
    problems = validate_policy(
        policy(category("dibao"), category("dibao"), category(""), category("di bao")), ALL_DEPARTMENTS
    )
    assert codes(problems) == [
        ("DUPLICATE_CATEGORY_CODE", ["categories", "1", "code"]),
        ("INVALID_CATEGORY_CODE", ["categories", "2", "code"]),
        ("INVALID_CATEGORY_CODE", ["categories", "3", "code"]),
    ]
    assert problems[1].params["category"] == "#3"


def test_all_problems_are_reported_at_once():
    bad = policy(
        category("a", value=Decimal("200")),
        category("b", owner=DepartmentCode.HEALTH),
        standard=Decimal("0"),
        window_end=date(2021, 1, 1),
    )
    found = {p.code for p in validate_policy(bad, {DepartmentCode.CIVIL_AFFAIRS})}
    assert found == {"INVALID_STANDARD", "INVALID_WINDOW", "INVALID_SUBSIDY_VALUE", "UNKNOWN_DEPARTMENT"}


# --- the file format ----------------------------------------------------------


def minimal() -> dict:
    return {
        "year": 2023,
        "standard": "350.00",
        "windowStart": "2022-10-15",
        "windowEnd": "2022-12-31",
        "categories": [
            {"code": "tekun", "name": "特困", "owner": "CIVIL_AFFAIRS", "rule": "FULL", "mode": "AUTO_ENROLL"},
            {"code": "dibao", "name": "低保", "owner": "CIVIL_AFFAIRS", "rule": "FIXED", "value": 80, "mode": "REIMBURSE"},
        ],
    }


def test_minimal_file_takes_defaults():
    p = policy_from_dict(minimal())
    assert p.fiscal_subsidy is None and p.extension_end is None and not p.extension_needs_proof
    assert p.late_rule is LateRule.REFUSED and p.late_wait_days == 30
    assert (p.remit_days, p.remit_amount, p.newborn_days, p.newborn_months) == (5, Decimal("10000"), 90, None)
    assert (p.newborn_late_rule, p.newborn_parent_exemption, p.subsidized_grace_months) == (NewbornLateRule.GENERAL, False, 0)
    assert p.categories[1].value == Decimal("80")
    assert validate_policy(p, ALL_DEPARTMENTS) == []


def test_to_dict_writes_money_as_strings():
    d = policy_to_dict(policy_from_dict(minimal()))
    assert d["standard"] == "350.00"
    assert d["windowStart"] == "2022-10-15"
    assert d["categories"][1]["value"] == "80.00"
    assert d["categories"][0]["value"] is None
    json.dumps(d)  # plain JSON, no Decimal or date left


def _broken(path: list, value) -> dict:
    d = minimal()
    target = d
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return d


@pytest.mark.parametrize(
    ("path", "value", "key"),
    [
        (["year"], KeyError, "year"),
        (["year"], "2023", "year"),
        (["year"], True, "year"),
        (["standard"], "abc", "standard"),
        (["standard"], [], "standard"),
        (["windowStart"], "2022/10/15", "windowStart"),
        (["windowEnd"], None, "windowEnd"),
        (["lateRule"], "LATER", "lateRule"),
        (["windwoStart"], "2022-10-15", "windwoStart"),
        (["categories"], {}, "categories"),
        (["categories", 1, "rule"], "HALF", "categories[1].rule"),
        (["categories", 1, "owner"], "POLICE", "categories[1].owner"),
        (["categories", 0, "code"], KeyError, "categories[0].code"),
        (["categories", 0, "minAge"], "60", "categories[0].minAge"),
        (["categories", 0, "colour"], "red", "categories[0].colour"),
        (["categories", 0, "funders"], [{"funder": "city"}], "categories[0].funders[0].percent"),
    ],
)
def test_malformed_files_name_the_key(path, value, key):
    with pytest.raises(PolicyFormatError) as caught:
        policy_from_dict(_broken(path, value))
    assert caught.value.key == key
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(key)
