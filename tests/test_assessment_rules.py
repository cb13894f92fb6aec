"""The assessment rules as pure functions, with the seeds' formulas and hand-computed amounts."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from domain.policy.files import PolicyFormatError, policy_from_dict
from domain.progress.assessment import (
    AssessmentRules,
    Count,
    MissingFrom,
    RewardTier,
    Shortfall,
    assess_unit,
    reached,
    required,
    validate_rules,
)
from domain.progress.files import rules_from_dict, rules_to_dict

POLICIES = Path(__file__).resolve().parent.parent / "examples" / "policies"
DEC31, FEB28 = date(2021, 12, 31), date(2022, 2, 28)


def seed_rules(name: str) -> AssessmentRules:
    rules = policy_from_dict(json.loads((POLICIES / name).read_text(encoding="utf-8"))).assessment
    assert rules is not None
    return rules


SHUANGPAI = seed_rules("shuangpai-2022.json")
NEIXIANG = seed_rules("neixiang-2023.json")


def counts(final: int, **by_day: int):
    """counts(final, dec31=…, feb28=…) → the `counts(day)` callback of `assess`."""
    days = {DEC31: by_day.get("dec31", 0), FEB28: by_day.get("feb28", 0)}
    return lambda day: Count(final) if day is None else Count(days[day], day)


def amounts(result) -> list[tuple[str, Decimal]]:
    return [(line.code, line.amount) for line in result.lines]


# 双牌 2022: ≥ 96.5% by 12-31 → 1.5 元/人; by 02-28 → 1 元/人; else −1.5 元 per person short.
@pytest.mark.parametrize(
    ("target", "dec31", "feb28", "expected", "net"),
    [
        # 97.0% by 12-31: 1.5 × 9,700
        (10_000, 9_700, 9_800, [("TIER", Decimal("14550.00"))], Decimal("14550.00")),
        # exactly 96.5% counts ("含"): 1.5 × 9,650
        (10_000, 9_650, 9_650, [("TIER", Decimal("14475.00"))], Decimal("14475.00")),
        # 96.0% by 12-31, 96.8% by 02-28: 1 × 9,680
        (10_000, 9_600, 9_680, [("TIER", Decimal("9680.00"))], Decimal("9680.00")),
        # 96.49% by 02-28: 10,000 − 9,649 = 351 short × 1.5
        (10_000, 9_500, 9_649, [("SHORTFALL", Decimal("-526.50"))], Decimal("-526.50")),
        # 山王镇's quota: 96.5% of 22,688 is 21,893.92 → 21,894 reaches it, 21,893 does not
        (22_688, 21_894, 22_000, [("TIER", Decimal("32841.00"))], Decimal("32841.00")),
        (22_688, 21_893, 22_000, [("TIER", Decimal("22000.00"))], Decimal("22000.00")),
        # 山王镇 short by 02-28: 22,688 − 20,000 = 2,688 × 1.5
        (22_688, 19_000, 20_000, [("SHORTFALL", Decimal("-4032.00"))], Decimal("-4032.00")),
    ],
)
def test_shuangpai(target, dec31, feb28, expected, net):
    result = assess_unit(SHUANGPAI, target, counts(feb28, dec31=dec31, feb28=feb28))
    assert amounts(result) == expected
    assert result.net == net
    assert result.reward - result.penalty == net


def test_shuangpai_tier_counts_persons_of_its_own_day():
    result = assess_unit(SHUANGPAI, 10_000, counts(9_900, dec31=9_700, feb28=9_800))
    (line,) = result.lines
    assert (line.persons, line.rate, line.on) == (9_700, Decimal("1.50"), DEC31)


def test_shortfall_from_the_threshold():
    rules = AssessmentRules(shortfall=Shortfall(Decimal("96.5"), Decimal("1.50"), FEB28, MissingFrom.THRESHOLD))
    # required ⌈96.5% × 10,000⌉ = 9,650; 9,600 enrolled: 50 short × 1.5
    assert amounts(assess_unit(rules, 10_000, counts(9_600, feb28=9_600))) == [("SHORTFALL", Decimal("-75.00"))]


def test_the_first_tier_reached_pays_and_the_shortfall_reads_its_own_day():
    # 96.0% by 12-31 and 96.5% by 02-28: the second tier pays, no shortfall on 02-28
    result = assess_unit(SHUANGPAI, 10_000, counts(9_700, dec31=9_600, feb28=9_650))
    assert [(line.code, line.on, line.persons) for line in result.lines] == [("TIER", FEB28, 9_650)]
    assert result.net == Decimal("9650.00")


# 内乡 2023: 1.5 元 per enrolled person; +100 per person above the quota, −100 per person below.
@pytest.mark.parametrize(
    ("target", "enrolled", "expected", "net"),
    [
        # 城关镇 43,160, 44,000 enrolled: 1.5 × 44,000 + 100 × 840
        (43_160, 44_000, [("PER_ENROLLED", Decimal("66000.00")), ("ABOVE_TARGET", Decimal("84000.00"))], Decimal("150000.00")),
        # 板场乡 10,680, 10,000 enrolled: 1.5 × 10,000 − 100 × 680
        (10_680, 10_000, [("PER_ENROLLED", Decimal("15000.00")), ("BELOW_TARGET", Decimal("-68000.00"))], Decimal("-53000.00")),
        # 湍东镇 exactly on its quota of 62,010: 1.5 × 62,010
        (62_010, 62_010, [("PER_ENROLLED", Decimal("93015.00"))], Decimal("93015.00")),
        # nobody enrolled in 七里坪乡: −100 × 15,980
        (15_980, 0, [("PER_ENROLLED", Decimal("0.00")), ("BELOW_TARGET", Decimal("-1598000.00"))], Decimal("-1598000.00")),
    ],
)
def test_neixiang(target, enrolled, expected, net):
    result = assess_unit(NEIXIANG, target, counts(enrolled))
    assert amounts(result) == expected
    assert result.net == net


def test_neixiang_reward_and_penalty_are_split():
    result = assess_unit(NEIXIANG, 10_680, counts(10_000))
    assert (result.reward, result.penalty) == (Decimal("15000.00"), Decimal("68000.00"))


def test_rate_comparisons_are_exact():
    assert reached(9_650, 10_000, Decimal("96.5")) and not reached(9_649, 10_000, Decimal("96.5"))
    assert reached(0, 0, Decimal("96.5"))  # nothing asked, nothing missing
    assert required(22_688, Decimal("96.5")) == 21_894
    assert required(10_000, Decimal("100")) == 10_000


def test_rules_ask_only_for_the_days_they_need():
    assert SHUANGPAI.dates() == {DEC31, FEB28}
    assert NEIXIANG.dates() == {None}


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        (AssessmentRules(per_enrolled=Decimal("-1")), ["assessment", "perEnrolled"]),
        (AssessmentRules(per_above_target=Decimal("0.001")), ["assessment", "perAboveTarget"]),
        (AssessmentRules(reward_tiers=(RewardTier(Decimal("0"), Decimal("1")),)), ["assessment", "rewardTiers", "0", "minRate"]),
        (AssessmentRules(reward_tiers=(RewardTier(Decimal("101"), Decimal("1")),)), ["assessment", "rewardTiers", "0", "minRate"]),
        (AssessmentRules(reward_tiers=(RewardTier(Decimal("90"), Decimal("1")), RewardTier(Decimal("90"), Decimal("1"), FEB28))),
         ["assessment", "rewardTiers"]),
        (AssessmentRules(reward_tiers=(RewardTier(Decimal("90"), Decimal("1"), FEB28), RewardTier(Decimal("90"), Decimal("1"), DEC31))),
         ["assessment", "rewardTiers"]),
        (AssessmentRules(shortfall=Shortfall(Decimal("96.5"), Decimal("-1.5"))), ["assessment", "shortfall", "perMissing"]),
    ],
)
def test_bad_rules_are_refused_naming_the_field(rules, field):
    problems = validate_rules(rules)
    assert [(p.code, p.field) for p in problems] == [("INVALID_ASSESSMENT", field)]


def test_seed_rules_are_valid_and_round_trip():
    for rules in (SHUANGPAI, NEIXIANG):
        assert validate_rules(rules) == []
        assert rules_from_dict(rules_to_dict(rules)) == rules


@pytest.mark.parametrize(
    ("assessment", "key"),
    [
        ({"perEnrolled": "abc"}, "assessment.perEnrolled"),
        ({"rewardTiers": [{"minRate": "96.5"}]}, "assessment.rewardTiers[0].perEnrolled"),
        ({"rewardTiers": [{"minRate": "96.5", "perEnrolled": "1", "by": "12/31"}]}, "assessment.rewardTiers[0].by"),
        ({"shortfall": {"belowRate": "96.5", "perMissing": "1.5", "missingFrom": "QUOTA"}}, "assessment.shortfall.missingFrom"),
        ({"bonus": "1"}, "assessment.bonus"),
        ([], "assessment"),
    ],
)
def test_malformed_rules_name_the_key(assessment, key):
    document = json.loads((POLICIES / "neixiang-2023.json").read_text(encoding="utf-8"))
    document["assessment"] = assessment
    with pytest.raises(PolicyFormatError) as caught:
        policy_from_dict(document)
    assert caught.value.key == key
