"""The year policy (年度征缴方案) as data, and its validation.

A county issues one policy per benefit year: the personal contribution standard, the
collection window, and the hardship categories with their subsidy rule and mode
(DOMAIN.md §4). Everything here is plain data and pure functions: the GraphQL layer
turns `Problem`s into `userErrors`, and `examples/policies/*.json` hold the seed
counties' years in the format of `policy_from_dict` / `policy_to_dict`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar

from domain.assessment import AssessmentRules, RulesFormatError, rules_from_dict, rules_to_dict, validate_rules
from tenants.kinds import DepartmentCode
from tenants.names import name_problem
from tenants.problems import Problem

HUNDRED = Decimal("100")
CENT = Decimal("0.01")
MAX_AGE = 150
MAX_CODE_LENGTH = 64
MAX_DAYS = 366  # a period counted in days never outlasts the benefit year
MAX_NAME_LENGTH = 100


class SubsidyRule(str, Enum):
    FULL = "FULL"  # the whole personal contribution
    PERCENT = "PERCENT"  # value = percent of the standard
    FIXED = "FIXED"  # value = yuan, capped at the standard


class SubsidyMode(str, Enum):
    AUTO_ENROLL = "AUTO_ENROLL"  # enrolled at import, nobody collects (内乡 特困)
    DEDUCT = "DEDUCT"  # the amount due is already reduced (八公山 低保)
    REIMBURSE = "REIMBURSE"  # pay the standard, subsidy paid back later (双牌, 内乡)


class LateRule(str, Enum):
    REFUSED = "REFUSED"  # no payment accepted after the window (and extension)
    FULL_COST_WAIT = "FULL_COST_WAIT"  # 枣庄: standard + fiscal subsidy, benefits after a wait


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
    newborn_days: int = 90
    late_wait_days: int = 30  # FULL_COST_WAIT: benefits start this many days after payment
    assessment: AssessmentRules | None = None  # rewards and penalties of the year (domain/assessment.py)

    @property
    def reference_date(self) -> date:
        return self.age_reference_date or date(self.year, 1, 1)

    @property
    def last_payment_day(self) -> date:
        """The last day a payment counts as on time (window or extension)."""
        return self.extension_end or self.window_end

    def category(self, code: str) -> SubsidyCategory | None:
        return next((c for c in self.categories if c.code == code), None)


# ---------------------------------------------------------------------------
# Validation


def validate_policy(policy: YearPolicy, departments: Iterable[DepartmentCode]) -> list[Problem]:
    """Every problem of the policy at once, with GraphQL (camelCase) field paths.

    `departments` are the tenant's departments: a category owned by another one could
    never have its list uploaded, so it is refused ("UNKNOWN_DEPARTMENT").
    """
    allowed = set(departments)
    problems = _check_money(policy) + _check_dates(policy) + _check_counters(policy)
    seen: set[str] = set()
    for index, category in enumerate(policy.categories):
        problems += _check_category(category, index, policy.standard, allowed, seen)
        seen.add(category.code)
    if policy.assessment is not None:
        problems += validate_rules(policy.assessment)
    return problems


def _check_money(policy: YearPolicy) -> list[Problem]:
    problems: list[Problem] = []
    if not _is_money(policy.standard) or policy.standard <= 0:
        problems.append(
            Problem("INVALID_STANDARD", "standard must be a positive amount in yuan with at most 2 decimals", ["standard"])
        )
    if policy.fiscal_subsidy is not None and (not _is_money(policy.fiscal_subsidy) or policy.fiscal_subsidy < 0):
        problems.append(
            Problem("INVALID_FISCAL_SUBSIDY", "fiscal subsidy must be an amount ≥ 0 with at most 2 decimals", ["fiscalSubsidy"])
        )
    if policy.late_rule is LateRule.FULL_COST_WAIT and policy.fiscal_subsidy is None:
        # Late payers pay standard + fiscal subsidy: without it the amount is unknown.
        problems.append(
            Problem("MISSING_FISCAL_SUBSIDY", "late rule FULL_COST_WAIT needs the fiscal subsidy", ["fiscalSubsidy"])
        )
    if not _is_money(policy.remit_amount) or policy.remit_amount <= 0:
        problems.append(Problem("INVALID_REMIT_RULE", "remit amount must be positive", ["remitAmount"]))
    return problems


def _check_dates(policy: YearPolicy) -> list[Problem]:
    problems: list[Problem] = []
    # The campaign for year Y runs in Y-1 (or Y): anything else is a typo such as the
    # 枣庄 seed's "2020年11月1日" in a 2022 policy.
    if policy.window_start.year not in (policy.year - 1, policy.year):
        problems.append(
            Problem(
                "INVALID_WINDOW",
                f"window start {policy.window_start} is not in {policy.year - 1} or {policy.year}",
                ["windowStart"],
            )
        )
    if policy.window_end < policy.window_start:
        problems.append(Problem("INVALID_WINDOW", "window end is before window start", ["windowEnd"]))
    if policy.extension_end is not None and policy.extension_end < policy.window_end:
        problems.append(Problem("INVALID_WINDOW", "extension end is before window end", ["extensionEnd"]))
    if policy.list_cutoff is not None and policy.list_cutoff > policy.last_payment_day:
        problems.append(
            Problem("INVALID_WINDOW", "list cutoff is after the last payment day", ["listCutoff"])
        )
    if policy.refund_claim_deadline is not None and policy.refund_claim_deadline < policy.window_end:
        problems.append(
            Problem("INVALID_WINDOW", "refund claim deadline is before window end", ["refundClaimDeadline"])
        )
    return problems


def _check_counters(policy: YearPolicy) -> list[Problem]:
    problems: list[Problem] = []
    if not 2000 <= policy.year <= 2100:
        problems.append(Problem("INVALID_YEAR", f"year {policy.year} is out of range", ["year"]))
    if not 0 < policy.remit_days <= MAX_DAYS:
        problems.append(Problem("INVALID_REMIT_RULE", f"remit days must be 1..{MAX_DAYS}", ["remitDays"]))
    if not 0 < policy.newborn_days <= MAX_DAYS:
        problems.append(Problem("INVALID_NEWBORN_DAYS", f"newborn days must be 1..{MAX_DAYS}", ["newbornDays"]))
    if not 0 <= policy.late_wait_days <= MAX_DAYS:
        problems.append(Problem("INVALID_LATE_RULE", f"late wait days must be 0..{MAX_DAYS}", ["lateWaitDays"]))
    return problems


def _check_category(
    category: SubsidyCategory, index: int, standard: Decimal, allowed: set[DepartmentCode], seen: set[str]
) -> list[Problem]:
    path = ["categories", str(index)]
    label = f"category {category.code!r}" if category.code else f"category #{index + 1}"
    problems: list[Problem] = []

    def add(code: str, message: str, field: str) -> None:
        problems.append(Problem(code, f"{label}: {message}", [*path, field]))

    code = category.code
    if not code or code != code.strip() or any(ch.isspace() for ch in code) or len(code) > MAX_CODE_LENGTH:
        add("INVALID_CATEGORY_CODE", f"code must be 1–{MAX_CODE_LENGTH} characters without spaces", "code")
    elif code in seen:
        add("DUPLICATE_CATEGORY_CODE", "code is used by another category", "code")
    if not category.name.strip():
        add("INVALID_CATEGORY_NAME", "name must not be empty", "name")
    elif reason := name_problem(category.name.strip(), MAX_NAME_LENGTH):
        add("INVALID_CATEGORY_NAME", f"name {reason}", "name")
    if category.owner not in allowed:
        add("UNKNOWN_DEPARTMENT", f"owner {category.owner.value} is not a department of this county", "owner")
    message = _value_problem(category, standard)
    if message:
        add("INVALID_SUBSIDY_VALUE", message, "value")
    for field, message in _age_problems(category):
        add("INVALID_AGE_RANGE", message, field)
    message = _funder_problem(category.funders)
    if message:
        add("INVALID_FUNDER_SHARES", message, "funders")
    return problems


def _value_problem(category: SubsidyCategory, standard: Decimal) -> str | None:
    value = category.value
    if category.rule is SubsidyRule.FULL:
        # Refused rather than ignored: "FULL 90" is a mistake someone should see.
        return None if value is None else "FULL takes no value"
    if value is None:
        return f"{category.rule.value} needs a value"
    if not value.is_finite():
        return f"value {value} is not a number"
    if category.rule is SubsidyRule.PERCENT:
        return None if 0 < value <= HUNDRED else "PERCENT value must be in (0, 100]"
    if not _is_money(value) or value <= 0:
        return "FIXED value must be a positive amount with at most 2 decimals"
    if standard.is_finite() and value > standard:
        return f"FIXED value {value} is more than the standard {standard}"
    return None


def _age_problems(category: SubsidyCategory) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for field, age in (("minAge", category.min_age), ("maxAge", category.max_age)):
        if age is not None and not 0 <= age <= MAX_AGE:
            found.append((field, f"age {age} is outside 0..{MAX_AGE}"))
    low, high = category.min_age, category.max_age
    if low is not None and high is not None and low > high:
        found.append(("maxAge", f"max age {high} is below min age {low}"))
    return found


def _funder_problem(funders: tuple[FunderShare, ...]) -> str | None:
    if not funders:
        return None
    names = [f.funder.strip() for f in funders]
    if any(not name for name in names) or len(set(names)) != len(names):
        return "funder names must be non-empty and distinct"
    if any(not f.percent.is_finite() or f.percent <= 0 for f in funders):
        return "each funder share must be more than 0"
    total = sum((f.percent for f in funders), Decimal(0))
    if total != HUNDRED:
        return f"funder shares add up to {total}, not 100"
    return None


def _is_money(value: Decimal) -> bool:
    return value.is_finite() and value == value.quantize(CENT)


# ---------------------------------------------------------------------------
# JSON files (examples/policies/*.json): camelCase keys as in YearPolicyInput,
# dates as ISO strings, money as strings ("350.00").

_POLICY_KEYS = {
    "year", "standard", "fiscalSubsidy", "windowStart", "windowEnd", "extensionEnd",
    "extensionNeedsProof", "listCutoff", "ageReferenceDate", "lateRule", "lateWaitDays",
    "categories", "refundClaimDeadline", "remitDays", "remitAmount", "newbornDays", "assessment",
}
# Descriptive keys a file may carry; they are not part of the policy.
_INFO_KEYS = {"tenant", "source", "notes"}
_CATEGORY_KEYS = {"code", "name", "owner", "rule", "value", "mode", "minAge", "maxAge", "funders"}
_FUNDER_KEYS = {"funder", "percent"}


class PolicyFormatError(ValueError):
    """A malformed policy file; `key` is the path of the offending key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


def policy_from_dict(d: dict[str, Any]) -> YearPolicy:
    """Read a policy file's dict. Raises PolicyFormatError (a ValueError) naming the key."""
    _only_keys(d, _POLICY_KEYS | _INFO_KEYS, "")
    categories = _get(d, "categories", list, "")
    return YearPolicy(
        year=_get(d, "year", int, ""),
        standard=_decimal(d, "standard", ""),
        fiscal_subsidy=_optional(d, "fiscalSubsidy", _decimal, ""),
        window_start=_date(d, "windowStart", ""),
        window_end=_date(d, "windowEnd", ""),
        extension_end=_optional(d, "extensionEnd", _date, ""),
        extension_needs_proof=_get(d, "extensionNeedsProof", bool, "", default=False),
        list_cutoff=_optional(d, "listCutoff", _date, ""),
        age_reference_date=_optional(d, "ageReferenceDate", _date, ""),
        late_rule=_enum(d, "lateRule", LateRule, "", default=LateRule.REFUSED),
        late_wait_days=_get(d, "lateWaitDays", int, "", default=30),
        categories=tuple(_category_from_dict(c, f"categories[{i}].") for i, c in enumerate(categories)),
        refund_claim_deadline=_optional(d, "refundClaimDeadline", _date, ""),
        remit_days=_get(d, "remitDays", int, "", default=5),
        remit_amount=_decimal(d, "remitAmount", "", default=Decimal("10000")),
        newborn_days=_get(d, "newbornDays", int, "", default=90),
        assessment=_assessment_from_dict(d.get("assessment")),
    )


def _assessment_from_dict(value: Any) -> AssessmentRules | None:
    if value is None:
        return None
    try:
        return rules_from_dict(value)
    except RulesFormatError as error:
        key = f"assessment.{error.key}" if error.key else "assessment"
        raise PolicyFormatError(key, error.detail) from None


def _category_from_dict(c: Any, prefix: str) -> SubsidyCategory:
    if not isinstance(c, dict):
        raise PolicyFormatError(prefix.rstrip("."), "expected an object")
    _only_keys(c, _CATEGORY_KEYS, prefix)
    funders = _get(c, "funders", list, prefix, default=[])
    return SubsidyCategory(
        code=_get(c, "code", str, prefix),
        name=_get(c, "name", str, prefix),
        owner=_enum(c, "owner", DepartmentCode, prefix),
        rule=_enum(c, "rule", SubsidyRule, prefix),
        value=_optional(c, "value", _decimal, prefix),
        mode=_enum(c, "mode", SubsidyMode, prefix),
        min_age=_optional(c, "minAge", _integer, prefix),
        max_age=_optional(c, "maxAge", _integer, prefix),
        funders=tuple(_funder_from_dict(f, f"{prefix}funders[{i}].") for i, f in enumerate(funders)),
    )


def _funder_from_dict(f: Any, prefix: str) -> FunderShare:
    if not isinstance(f, dict):
        raise PolicyFormatError(prefix.rstrip("."), "expected an object")
    _only_keys(f, _FUNDER_KEYS, prefix)
    return FunderShare(funder=_get(f, "funder", str, prefix), percent=_decimal(f, "percent", prefix))


def policy_to_dict(p: YearPolicy) -> dict[str, Any]:
    """The file form of a policy; policy_from_dict(policy_to_dict(p)) == p."""
    return {
        "year": p.year,
        "standard": _money_text(p.standard),
        "fiscalSubsidy": _money_text(p.fiscal_subsidy) if p.fiscal_subsidy is not None else None,
        "windowStart": p.window_start.isoformat(),
        "windowEnd": p.window_end.isoformat(),
        "extensionEnd": _iso(p.extension_end),
        "extensionNeedsProof": p.extension_needs_proof,
        "listCutoff": _iso(p.list_cutoff),
        "ageReferenceDate": _iso(p.age_reference_date),
        "lateRule": p.late_rule.value,
        "lateWaitDays": p.late_wait_days,
        "refundClaimDeadline": _iso(p.refund_claim_deadline),
        "remitDays": p.remit_days,
        "remitAmount": _money_text(p.remit_amount),
        "newbornDays": p.newborn_days,
        "categories": [_category_to_dict(c) for c in p.categories],
        "assessment": rules_to_dict(p.assessment) if p.assessment is not None else None,
    }


def _category_to_dict(c: SubsidyCategory) -> dict[str, Any]:
    value: str | None = None
    if c.value is not None:
        # A FIXED value is money ("80.00"); a percent is written as given ("90").
        value = _money_text(c.value) if c.rule is SubsidyRule.FIXED else str(c.value)
    out: dict[str, Any] = {
        "code": c.code,
        "name": c.name,
        "owner": c.owner.value,
        "rule": c.rule.value,
        "value": value,
        "mode": c.mode.value,
        "minAge": c.min_age,
        "maxAge": c.max_age,
    }
    if c.funders:
        out["funders"] = [{"funder": f.funder, "percent": str(f.percent)} for f in c.funders]
    return out


def _money_text(value: Decimal) -> str:
    # Only whole cents are quantized for display; a wrong scale stays visible.
    return str(value.quantize(CENT)) if value == value.quantize(CENT) else str(value)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


# Small readers: each raises PolicyFormatError naming the key.

T = TypeVar("T")
_MISSING: Any = object()


def _only_keys(d: dict[str, Any], allowed: set[str], prefix: str) -> None:
    for key in d:
        if key not in allowed:
            raise PolicyFormatError(f"{prefix}{key}", "unknown key")


def _get(d: dict[str, Any], key: str, kind: type[T], prefix: str, default: Any = _MISSING) -> T:
    if key not in d or (d[key] is None and default is not _MISSING):
        if default is _MISSING:
            raise PolicyFormatError(f"{prefix}{key}", "missing")
        return default
    value = d[key]
    # bool is an int in Python; a year of `true` is still a mistake.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PolicyFormatError(f"{prefix}{key}", f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _optional(d: dict[str, Any], key: str, reader: Any, prefix: str) -> Any:
    return None if d.get(key) is None else reader(d, key, prefix)


def _integer(d: dict[str, Any], key: str, prefix: str) -> int:
    return _get(d, key, int, prefix)


def _decimal(d: dict[str, Any], key: str, prefix: str, default: Any = _MISSING) -> Decimal:
    if d.get(key) is None and default is not _MISSING:
        return default
    value = _get(d, key, object, prefix)
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise PolicyFormatError(f"{prefix}{key}", f"expected a decimal string, got {type(value).__name__}")
    try:
        # str() of a float is its shortest round-trip text: 320.5 stays 320.5.
        result = Decimal(str(value).strip())
    except InvalidOperation:
        raise PolicyFormatError(f"{prefix}{key}", f"not a number: {value!r}") from None
    if not result.is_finite():
        raise PolicyFormatError(f"{prefix}{key}", f"not a finite number: {value!r}")
    return result


def _date(d: dict[str, Any], key: str, prefix: str) -> date:
    value = _get(d, key, str, prefix)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise PolicyFormatError(f"{prefix}{key}", f"not an ISO date (YYYY-MM-DD): {value!r}") from None


E = TypeVar("E", bound=Enum)


def _enum(d: dict[str, Any], key: str, kind: type[E], prefix: str, default: Any = _MISSING) -> E:
    value = _get(d, key, str, prefix, default=default)
    if isinstance(value, kind):
        return value
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise PolicyFormatError(f"{prefix}{key}", f"expected one of {allowed}, got {value!r}") from None
