"""The year-end assessment (考核): each unit's reward or penalty, by the county's own rules.

Rules are data in the year policy (`assessment` in examples/policies/*.json and in
`YearPolicyInput`), and these are pure functions over them: no I/O, so the seeds'
formulas are tested with hand-computed numbers (tests/test_assessment_rules.py).

What the rules can say (DOMAIN.md §7):

- `perEnrolled`: yuan per enrolled person, unconditionally (内乡: 1.5 元/人 work fund).
- `perAboveTarget` / `perBelowTarget`: yuan per person above / below the quota
  (内乡: +100 per person above, −100 per person short).
- `rewardTiers`: [(minRate %, by date, yuan per enrolled person)], tried in order, the
  first one reached pays, counted as of its date (双牌: 96.5% by 12-31 → 1.5 元/人,
  by 02-28 → 1 元/人).
- `shortfall`: below `belowRate` % on its date → yuan per missing person, missing from
  the quota (`TARGET`) or from the rate's share of it (`THRESHOLD`) (双牌: 1.5 元 per
  person short, "按所差人数1.5元/人扣减").

A rule without a date uses the final figure: the count now (or at assessment time). A
dated rule counts the enrolled persons at the end of its day (Beijing time): a day still
running is read live, a past one from the record — payments, refunds, list versions and
registrations with their moments (`enrolled_at`, domain/progress/rules.py) — so a past
campaign, or a night whose snapshot was missed, is assessed all the same.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum

from domain.money import CENT, HUNDRED, ZERO
from tenants.problems import ErrorCode, Problem


class MissingFrom(StrEnum):
    TARGET = "TARGET"  # missing = quota − enrolled
    THRESHOLD = "THRESHOLD"  # missing = ⌈rate × quota⌉ − enrolled


@dataclass(frozen=True)
class RewardTier:
    min_rate: Decimal  # percent of the quota, e.g. 96.5
    per_enrolled: Decimal  # yuan per enrolled person (counted on `by`)
    by: date | None = None  # reached by the end of this day; None: the final figure


@dataclass(frozen=True)
class Shortfall:
    below_rate: Decimal  # percent: below this, the penalty applies
    per_missing: Decimal  # yuan per missing person
    by: date | None = None
    missing_from: MissingFrom = MissingFrom.TARGET


@dataclass(frozen=True)
class AssessmentRules:
    per_enrolled: Decimal = ZERO
    per_above_target: Decimal = ZERO
    per_below_target: Decimal = ZERO
    reward_tiers: tuple[RewardTier, ...] = ()
    shortfall: Shortfall | None = None

    def dates(self) -> set[date | None]:
        """Every day a count is needed for (None: the final figure)."""
        days: set[date | None] = {t.by for t in self.reward_tiers}
        if self.shortfall is not None:
            days.add(self.shortfall.by)
        if self.per_enrolled or self.per_above_target or self.per_below_target:
            days.add(None)
        return days


@dataclass(frozen=True)
class Count:
    """Enrolled persons as of a day; `measured_on` is the past day counted from the
    record (`enrolled_at` in domain/progress/rules.py); None: the live figures."""

    enrolled: int
    measured_on: date | None = None


@dataclass(frozen=True)
class Line:
    code: str  # PER_ENROLLED, ABOVE_TARGET, BELOW_TARGET, TIER, SHORTFALL
    description: str
    persons: int
    rate: Decimal  # yuan per person
    amount: Decimal  # signed: rewards positive, penalties negative
    on: date | None = None


@dataclass(frozen=True)
class Result:
    target: int
    enrolled: int  # the final figure
    lines: tuple[Line, ...] = field(default_factory=tuple)

    @property
    def reward(self) -> Decimal:
        return _money(sum((line.amount for line in self.lines if line.amount > 0), ZERO))

    @property
    def penalty(self) -> Decimal:
        return _money(-sum((line.amount for line in self.lines if line.amount < 0), ZERO))

    @property
    def net(self) -> Decimal:
        return _money(sum((line.amount for line in self.lines), ZERO))


def reached(enrolled: int, target: int, min_rate: Decimal) -> bool:
    """enrolled / target ≥ min_rate %, exactly (96.5% of 10,000 is 9,650, "含")."""
    return Decimal(enrolled) * HUNDRED >= min_rate * Decimal(target)


def required(target: int, rate: Decimal) -> int:
    """Persons needed to reach `rate` % of the target, rounded up."""
    return int((rate * Decimal(target) / HUNDRED).to_integral_value(rounding=ROUND_CEILING))


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


def _day(on: date | None) -> str:
    return f"by {on.isoformat()}" if on else "final count"


def assess_unit(rules: AssessmentRules, target: int, counts: Callable[[date | None], Count]) -> Result:
    """Every line of one unit's assessment; `counts(day)` gives the enrolled figure
    as of a day (None: the final figure)."""
    final = counts(None).enrolled
    lines = _per_person_lines(rules, target, final) + _tier_lines(rules, target, counts)
    lines += _shortfall_lines(rules, target, counts)
    return Result(target=target, enrolled=final, lines=tuple(lines))


def _per_person_lines(rules: AssessmentRules, target: int, enrolled: int) -> list[Line]:
    lines: list[Line] = []
    if rules.per_enrolled:
        lines.append(Line("PER_ENROLLED", f"{rules.per_enrolled} × {enrolled} enrolled", enrolled,
                          rules.per_enrolled, _money(rules.per_enrolled * enrolled)))
    above, below = max(0, enrolled - target), max(0, target - enrolled)
    if rules.per_above_target and above:
        lines.append(Line("ABOVE_TARGET", f"{rules.per_above_target} × {above} above the quota of {target}", above,
                          rules.per_above_target, _money(rules.per_above_target * above)))
    if rules.per_below_target and below:
        lines.append(Line("BELOW_TARGET", f"{rules.per_below_target} × {below} below the quota of {target}", below,
                          rules.per_below_target, -_money(rules.per_below_target * below)))
    return lines


def _tier_lines(rules: AssessmentRules, target: int, counts: Callable[[date | None], Count]) -> list[Line]:
    """The first tier reached pays, on the count of its own day; none reached, no line."""
    for tier in rules.reward_tiers:
        count = counts(tier.by)
        if reached(count.enrolled, target, tier.min_rate):
            return [
                Line("TIER", f"≥ {tier.min_rate}% {_day(tier.by)}: {tier.per_enrolled} × {count.enrolled} enrolled",
                     count.enrolled, tier.per_enrolled, _money(tier.per_enrolled * count.enrolled), tier.by)
            ]
    return []


def _shortfall_lines(rules: AssessmentRules, target: int, counts: Callable[[date | None], Count]) -> list[Line]:
    rule = rules.shortfall
    if rule is None:
        return []
    count = counts(rule.by)
    if reached(count.enrolled, target, rule.below_rate):
        return []
    goal = target if rule.missing_from is MissingFrom.TARGET else required(target, rule.below_rate)
    missing = max(0, goal - count.enrolled)
    if not missing:
        return []
    return [Line("SHORTFALL", f"below {rule.below_rate}% {_day(rule.by)}: {rule.per_missing} × {missing} missing",
                 missing, rule.per_missing, -_money(rule.per_missing * missing), rule.by)]


def validate_rules(rules: AssessmentRules, field_prefix: Iterable[str] = ("assessment",)) -> list[Problem]:
    prefix = list(field_prefix)
    problems: list[Problem] = []

    def money(value: Decimal, path: list[str], label: str) -> None:
        if not value.is_finite() or value < 0 or value != value.quantize(CENT):
            problems.append(Problem(ErrorCode.INVALID_ASSESSMENT, prefix + path, {"field": label}, "AMOUNT"))

    def rate(value: Decimal, path: list[str], label: str) -> None:
        if not value.is_finite() or not ZERO < value <= HUNDRED:
            problems.append(Problem(ErrorCode.INVALID_ASSESSMENT, prefix + path, {"field": label}, "RATE"))

    money(rules.per_enrolled, ["perEnrolled"], "perEnrolled")
    money(rules.per_above_target, ["perAboveTarget"], "perAboveTarget")
    money(rules.per_below_target, ["perBelowTarget"], "perBelowTarget")
    for index, tier in enumerate(rules.reward_tiers):
        path = ["rewardTiers", str(index)]
        rate(tier.min_rate, path + ["minRate"], f"rewardTiers[{index + 1}].minRate")
        money(tier.per_enrolled, path + ["perEnrolled"], f"rewardTiers[{index + 1}].perEnrolled")
    dated = [t.by for t in rules.reward_tiers]
    if None in dated[:-1]:
        # An undated tier is the final figure: one after it could never pay.
        problems.append(Problem(ErrorCode.INVALID_ASSESSMENT, prefix + ["rewardTiers"], variant="UNDATED_TIER"))
    known = [d for d in dated if d is not None]
    if known != sorted(known):
        problems.append(Problem(ErrorCode.INVALID_ASSESSMENT, prefix + ["rewardTiers"], variant="TIER_ORDER"))
    if rules.shortfall is not None:
        rate(rules.shortfall.below_rate, ["shortfall", "belowRate"], "shortfall.belowRate")
        money(rules.shortfall.per_missing, ["shortfall", "perMissing"], "shortfall.perMissing")
    return problems
