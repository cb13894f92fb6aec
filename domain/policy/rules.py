"""The year policy (年度征缴方案) as data, and its validation.

A county issues one policy per benefit year: the personal contribution standard, the
collection window, and the hardship categories with their subsidy rule and mode
(DOMAIN.md §4). Everything here is plain data and pure functions: the GraphQL layer
turns `Problem`s into `userErrors`, and `examples/policies/*.json` hold the seed
counties' years (domain/policy/files.py reads and writes them).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from domain.money import CENT, HUNDRED, ZERO, is_money, money
from domain.progress.assessment import (
    AssessmentRules,
    validate_rules,
)
from tenants.kinds import DepartmentCode
from tenants.names import name_problem
from tenants.problems import ErrorCode, Problem

if TYPE_CHECKING:
    # domain/payments/rules.py reads the policy; the policy only holds its channel rules.
    from domain.payments.rules import ChannelRule

MAX_AGE = 150
MAX_CALL_IN = 1000  # units called in (内乡: the bottom 3); more than any tree's siblings
MAX_CODE_LENGTH = 64
MAX_DAYS = 366  # a period counted in days never outlasts the benefit year
MAX_MONTHS = 12  # nor one counted in months
DEFAULT_NEWBORN_DAYS = 90
MAX_NAME_LENGTH = 100


class SubsidyRule(StrEnum):
    FULL = "FULL"  # the whole personal contribution
    PERCENT = "PERCENT"  # value = percent of the standard
    FIXED = "FIXED"  # value = yuan, capped at the standard


class SubsidyMode(StrEnum):
    AUTO_ENROLL = "AUTO_ENROLL"  # enrolled at import, nobody collects (内乡 特困)
    DEDUCT = "DEDUCT"  # the amount due is already reduced (八公山 低保)
    REIMBURSE = "REIMBURSE"  # pay the standard, subsidy paid back later (双牌, 内乡)


class LateRule(StrEnum):
    REFUSED = "REFUSED"  # no payment accepted after the window (and extension)
    FULL_COST_WAIT = "FULL_COST_WAIT"  # 枣庄: standard + fiscal subsidy, benefits after a wait


class NewbornLateRule(StrEnum):
    """A newborn enrolled after its newborn period (DOMAIN.md §9)."""

    GENERAL = "GENERAL"  # no rule of its own: the window, extension and late rules, as for anyone
    DAY_AFTER_PAYMENT = "DAY_AFTER_PAYMENT"  # 八公山: "待遇自缴费次日起享受"
    REGISTRATION_DAY = "REGISTRATION_DAY"  # 内乡: "自参保登记之日起享受当年城乡居民医保待遇"


@dataclass(frozen=True)
class FunderShare:
    funder: str
    percent: Decimal


@dataclass(frozen=True)
class SubsidyCategory:
    code: str
    name: str
    owner: DepartmentCode
    rule: SubsidyRule
    value: Decimal | None  # PERCENT: percent; FIXED: yuan; FULL: None
    mode: SubsidyMode
    # Set either bound and the category is age-based: computed from the birth date
    # at the policy's reference date, no list needed (枣庄 60–69, 70+).
    min_age: int | None = None
    max_age: int | None = None
    funders: tuple[FunderShare, ...] = ()

    @property
    def age_based(self) -> bool:
        return self.min_age is not None or self.max_age is not None


@dataclass(frozen=True)
class YearPolicy:
    year: int  # the benefit year; the campaign runs in the autumn before it
    standard: Decimal  # personal contribution 个人缴费标准
    fiscal_subsidy: Decimal | None  # per-capita fiscal subsidy; late payers pay it under FULL_COST_WAIT
    window_start: date
    window_end: date
    extension_end: date | None = None
    extension_needs_proof: bool = False  # 八公山: migrant workers with proof only
    list_cutoff: date | None = None  # listed after this: no subsidy this year (内乡)
    age_reference_date: date | None = None  # None: 1 January of the benefit year
    late_rule: LateRule = LateRule.REFUSED
    categories: tuple[SubsidyCategory, ...] = ()
    refund_claim_deadline: date | None = None  # 内乡: events before 12-31 claimed until 01-31
    remit_days: int = 5  # 双限: remit within 5 days …
    remit_amount: Decimal = Decimal("10000")  # … or once 10,000 yuan is held
    # The newborn period: newborn_days days (内乡 "出生后90天内") or newborn_months calendar
    # months (八公山 "出生后的3个月内": born 01-31 → until 04-30); exactly one is set.
    newborn_days: int | None = DEFAULT_NEWBORN_DAYS
    newborn_months: int | None = None
    newborn_late_rule: NewbornLateRule = NewbornLateRule.GENERAL
    # 内乡: a newborn whose father or mother is in the city's basic medical insurance is
    # enrolled for its birth year without paying ("新生儿出生不用缴费即可享受当年…待遇").
    newborn_parent_exemption: bool = False
    # 枣庄: a person with a subsidy category may pay the subsidised amount this many months
    # after the window, with benefits as in the window ("政府资助人员可延长1个月").
    subsidized_grace_months: int = 0
    late_wait_days: int = 30  # FULL_COST_WAIT: benefits start this many days after payment
    assessment: AssessmentRules | None = None  # rewards and penalties of the year (domain/progress/assessment.py)
    # Which channels are open to which recorders and when (灞桥: cash only at schools;
    # 内乡: field channels until 11-30). Empty: every channel open (domain/payments/rules.py).
    channel_rules: tuple[ChannelRule, ...] = ()
    # 内乡 "排名后三名且未完成任务的…约谈": the bottom N of a ranking that are below their
    # quota are called in (domain/progress/rules.py `called_in`); None: no such rule.
    call_in_bottom: int | None = None

    @property
    def reference_date(self) -> date:
        return self.age_reference_date or date(self.year, 1, 1)

    @property
    def last_payment_day(self) -> date:
        """The last day a payment counts as on time (window or extension)."""
        return self.extension_end or self.window_end

    def category(self, code: str) -> SubsidyCategory | None:
        return next((c for c in self.categories if c.code == code), None)


def validate_policy(policy: YearPolicy, departments: Iterable[DepartmentCode]) -> list[Problem]:
    """Every problem of the policy at once, with GraphQL (camelCase) field paths.

    `departments` are the tenant's departments: a category owned by another one could
    never have its list uploaded, so it is refused ("UNKNOWN_DEPARTMENT").
    """
    allowed = set(departments)
    problems = _check_money(policy) + _check_dates(policy) + _check_counters(policy) + _check_channel_rules(policy)
    seen: set[str] = set()
    for index, category in enumerate(policy.categories):
        problems += _check_category(category, index, policy.standard, allowed, seen)
        seen.add(category.code)
    if policy.assessment is not None:
        problems += validate_rules(policy.assessment)
    return problems


def _check_money(policy: YearPolicy) -> list[Problem]:
    problems: list[Problem] = []
    if not is_money(policy.standard) or policy.standard <= 0:
        problems.append(
            Problem(ErrorCode.INVALID_STANDARD, ["standard"])
        )
    if policy.fiscal_subsidy is not None and (not is_money(policy.fiscal_subsidy) or policy.fiscal_subsidy < 0):
        problems.append(
            Problem(ErrorCode.INVALID_FISCAL_SUBSIDY, ["fiscalSubsidy"])
        )
    if policy.late_rule is LateRule.FULL_COST_WAIT and policy.fiscal_subsidy is None:
        # Late payers pay standard + fiscal subsidy: without it the amount is unknown.
        problems.append(
            Problem(ErrorCode.MISSING_FISCAL_SUBSIDY, ["fiscalSubsidy"])
        )
    if not is_money(policy.remit_amount) or policy.remit_amount <= 0:
        problems.append(Problem(ErrorCode.INVALID_REMIT_RULE, ["remitAmount"], variant="AMOUNT"))
    return problems


def _check_dates(policy: YearPolicy) -> list[Problem]:
    problems: list[Problem] = []
    # The campaign for year Y runs in Y-1 (or Y): anything else is a typo such as the
    # 枣庄 seed's "2020年11月1日" in a 2022 policy.
    if policy.window_start.year not in (policy.year - 1, policy.year):
        problems.append(
            Problem(ErrorCode.INVALID_WINDOW, ["windowStart"], {"windowStart": policy.window_start, "year": policy.year}, "START")
        )
    if policy.window_end < policy.window_start:
        problems.append(Problem(ErrorCode.INVALID_WINDOW, ["windowEnd"], variant="END"))
    if policy.extension_end is not None and policy.extension_end < policy.window_end:
        problems.append(Problem(ErrorCode.INVALID_WINDOW, ["extensionEnd"], variant="EXTENSION"))
    if policy.list_cutoff is not None and policy.list_cutoff > policy.last_payment_day:
        problems.append(
            Problem(ErrorCode.INVALID_WINDOW, ["listCutoff"], variant="LIST_CUTOFF")
        )
    if policy.refund_claim_deadline is not None and policy.refund_claim_deadline < policy.window_end:
        problems.append(
            Problem(ErrorCode.INVALID_WINDOW, ["refundClaimDeadline"], variant="CLAIM_DEADLINE")
        )
    return problems


def _check_counters(policy: YearPolicy) -> list[Problem]:
    problems: list[Problem] = []
    if not 2000 <= policy.year <= 2100:
        problems.append(Problem(ErrorCode.INVALID_YEAR, ["year"], {"year": policy.year}))
    if not 0 < policy.remit_days <= MAX_DAYS:
        problems.append(Problem(ErrorCode.INVALID_REMIT_RULE, ["remitDays"], {"limit": MAX_DAYS}, "DAYS"))
    problems += _check_newborn_period(policy)
    if not 0 <= policy.subsidized_grace_months <= MAX_MONTHS:
        problems.append(
            Problem(ErrorCode.INVALID_GRACE_MONTHS, ["subsidizedGraceMonths"], {"limit": MAX_MONTHS})
        )
    if not 0 <= policy.late_wait_days <= MAX_DAYS:
        problems.append(Problem(ErrorCode.INVALID_LATE_RULE, ["lateWaitDays"], {"limit": MAX_DAYS}))
    if policy.call_in_bottom is not None and not 0 < policy.call_in_bottom <= MAX_CALL_IN:
        problems.append(Problem(ErrorCode.INVALID_CALL_IN, ["callInBottom"], {"limit": MAX_CALL_IN}))
    return problems


def _check_channel_rules(policy: YearPolicy) -> list[Problem]:
    problems: list[Problem] = []
    for index, rule in enumerate(policy.channel_rules):
        for field, variant, params in _channel_rule_problems(rule, policy):
            path = ["channelRules", str(index), field]
            problems.append(Problem(ErrorCode.INVALID_CHANNEL_RULE, path, {"rule": index + 1, **params}, variant))
    return problems


def _channel_rule_problems(rule: ChannelRule, policy: YearPolicy) -> list[tuple[str, str, dict[str, object]]]:
    """(field, variant of INVALID_CHANNEL_RULE, values) for each fault of one rule."""
    found: list[tuple[str, str, dict[str, object]]] = []
    if not rule.channels:
        found.append(("channels", "NO_CHANNELS", {}))
    start, end = rule.open_from, rule.open_until
    # A rule's days matter from the window's start to the end of the benefit year
    # (newborns and late payers may pay until then): a rule outside them is a typo.
    first, last = policy.window_start, date(policy.year, 12, 31)
    if start is not None and end is not None and start > end:
        found.append(("until", "REVERSED", {"from": start, "until": end}))
    elif end is not None and end < first:
        found.append(("until", "BEFORE_CAMPAIGN", {"until": end, "year": policy.year, "windowStart": first}))
    elif start is not None and start > last:
        found.append(("from", "AFTER_CAMPAIGN", {"from": start, "year": policy.year, "last": last}))
    return found


def _check_newborn_period(policy: YearPolicy) -> list[Problem]:
    days, months = policy.newborn_days, policy.newborn_months
    if (days is None) == (months is None):
        return [
            Problem(ErrorCode.INVALID_NEWBORN_PERIOD, ["newbornMonths" if months is not None else "newbornDays"], variant="ONE_OF")
        ]
    if days is not None and not 0 < days <= MAX_DAYS:
        return [Problem(ErrorCode.INVALID_NEWBORN_DAYS, ["newbornDays"], {"limit": MAX_DAYS})]
    if months is not None and not 0 < months <= MAX_MONTHS:
        return [Problem(ErrorCode.INVALID_NEWBORN_PERIOD, ["newbornMonths"], {"limit": MAX_MONTHS})]
    return []


def _check_category(
    category: SubsidyCategory, index: int, standard: Decimal, allowed: set[DepartmentCode], seen: set[str]
) -> list[Problem]:
    path = ["categories", str(index)]
    label = category.code or f"#{index + 1}"
    problems: list[Problem] = []

    def add(code: ErrorCode, field: str, variant: str | None = None, **params: object) -> None:
        problems.append(Problem(code, [*path, field], {"category": label, **params}, variant))

    code = category.code
    if not code or code != code.strip() or any(ch.isspace() for ch in code) or len(code) > MAX_CODE_LENGTH:
        add(ErrorCode.INVALID_CATEGORY_CODE, "code", limit=MAX_CODE_LENGTH)
    elif code in seen:
        add(ErrorCode.DUPLICATE_CATEGORY_CODE, "code")
    if not category.name.strip():
        add(ErrorCode.INVALID_CATEGORY_NAME, "name", "EMPTY")
    elif fault := name_problem(category.name.strip(), MAX_NAME_LENGTH):
        add(ErrorCode.INVALID_CATEGORY_NAME, "name", fault.variant, **fault.params)
    if category.owner not in allowed:
        add(ErrorCode.UNKNOWN_DEPARTMENT, "owner", owner=category.owner)
    if found := _value_problem(category, standard):
        add(ErrorCode.INVALID_SUBSIDY_VALUE, "value", found[0], **found[1])
    for field, variant, params in _age_problems(category):
        add(ErrorCode.INVALID_AGE_RANGE, field, variant, **params)
    if found := _funder_problem(category.funders):
        add(ErrorCode.INVALID_FUNDER_SHARES, "funders", found[0], **found[1])
    return problems


Fault = tuple[str, dict[str, object]]  # a variant of the code, and the values its message names


def _value_problem(category: SubsidyCategory, standard: Decimal) -> Fault | None:
    value = category.value
    if category.rule is SubsidyRule.FULL:
        # Refused rather than ignored: "FULL 90" is a mistake someone should see.
        return None if value is None else ("FULL_TAKES_NO_VALUE", {})
    if value is None or not value.is_finite():
        return "VALUE_REQUIRED", {"rule": category.rule}
    if category.rule is SubsidyRule.PERCENT:
        return None if 0 < value <= HUNDRED else ("PERCENT", {"value": value})
    if not is_money(value) or value <= 0:
        return "FIXED", {"value": value}
    if standard.is_finite() and value > standard:
        return "ABOVE_STANDARD", {"value": value, "standard": standard}
    return None


def _age_problems(category: SubsidyCategory) -> list[tuple[str, str, dict[str, object]]]:
    found: list[tuple[str, str, dict[str, object]]] = []
    for field, age in (("minAge", category.min_age), ("maxAge", category.max_age)):
        if age is not None and not 0 <= age <= MAX_AGE:
            found.append((field, "OUT_OF_RANGE", {"age": age, "limit": MAX_AGE}))
    low, high = category.min_age, category.max_age
    if low is not None and high is not None and low > high:
        found.append(("maxAge", "REVERSED", {"minAge": low, "maxAge": high}))
    return found


def _funder_problem(funders: tuple[FunderShare, ...]) -> Fault | None:
    if not funders:
        return None
    names = [f.funder.strip() for f in funders]
    if any(not name for name in names) or len(set(names)) != len(names):
        return "NAMES", {}
    if any(not f.percent.is_finite() or f.percent <= 0 for f in funders):
        return "SHARE", {}
    total = sum((f.percent for f in funders), Decimal(0))
    if total != HUNDRED:
        return "TOTAL", {"total": total}
    return None


def category_amount(category: SubsidyCategory, standard: Decimal) -> Decimal:
    """The subsidy in yuan: FULL → standard; PERCENT p → standard × p / 100; FIXED → capped."""
    if category.rule is SubsidyRule.FULL:
        return money(standard)
    if category.value is None:
        raise ValueError(f"category {category.code!r}: {category.rule.value} needs a value")
    if category.rule is SubsidyRule.PERCENT:
        return money(standard * category.value / HUNDRED)
    # FIXED: a subsidy never pays back more than the person paid.
    return money(min(category.value, standard))


def late_amount(policy: YearPolicy) -> Decimal | None:
    """What a late payer pays (枣庄: standard + fiscal subsidy), or None if late payment is refused."""
    if policy.late_rule is LateRule.REFUSED or policy.fiscal_subsidy is None:
        return None
    return money(policy.standard + policy.fiscal_subsidy)


def funder_split(category: SubsidyCategory, amount: Decimal) -> list[tuple[str, Decimal]]:
    """Split a subsidy between the category's funders (枣庄 独生子女: city 50%, township 50%).

    Every share but the first is rounded down to the cent; the first funder takes the
    rest, so the shares always add up to exactly `amount`. A category without funders
    returns [] (not split: one budget pays).
    """
    if not category.funders:
        return []
    total = money(amount)
    rest = [(f.funder, (total * f.percent / HUNDRED).quantize(CENT, rounding=ROUND_DOWN)) for f in category.funders[1:]]
    first = total - sum((share for _, share in rest), ZERO)
    return [(category.funders[0].funder, first), *rest]


# --- Who pays the subsidies (资助资金) -------------------------------------------------
#
# Each budget must know what it owes (枣庄: "以上资助资金列入市、镇(街)财政预算"; 独生子女伤亡病残
# 家庭 "由市、镇(街)财政各承担50%"). Each person's subsidy is split on its own
# (`funder_split`), so a line's amount does not depend on how the report is grouped: the
# villages of a township add up to the township's line in the county's report, to the
# cent. A category that names no funder gives one line for the whole amount, funder
# None: the policy does not say which budget pays, and the report does not guess
# (the certifying department is not a budget).


@dataclass(frozen=True)
class FundedGroup:
    """`persons` of one child unit whose subsidy in force is `amount` of `category`."""

    unit_id: int | None  # the child unit; None: persons of the parent unit itself
    category: str
    amount: Decimal  # each person's subsidy
    persons: int


@dataclass(frozen=True)
class FundingLine:
    unit_id: int | None
    category: str
    funder: str | None  # None: the category names no funder
    persons: int
    amount: Decimal


@dataclass(frozen=True)
class FunderTotal:
    funder: str | None
    persons: int
    amount: Decimal


@dataclass(frozen=True)
class Funding:
    lines: tuple[FundingLine, ...]  # by unit (the parent's own persons first), category, funder
    by_funder: tuple[FunderTotal, ...]  # by funder name, None last
    persons: int  # each subsidised person once
    amount: Decimal  # exactly the sum of the lines (and of by_funder)


def person_shares(category: SubsidyCategory | None, amount: Decimal) -> list[tuple[str | None, Decimal]]:
    """One person's subsidy by funder: the category's split, or all of it unsplit."""
    split = funder_split(category, amount) if category is not None else []
    return [(name, share) for name, share in split] or [(None, money(amount))]


def funding(groups: Iterable[FundedGroup], categories: Iterable[SubsidyCategory]) -> Funding:
    """Per unit, category and funder: the persons and the money; with totals that are
    exactly the sums of the lines."""
    known = {c.code: c for c in categories}
    order = {code: index for index, code in enumerate(known)}
    lines: dict[tuple[int | None, str, str | None], tuple[int, Decimal]] = {}
    funder_order: dict[tuple[str, str | None], int] = {}
    persons = 0
    for group in groups:
        persons += group.persons
        for index, (funder, share) in enumerate(person_shares(known.get(group.category), group.amount)):
            key = (group.unit_id, group.category, funder)
            count, total = lines.get(key, (0, ZERO))
            lines[key] = (count + group.persons, total + share * group.persons)
            funder_order.setdefault((group.category, funder), index)

    def line_order(key: tuple[int | None, str, str | None]) -> tuple[int, int, int, str, int]:
        unit_id, category, funder = key
        return (unit_id is not None, unit_id or 0, order.get(category, len(order)), category, funder_order[(category, funder)])

    ordered = tuple(FundingLine(k[0], k[1], k[2], *lines[k]) for k in sorted(lines, key=line_order))
    by_funder: dict[str | None, tuple[int, Decimal]] = {}
    for line in ordered:
        count, total = by_funder.get(line.funder, (0, ZERO))
        by_funder[line.funder] = (count + line.persons, total + line.amount)
    totals = tuple(FunderTotal(f, *by_funder[f]) for f in sorted(by_funder, key=lambda f: (f is None, f or "")))
    return Funding(ordered, totals, persons, sum((line.amount for line in ordered), ZERO))
