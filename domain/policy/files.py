""""""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, TypeVar

from domain.money import CENT
from domain.policy.rules import (
    FunderShare,
    LateRule,
    SubsidyCategory,
    SubsidyMode,
    SubsidyRule,
    YearPolicy,
)
from domain.progress.assessment import (
    AssessmentRules,
    RulesFormatError,
    rules_from_dict,
    rules_to_dict,
)
from tenants.kinds import DepartmentCode

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
