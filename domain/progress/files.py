"""The documents of quotas and assessment, as files and as stored JSON.

- Quota tables (征缴任务分配表, `examples/quotas/*.json`): the year, each unit's target by
  its code, and the total the document prints, checked against the sum.
- Assessment rules (考核, the `assessment` block of a year policy, also stored as JSONB
  with its policy): read by `rules_from_dict`, written by `rules_to_dict`, so
  `rules_from_dict(rules_to_dict(r)) == r`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError, field_validator, model_validator

from domain.files.documents import (
    DecimalText,
    Document,
    DocumentError,
    Int,
    IsoDate,
    Text,
    document_error,
)
from domain.money import CENT, ZERO
from domain.progress.assessment import (
    AssessmentRules,
    MissingFrom,
    RewardTier,
    Shortfall,
)

QUOTA_FILES = Path(__file__).resolve().parents[2] / "examples" / "quotas"


# --- quota tables -------------------------------------------------------------------


class QuotaFormatError(DocumentError):
    pass


@dataclass(frozen=True)
class TableEntry:
    code: str
    name: str | None
    target: int


@dataclass(frozen=True)
class QuotaTable:
    year: int
    entries: tuple[TableEntry, ...]
    total: int | None = None  # as printed in the document: checked against the sum

    @property
    def sum(self) -> int:
        return sum(e.target for e in self.entries)


class _QuotaEntryFile(Document):
    unit: Text
    name: Text | None = None
    target: Int

    @field_validator("unit")
    @classmethod
    def _code(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("expected a unit code")
        return value.strip()

    @field_validator("target")
    @classmethod
    def _non_negative(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must be 0 or more")
        return value


class _QuotaTableFile(Document):
    tenant: Any = None  # descriptive keys a file may carry
    source: Any = None
    notes: Any = None
    year: Int
    total: Int | None = None
    quotas: list[_QuotaEntryFile]

    @field_validator("quotas")
    @classmethod
    def _not_empty(cls, value: list[_QuotaEntryFile]) -> list[_QuotaEntryFile]:
        if not value:
            raise ValueError("expected a non-empty list")
        return value


def quota_table_from_dict(d: Any) -> QuotaTable:
    """Read a quota table. Raises QuotaFormatError naming the key."""
    if not isinstance(d, dict):
        raise QuotaFormatError("(file)", "expected an object")
    try:
        document = _QuotaTableFile.model_validate(d)
    except ValidationError as error:
        found = document_error(error)
        raise QuotaFormatError(found.key, found.detail) from None
    table = QuotaTable(
        year=document.year,
        entries=tuple(TableEntry(e.unit, e.name, e.target) for e in document.quotas),
        total=document.total,
    )
    if table.total is not None and table.total != table.sum:
        raise QuotaFormatError("total", f"the quotas add up to {table.sum}, not {table.total}")
    codes = [e.code for e in table.entries]
    if len(set(codes)) != len(codes):
        raise QuotaFormatError("quotas", "a unit code appears twice")
    return table


def read_quota_file(path: str | Path) -> QuotaTable:
    return quota_table_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


# --- assessment rules ---------------------------------------------------------------


class _TierFile(Document):
    min_rate: DecimalText
    per_enrolled: DecimalText
    by: IsoDate | None = None


class _ShortfallFile(Document):
    below_rate: DecimalText
    per_missing: DecimalText
    by: IsoDate | None = None
    missing_from: MissingFrom | None = None


class _RulesFile(Document):
    per_enrolled: DecimalText | None = None
    per_above_target: DecimalText | None = None
    per_below_target: DecimalText | None = None
    reward_tiers: list[_TierFile] | None = None
    shortfall: _ShortfallFile | None = None

    @model_validator(mode="before")
    @classmethod
    def _object(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError("expected an object")
        return value


def rules_from_dict(d: Any, prefix: str = "") -> AssessmentRules:
    """Read assessment rules. Raises DocumentError naming the key (under `prefix`)."""
    try:
        f = _RulesFile.model_validate(d)
    except ValidationError as error:
        raise document_error(error, prefix) from None
    shortfall = f.shortfall
    return AssessmentRules(
        per_enrolled=f.per_enrolled if f.per_enrolled is not None else ZERO,
        per_above_target=f.per_above_target if f.per_above_target is not None else ZERO,
        per_below_target=f.per_below_target if f.per_below_target is not None else ZERO,
        reward_tiers=tuple(RewardTier(t.min_rate, t.per_enrolled, t.by) for t in f.reward_tiers or []),
        shortfall=None if shortfall is None else Shortfall(
            shortfall.below_rate, shortfall.per_missing, shortfall.by, shortfall.missing_from or MissingFrom.TARGET
        ),
    )


def rules_to_dict(rules: AssessmentRules) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in (("perEnrolled", rules.per_enrolled), ("perAboveTarget", rules.per_above_target),
                       ("perBelowTarget", rules.per_below_target)):
        if value:
            out[key] = _text(value)
    if rules.reward_tiers:
        out["rewardTiers"] = [
            {"minRate": str(t.min_rate), "by": _iso(t.by), "perEnrolled": _text(t.per_enrolled)} for t in rules.reward_tiers
        ]
    if rules.shortfall is not None:
        s = rules.shortfall
        out["shortfall"] = {"belowRate": str(s.below_rate), "by": _iso(s.by), "perMissing": _text(s.per_missing),
                            "missingFrom": s.missing_from.value}
    return out


def _text(value: Decimal) -> str:
    return str(value.quantize(CENT)) if value == value.quantize(CENT) else str(value)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None
