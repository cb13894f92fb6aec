"""Year policies as files (`examples/policies/*.json`, `zhengjiao policy apply`).

The keys are those of `YearPolicyInput` (camelCase), money as strings ("350.00"), dates
as ISO strings; `tenant`, `source` and `notes` may describe the file and are not part of
the policy. `policy_from_dict(policy_to_dict(p)) == p`.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import Field, ValidationError

from domain.files.documents import (
    DecimalText,
    Document,
    DocumentError,
    Flag,
    Int,
    IsoDate,
    Text,
    document_error,
)
from domain.money import CENT
from domain.payments.rules import ChannelRule, PaymentChannel, RecorderKind
from domain.policy.rules import (
    FunderShare,
    LateRule,
    NewbornLateRule,
    SubsidyCategory,
    SubsidyMode,
    SubsidyRule,
    YearPolicy,
)
from domain.progress.files import rules_from_dict, rules_to_dict
from tenants.kinds import DepartmentCode


class PolicyFormatError(DocumentError):
    """A malformed policy file; `key` is the path of the offending key."""


class _FunderFile(Document):
    funder: Text
    percent: DecimalText


class _CategoryFile(Document):
    code: Text
    name: Text
    owner: DepartmentCode
    rule: SubsidyRule
    value: DecimalText | None = None
    mode: SubsidyMode
    min_age: Int | None = None
    max_age: Int | None = None
    funders: list[_FunderFile] | None = None


class _ChannelRuleFile(Document):
    channels: list[PaymentChannel]
    recorded_by: list[RecorderKind] | None = None
    open_from: IsoDate | None = Field(default=None, alias="from")
    open_until: IsoDate | None = Field(default=None, alias="until")


class _PolicyFile(Document):
    tenant: Any = None  # descriptive keys a file may carry
    source: Any = None
    notes: Any = None
    year: Int
    standard: DecimalText
    fiscal_subsidy: DecimalText | None = None
    window_start: IsoDate
    window_end: IsoDate
    extension_end: IsoDate | None = None
    extension_needs_proof: Flag | None = None
    list_cutoff: IsoDate | None = None
    age_reference_date: IsoDate | None = None
    late_rule: LateRule | None = None
    late_wait_days: Int | None = None
    categories: list[_CategoryFile]
    refund_claim_deadline: IsoDate | None = None
    remit_days: Int | None = None
    remit_amount: DecimalText | None = None
    newborn_days: Int | None = None
    newborn_months: Int | None = None
    newborn_late_rule: NewbornLateRule | None = None
    newborn_parent_exemption: Flag | None = None
    subsidized_grace_months: Int | None = None
    call_in_bottom: Int | None = None
    assessment: Any = None  # read by progress/files.py, its errors named under "assessment"
    channel_rules: list[_ChannelRuleFile] | None = None


def policy_from_dict(d: dict[str, Any]) -> YearPolicy:
    """Read a policy file's dict. Raises PolicyFormatError (a ValueError) naming the key."""
    try:
        f = _PolicyFile.model_validate(d)
        assessment = None if f.assessment is None else rules_from_dict(f.assessment, "assessment")
    except ValidationError as error:
        found = document_error(error)
        raise PolicyFormatError(found.key, found.detail) from None
    except DocumentError as error:
        raise PolicyFormatError(error.key, error.detail) from None
    defaults = YearPolicy(year=f.year, standard=f.standard, fiscal_subsidy=None, window_start=f.window_start,
                          window_end=f.window_end)
    return YearPolicy(
        year=f.year,
        standard=f.standard,
        fiscal_subsidy=f.fiscal_subsidy,
        window_start=f.window_start,
        window_end=f.window_end,
        extension_end=f.extension_end,
        extension_needs_proof=_given(f.extension_needs_proof, defaults.extension_needs_proof),
        list_cutoff=f.list_cutoff,
        age_reference_date=f.age_reference_date,
        late_rule=_given(f.late_rule, defaults.late_rule),
        late_wait_days=_given(f.late_wait_days, defaults.late_wait_days),
        categories=tuple(_category(c) for c in f.categories),
        refund_claim_deadline=f.refund_claim_deadline,
        remit_days=_given(f.remit_days, defaults.remit_days),
        remit_amount=_given(f.remit_amount, defaults.remit_amount),
        # A period in months needs no days: the days' default only fills an empty period.
        newborn_days=f.newborn_days if f.newborn_months is not None else _given(f.newborn_days, defaults.newborn_days),
        newborn_months=f.newborn_months,
        newborn_late_rule=_given(f.newborn_late_rule, defaults.newborn_late_rule),
        newborn_parent_exemption=_given(f.newborn_parent_exemption, defaults.newborn_parent_exemption),
        subsidized_grace_months=_given(f.subsidized_grace_months, defaults.subsidized_grace_months),
        assessment=assessment,
        call_in_bottom=f.call_in_bottom,
        channel_rules=tuple(_channel_rule(r) for r in f.channel_rules or []),
    )


def channel_rules_from_list(data: list[Any]) -> tuple[ChannelRule, ...]:
    """Channel rules as stored (`year_policy.channel_rules`, the file's list)."""
    return tuple(_channel_rule(_ChannelRuleFile.model_validate(r)) for r in data)


def _channel_rule(r: _ChannelRuleFile) -> ChannelRule:
    return ChannelRule(
        channels=tuple(r.channels), recorded_by=tuple(r.recorded_by or []), open_from=r.open_from, open_until=r.open_until,
    )


def _given(value: Any, default: Any) -> Any:
    """A key left out or written as null takes the policy's default."""
    return default if value is None else value


def _category(c: _CategoryFile) -> SubsidyCategory:
    return SubsidyCategory(
        code=c.code, name=c.name, owner=c.owner, rule=c.rule, value=c.value, mode=c.mode, min_age=c.min_age,
        max_age=c.max_age, funders=tuple(FunderShare(f.funder, f.percent) for f in c.funders or []),
    )


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
        "newbornMonths": p.newborn_months,
        "newbornLateRule": p.newborn_late_rule.value,
        "newbornParentExemption": p.newborn_parent_exemption,
        "subsidizedGraceMonths": p.subsidized_grace_months,
        "categories": [_category_to_dict(c) for c in p.categories],
        "assessment": rules_to_dict(p.assessment) if p.assessment is not None else None,
        "callInBottom": p.call_in_bottom,
        "channelRules": [channel_rule_to_dict(r) for r in p.channel_rules],
    }


def channel_rule_to_dict(r: ChannelRule) -> dict[str, Any]:
    return {
        "channels": [c.value for c in r.channels],
        "recordedBy": [k.value for k in r.recorded_by],
        "from": _iso(r.open_from),
        "until": _iso(r.open_until),
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
