"""GraphQL face of year policies: yearPolicy, setYearPolicy."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from strawberry.types import Info

from domain.policy import store as policy_store
from domain.policy.files import channel_rule_to_dict
from domain.policy.funding import subsidy_funding
from domain.policy.rules import (
    DEFAULT_NEWBORN_DAYS,
    FunderShare,
    FundingLine,
    LateRule,
    NewbornLateRule,
    SubsidyCategory,
    SubsidyMode,
    SubsidyRule,
    YearPolicy,
    category_amount,
)
from schema.channel_rules import ChannelRuleInput, ChannelRuleType, to_channel_rule
from schema.errors import PublicError, UserError
from schema.mutations import Audit, run_mutation
from schema.progress.assessment import (
    AssessmentRulesInput,
    AssessmentRulesType,
    to_rules,
)
from schema.tenants import DepartmentCodeEnum, UnitType, load_unit
from tenants.kinds import DepartmentCode
from tenants.onboarding import bump_authz_version
from tenants.problems import ErrorCode

SubsidyRuleEnum = strawberry.enum(SubsidyRule, name="SubsidyRule")
SubsidyModeEnum = strawberry.enum(SubsidyMode, name="SubsidyMode")
LateRuleEnum = strawberry.enum(LateRule, name="LateRule")
NewbornLateRuleEnum = strawberry.enum(
    NewbornLateRule, name="NewbornLateRule", description="A newborn enrolled after its newborn period."
)


@strawberry.type
class FunderShareType:
    funder: str
    percent: Decimal


@strawberry.type(name="SubsidyCategory")
class SubsidyCategoryType:
    code: str
    name: str
    owner: DepartmentCodeEnum
    rule: SubsidyRuleEnum
    value: Decimal | None
    mode: SubsidyModeEnum
    min_age: int | None
    max_age: int | None
    funders: list[FunderShareType]
    amount: Decimal = strawberry.field(description="The subsidy this category gives at the year's standard.")

    @classmethod
    def of(cls, category: SubsidyCategory, standard: Decimal) -> SubsidyCategoryType:
        return cls(
            code=category.code,
            name=category.name,
            owner=category.owner,
            rule=category.rule,
            value=category.value,
            mode=category.mode,
            min_age=category.min_age,
            max_age=category.max_age,
            funders=[FunderShareType(funder=f.funder, percent=f.percent) for f in category.funders],
            amount=category_amount(category, standard),
        )


@strawberry.type(name="YearPolicy")
class YearPolicyType:
    year: int
    standard: Decimal
    fiscal_subsidy: Decimal | None
    window_start: date
    window_end: date
    extension_end: date | None
    extension_needs_proof: bool
    list_cutoff: date | None
    age_reference_date: date
    late_rule: LateRuleEnum
    late_wait_days: int
    refund_claim_deadline: date | None
    remit_days: int
    remit_amount: Decimal
    newborn_days: int | None = strawberry.field(description="The newborn period in days (内乡 90); null when in months.")
    newborn_months: int | None = strawberry.field(
        description="The newborn period in calendar months (八公山 3: born 01-31 → until 04-30); null when in days."
    )
    newborn_late_rule: NewbornLateRuleEnum
    newborn_parent_exemption: bool = strawberry.field(
        description="A newborn whose father or mother is insured in the city is enrolled for its birth year without paying."
    )
    subsidized_grace_months: int = strawberry.field(
        description="Months after the window in which a person with a subsidy category still pays as in the window."
    )
    categories: list[SubsidyCategoryType]
    assessment: AssessmentRulesType | None = strawberry.field(description="Rewards and penalties of the year.")
    channel_rules: list[ChannelRuleType] = strawberry.field(
        description="Which channels are open to which recorders, and when; empty: every channel open."
    )
    call_in_bottom: int | None = strawberry.field(
        description="The bottom N of a ranking that are below their quota are called in (内乡: 3); null: no such rule."
    )

    @classmethod
    def of(cls, policy: YearPolicy) -> YearPolicyType:
        return cls(
            year=policy.year,
            standard=policy.standard,
            fiscal_subsidy=policy.fiscal_subsidy,
            window_start=policy.window_start,
            window_end=policy.window_end,
            extension_end=policy.extension_end,
            extension_needs_proof=policy.extension_needs_proof,
            list_cutoff=policy.list_cutoff,
            age_reference_date=policy.reference_date,
            late_rule=policy.late_rule,
            late_wait_days=policy.late_wait_days,
            refund_claim_deadline=policy.refund_claim_deadline,
            remit_days=policy.remit_days,
            remit_amount=policy.remit_amount,
            newborn_days=policy.newborn_days,
            newborn_months=policy.newborn_months,
            newborn_late_rule=policy.newborn_late_rule,
            newborn_parent_exemption=policy.newborn_parent_exemption,
            subsidized_grace_months=policy.subsidized_grace_months,
            categories=[SubsidyCategoryType.of(c, policy.standard) for c in policy.categories],
            assessment=AssessmentRulesType.of(policy.assessment) if policy.assessment else None,
            channel_rules=[ChannelRuleType.of(r) for r in policy.channel_rules],
            call_in_bottom=policy.call_in_bottom,
        )


@strawberry.input
class FunderShareInput:
    funder: str
    percent: Decimal


@strawberry.input
class SubsidyCategoryInput:
    code: str
    name: str
    owner: DepartmentCodeEnum
    rule: SubsidyRuleEnum
    value: Decimal | None = None
    mode: SubsidyModeEnum
    min_age: int | None = strawberry.field(default=None, description="minAge/maxAge: automatic by age, no list.")
    max_age: int | None = None
    funders: list[FunderShareInput] | None = None


@strawberry.input
class YearPolicyInput:
    year: int
    standard: Decimal
    window_start: date
    window_end: date
    extension_end: date | None = None
    list_cutoff: date | None = None
    age_reference_date: date | None = None
    categories: list[SubsidyCategoryInput]
    fiscal_subsidy: Decimal | None = None
    extension_needs_proof: bool = False
    late_rule: LateRuleEnum = LateRule.REFUSED
    late_wait_days: int = 30
    refund_claim_deadline: date | None = None
    remit_days: int = 5
    remit_amount: Decimal = Decimal("10000")
    newborn_days: int | None = strawberry.field(
        default=None, description=f"The newborn period in days; {DEFAULT_NEWBORN_DAYS} when neither this nor newbornMonths is given."
    )
    newborn_months: int | None = strawberry.field(default=None, description="The newborn period in calendar months.")
    newborn_late_rule: NewbornLateRuleEnum = NewbornLateRule.GENERAL
    newborn_parent_exemption: bool = False
    subsidized_grace_months: int = 0
    assessment: AssessmentRulesInput | None = None
    channel_rules: list[ChannelRuleInput] | None = strawberry.field(
        default=None, description="Null or empty: every channel open to every recorder all campaign."
    )
    call_in_bottom: int | None = strawberry.field(
        default=None, description="内乡 \"排名后三名且未完成任务的…约谈\": 3. Ties at the N-th place are all in."
    )
    client_mutation_id: str | None = None


@strawberry.type
class SetYearPolicyPayload:
    policy: YearPolicyType | None
    recomputed: int = strawberry.field(description="Enrolments recomputed for the year.")
    user_errors: list[UserError]
    client_mutation_id: str | None = None


def to_policy(input: YearPolicyInput) -> YearPolicy:
    return YearPolicy(
        year=input.year,
        standard=input.standard,
        fiscal_subsidy=input.fiscal_subsidy,
        window_start=input.window_start,
        window_end=input.window_end,
        extension_end=input.extension_end,
        extension_needs_proof=input.extension_needs_proof,
        list_cutoff=input.list_cutoff,
        age_reference_date=input.age_reference_date,
        late_rule=LateRule(input.late_rule),
        late_wait_days=input.late_wait_days,
        refund_claim_deadline=input.refund_claim_deadline,
        remit_days=input.remit_days,
        remit_amount=input.remit_amount,
        newborn_days=_newborn_days(input),
        newborn_months=input.newborn_months,
        newborn_late_rule=NewbornLateRule(input.newborn_late_rule),
        newborn_parent_exemption=input.newborn_parent_exemption,
        subsidized_grace_months=input.subsidized_grace_months,
        categories=tuple(
            SubsidyCategory(
                code=c.code.strip(),
                name=c.name,
                owner=DepartmentCode(c.owner),
                rule=SubsidyRule(c.rule),
                value=c.value,
                mode=SubsidyMode(c.mode),
                min_age=c.min_age,
                max_age=c.max_age,
                funders=tuple(FunderShare(f.funder.strip(), f.percent) for f in c.funders or []),
            )
            for c in input.categories
        ),
        assessment=to_rules(input.assessment),
        channel_rules=tuple(to_channel_rule(r) for r in input.channel_rules or []),
        call_in_bottom=input.call_in_bottom,
    )


def _newborn_days(input: YearPolicyInput) -> int | None:
    # A period in months needs no days; with neither, the default of 90 days.
    if input.newborn_days is None and input.newborn_months is None:
        return DEFAULT_NEWBORN_DAYS
    return input.newborn_days


async def _set_policy(info: Info, input: YearPolicyInput, audit: Audit) -> tuple[YearPolicy, int]:
    context = info.context
    principal = await context.require("policy", "write")
    policy = to_policy(input)
    recomputed = await policy_store.save_policy(context.db, principal.tenant_id, policy, principal.subject)
    await bump_authz_version(context.db, principal.tenant_id)  # category owners feed casbin
    audit.entity, audit.entity_id = "year_policy", policy.year
    audit.after = {
        "standard": str(policy.standard), "categories": [c.code for c in policy.categories],
        "channelRules": [channel_rule_to_dict(r) for r in policy.channel_rules],
    }
    return await policy_store.load_policy(context.db, principal.tenant_id, policy.year), recomputed


@strawberry.type
class SubsidyFundingLine:
    unit_id: strawberry.Private[int | None]
    category: str = strawberry.field(description="The category's code.")
    category_name: str
    funder: str | None = strawberry.field(
        description="The budget paying this share (枣庄 独生子女: city, township); null: the category names no funder "
        "and this line is its whole amount."
    )
    persons: int = strawberry.field(description="Persons enrolled (PAID or SUBSIDIZED) with this subsidy.")
    amount: Decimal = strawberry.field(description="This funder's share of their subsidies, split person by person.")

    @strawberry.field(description="The child unit; null for the parent's own persons.")
    async def unit(self, info: Info) -> UnitType | None:
        return await load_unit(info, self.unit_id)

    @classmethod
    def of(cls, line: FundingLine, names: dict[str, str]) -> SubsidyFundingLine:
        return cls(unit_id=line.unit_id, category=line.category, category_name=names.get(line.category, line.category),
                   funder=line.funder, persons=line.persons, amount=line.amount)


@strawberry.type
class SubsidyFunderTotal:
    funder: str | None = strawberry.field(description="Null: the categories that name no funder.")
    persons: int
    amount: Decimal


@strawberry.type
class SubsidyFundingTotals:
    persons: int = strawberry.field(description="Each subsidised person once (a split category has a line per funder).")
    amount: Decimal = strawberry.field(description="Exactly the sum of the lines' amounts.")


@strawberry.type
class SubsidyFunding:
    year: int
    lines: list[SubsidyFundingLine]
    by_funder: list[SubsidyFunderTotal]
    totals: SubsidyFundingTotals


@strawberry.type
class PolicyQueries:
    @strawberry.field(description="The county's policy for a benefit year.")
    async def year_policy(self, info: Info, year: int) -> YearPolicyType | None:
        principal = await info.context.check("policy", "read")
        policy = await policy_store.load_policy(info.context.db, principal.tenant_id, year)
        return YearPolicyType.of(policy) if policy else None

    @strawberry.field(
        description="Subsidy money in force per child unit of `parent` (per township by default), category and funder: "
        "what each budget owes. Who may: as for reconciliation."
    )
    async def subsidy_funding(self, info: Info, year: int, parent: strawberry.ID | None = None) -> SubsidyFunding:
        from schema.persons import filter_path  # (here: schema.persons imports this module, via enrollment)

        context = info.context
        principal = await context.check("reconciliation", "read")
        path = await filter_path(info, principal, parent)
        policy = await policy_store.load_policy(context.db, principal.tenant_id, year)
        if policy is None:
            raise PublicError(ErrorCode.NO_POLICY, {"year": year})
        found = await subsidy_funding(context.db, principal.tenant_id, policy, path)
        names = {c.code: c.name for c in policy.categories}
        return SubsidyFunding(
            year=year,
            lines=[SubsidyFundingLine.of(line, names) for line in found.lines],
            by_funder=[SubsidyFunderTotal(funder=t.funder, persons=t.persons, amount=t.amount) for t in found.by_funder],
            totals=SubsidyFundingTotals(persons=found.persons, amount=found.amount),
        )


@strawberry.type
class PolicyMutations:
    @strawberry.mutation(description="COUNTY_ADMIN, 医保局: set a year's policy; recomputes the year's enrolments.")
    async def set_year_policy(self, info: Info, input: YearPolicyInput) -> SetYearPolicyPayload:
        outcome = await run_mutation(info, "setYearPolicy", lambda audit: _set_policy(info, input, audit))
        policy, recomputed = outcome.value or (None, 0)
        return SetYearPolicyPayload(
            policy=YearPolicyType.of(policy) if policy else None,
            recomputed=recomputed,
            user_errors=outcome.errors,
            client_mutation_id=input.client_mutation_id,
        )
