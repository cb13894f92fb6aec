"""GraphQL face of the year-end assessment: the rules in the year policy, `assessment(year)`."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from strawberry.types import Info

from domain.policy import store as policy_store
from domain.progress.assessment import (
    AssessmentRules,
    MissingFrom,
    RewardTier,
    Shortfall,
)
from domain.progress.store import Measurement, UnitAssessment, assess_year
from schema.errors import PublicError
from schema.tenants import UnitType, load_unit
from tenants.problems import ErrorCode

MissingFromEnum = strawberry.enum(
    MissingFrom, name="MissingFrom", description="TARGET: missing = quota − enrolled; THRESHOLD: ⌈rate × quota⌉ − enrolled."
)
ZERO = Decimal(0)  # the inputs' default, written "0" in the schema


@strawberry.type(name="RewardTier")
class RewardTierType:
    min_rate: Decimal = strawberry.field(description="Percent of the quota, e.g. 96.5.")
    per_enrolled: Decimal
    by: date | None = strawberry.field(description="Reached by the end of this day; null: the final figure.")


@strawberry.type(name="Shortfall")
class ShortfallType:
    below_rate: Decimal
    per_missing: Decimal
    by: date | None
    missing_from: MissingFromEnum


@strawberry.type(name="AssessmentRules")
class AssessmentRulesType:
    per_enrolled: Decimal
    per_above_target: Decimal
    per_below_target: Decimal
    reward_tiers: list[RewardTierType]
    shortfall: ShortfallType | None

    @classmethod
    def of(cls, rules: AssessmentRules) -> AssessmentRulesType:
        s = rules.shortfall
        return cls(
            per_enrolled=rules.per_enrolled,
            per_above_target=rules.per_above_target,
            per_below_target=rules.per_below_target,
            reward_tiers=[RewardTierType(min_rate=t.min_rate, per_enrolled=t.per_enrolled, by=t.by) for t in rules.reward_tiers],
            shortfall=(
                ShortfallType(below_rate=s.below_rate, per_missing=s.per_missing, by=s.by, missing_from=s.missing_from) if s else None
            ),
        )


@strawberry.input
class RewardTierInput:
    min_rate: Decimal
    per_enrolled: Decimal
    by: date | None = None


@strawberry.input
class ShortfallInput:
    below_rate: Decimal
    per_missing: Decimal
    by: date | None = None
    missing_from: MissingFromEnum = MissingFrom.TARGET


@strawberry.input(description="Rewards and penalties of the year (双牌: tiers and a shortfall; 内乡: per person).")
class AssessmentRulesInput:
    per_enrolled: Decimal = ZERO
    per_above_target: Decimal = ZERO
    per_below_target: Decimal = ZERO
    reward_tiers: list[RewardTierInput] | None = None
    shortfall: ShortfallInput | None = None


def to_rules(input: AssessmentRulesInput | None) -> AssessmentRules | None:
    if input is None:
        return None
    s = input.shortfall
    return AssessmentRules(
        per_enrolled=input.per_enrolled,
        per_above_target=input.per_above_target,
        per_below_target=input.per_below_target,
        reward_tiers=tuple(RewardTier(t.min_rate, t.per_enrolled, t.by) for t in input.reward_tiers or []),
        shortfall=Shortfall(s.below_rate, s.per_missing, s.by, MissingFrom(s.missing_from)) if s else None,
    )


@strawberry.type
class AssessmentLine:
    code: str = strawberry.field(description="PER_ENROLLED, ABOVE_TARGET, BELOW_TARGET, TIER or SHORTFALL.")
    description: str
    persons: int
    per_person: Decimal
    amount: Decimal = strawberry.field(description="Rewards positive, penalties negative.")
    on: date | None


@strawberry.type
class AssessmentMeasurement:
    on: date | None = strawberry.field(description="The day a rule counts on; null: the final figure.")
    measured_on: date | None = strawberry.field(
        description="A past day, counted from the record as it stood at the end of that day (Beijing time); "
        "null: the live figures (the final figure, or a day not over yet)."
    )
    enrolled: int


@strawberry.type(name="UnitAssessment")
class UnitAssessmentType:
    unit_id: strawberry.Private[int]
    target: int
    enrolled: int
    rate: float
    reward: Decimal
    penalty: Decimal
    net: Decimal
    lines: list[AssessmentLine]
    measurements: list[AssessmentMeasurement]

    @strawberry.field
    async def unit(self, info: Info) -> UnitType:
        return await load_unit(info, self.unit_id)

    @classmethod
    def of(cls, a: UnitAssessment) -> UnitAssessmentType:
        r = a.result
        return cls(
            unit_id=a.unit.unit_id,
            target=r.target,
            enrolled=r.enrolled,
            rate=r.enrolled / r.target if r.target else 0.0,
            reward=r.reward,
            penalty=r.penalty,
            net=r.net,
            lines=[AssessmentLine(code=line.code, description=line.description, persons=line.persons, per_person=line.rate,
                                  amount=line.amount, on=line.on) for line in r.lines],
            measurements=[_measurement(m) for m in a.measurements],
        )


def _measurement(m: Measurement) -> AssessmentMeasurement:
    return AssessmentMeasurement(on=m.on, measured_on=m.count.measured_on, enrolled=m.count.enrolled)


@strawberry.type
class AssessmentQueries:
    @strawberry.field(description="Each unit with a quota: its reward or penalty by the year policy's rules.")
    async def assessment(self, info: Info, year: int) -> list[UnitAssessmentType]:
        context = info.context
        principal = await context.check("assessment", "read")
        policy = await policy_store.load_policy(context.db, principal.tenant_id, year)
        if policy is None:
            raise PublicError(ErrorCode.NO_POLICY, {"year": year})
        if policy.assessment is None:
            raise PublicError(ErrorCode.NO_ASSESSMENT_RULES, {"year": year})
        today = context.services.clock.today()
        found = await assess_year(context.db, principal.tenant_id, year, policy.assessment, today, principal.scope_path)
        return [UnitAssessmentType.of(a) for a in found]
