"""Saving and loading year policies; saving one recomputes that year's enrolments."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert

from domain.enrollment.store import recompute_year
from domain.enrollment.tables import NewbornExemption
from domain.policy.files import channel_rule_to_dict, channel_rules_from_list
from domain.policy.rules import (
    FunderShare,
    LateRule,
    NewbornLateRule,
    SubsidyCategory,
    SubsidyMode,
    SubsidyRule,
    YearPolicy,
    category_amount,
    validate_policy,
)
from domain.policy.tables import SubsidyCategoryRow, YearPolicyRow
from domain.progress.assessment import AssessmentRules
from domain.progress.files import rules_from_dict, rules_to_dict
from domain.progress.tables import AssessmentRulesRow
from domain.subsidy_lists.tables import SubsidyBatch
from tenants.kept import Kept
from tenants.kinds import DepartmentCode
from tenants.models import Department
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.session import Db

_POLICY_COLUMNS = (
    "standard", "fiscal_subsidy", "window_start", "window_end", "extension_end", "extension_needs_proof",
    "list_cutoff", "age_reference_date", "late_rule", "late_wait_days", "refund_claim_deadline",
    "remit_days", "remit_amount", "newborn_days", "newborn_months", "newborn_late_rule", "newborn_parent_exemption",
    "subsidized_grace_months", "call_in_bottom",
)


async def tenant_departments(db: Db, tenant_id: int) -> set[DepartmentCode]:
    rows = await db.execute(select(Department.code).where(Department.tenant_id == tenant_id))
    return {DepartmentCode(r[0]) for r in rows}


def _policy_values(policy: YearPolicy) -> dict:
    return {
        "standard": policy.standard,
        "fiscal_subsidy": policy.fiscal_subsidy,
        "window_start": policy.window_start,
        "window_end": policy.window_end,
        "extension_end": policy.extension_end,
        "extension_needs_proof": policy.extension_needs_proof,
        "list_cutoff": policy.list_cutoff,
        "age_reference_date": policy.reference_date,
        "late_rule": policy.late_rule.value,
        "late_wait_days": policy.late_wait_days,
        "refund_claim_deadline": policy.refund_claim_deadline,
        "remit_days": policy.remit_days,
        "remit_amount": policy.remit_amount,
        "newborn_days": policy.newborn_days,
        "channel_rules": [channel_rule_to_dict(r) for r in policy.channel_rules],
        "newborn_months": policy.newborn_months,
        "newborn_late_rule": policy.newborn_late_rule.value,
        "newborn_parent_exemption": policy.newborn_parent_exemption,
        "subsidized_grace_months": policy.subsidized_grace_months,
        "call_in_bottom": policy.call_in_bottom,
    }


def _category_values(tenant_id: int, policy: YearPolicy, category: SubsidyCategory, position: int) -> dict:
    return {
        "tenant_id": tenant_id,
        "year": policy.year,
        "code": category.code,
        "name": category.name.strip(),
        "owner": category.owner.value,
        "rule": category.rule.value,
        "value": category.value,
        "mode": category.mode.value,
        "min_age": category.min_age,
        "max_age": category.max_age,
        "funders": [{"funder": f.funder, "percent": str(f.percent)} for f in category.funders] or None,
        "amount": category_amount(category, policy.standard),
        "position": position,
    }


async def _categories_in_use(db: Db, tenant_id: int, year: int, keep: set[str]) -> list[str]:
    rows = await db.execute(
        select(SubsidyBatch.category_code)
        .where(SubsidyBatch.tenant_id == tenant_id, SubsidyBatch.year == year)
        .distinct()
    )
    return sorted(code for (code,) in rows if code not in keep)


async def save_policy(db: Db, tenant_id: int, policy: YearPolicy, actor: str) -> int:
    """Validate, write the policy and its categories, recompute the year. Returns the
    number of enrolments recomputed. Raises Rejected with every problem found."""
    problems = validate_policy(policy, await tenant_departments(db, tenant_id))
    keep = {c.code for c in policy.categories}
    for code in await _categories_in_use(db, tenant_id, policy.year, keep):
        problems.append(
            Problem(ErrorCode.CATEGORY_IN_USE, ["categories"], {"code": code})
        )
    if not policy.newborn_parent_exemption:
        exempt = await _exemptions_in_force(db, tenant_id, policy.year)
        if exempt:
            problems.append(
                Problem(ErrorCode.EXEMPTIONS_IN_FORCE, ["newbornParentExemption"], {"exempt": exempt, "year": policy.year})
            )
    if problems:
        raise Rejected(problems)
    values = _policy_values(policy)
    await db.execute(
        insert(YearPolicyRow)
        .values(tenant_id=tenant_id, year=policy.year, updated_by=actor, **values)
        .on_conflict_do_update(index_elements=["tenant_id", "year"], set_={**values, "updated_by": actor, "updated_at": text("now()")})
    )
    await db.execute(
        delete(SubsidyCategoryRow).where(
            SubsidyCategoryRow.tenant_id == tenant_id,
            SubsidyCategoryRow.year == policy.year,
            SubsidyCategoryRow.code.not_in(keep),
        )
    )
    await _save_assessment(db, tenant_id, policy, actor)
    if policy.categories:
        statement = insert(SubsidyCategoryRow)
        rows = [_category_values(tenant_id, policy, c, i) for i, c in enumerate(policy.categories)]
        await db.execute(
            statement.on_conflict_do_update(
                index_elements=["tenant_id", "year", "code"],
                set_={k: statement.excluded[k] for k in rows[0] if k not in ("tenant_id", "year", "code")},
            ),
            rows,
        )
    # Cached policies of this county are stale from the commit on (PolicyCache).
    await db.execute(text("UPDATE tenant SET policy_version = policy_version + 1 WHERE id = :id"), {"id": tenant_id})
    return await recompute_year(db, tenant_id, policy.year)


async def _exemptions_in_force(db: Db, tenant_id: int, year: int) -> int:
    return await db.scalar(
        select(func.count()).select_from(NewbornExemption).where(
            NewbornExemption.tenant_id == tenant_id, NewbornExemption.year == year, NewbornExemption.withdrawn_at.is_(None)
        )
    )


async def _save_assessment(db: Db, tenant_id: int, policy: YearPolicy, actor: str) -> None:
    """The policy is set whole: a policy without assessment rules drops the old ones."""
    if policy.assessment is None:
        await db.execute(
            delete(AssessmentRulesRow).where(AssessmentRulesRow.tenant_id == tenant_id, AssessmentRulesRow.year == policy.year)
        )
        return
    rules = rules_to_dict(policy.assessment)
    await db.execute(
        insert(AssessmentRulesRow)
        .values(tenant_id=tenant_id, year=policy.year, rules=rules, updated_by=actor)
        .on_conflict_do_update(
            index_elements=["tenant_id", "year"], set_={"rules": rules, "updated_by": actor, "updated_at": text("now()")}
        )
    )


async def _load_assessment(db: Db, tenant_id: int, year: int) -> AssessmentRules | None:
    rules = await db.scalar(
        select(AssessmentRulesRow.rules).where(AssessmentRulesRow.tenant_id == tenant_id, AssessmentRulesRow.year == year)
    )
    return rules_from_dict(rules) if rules is not None else None


def _category_from_row(row) -> SubsidyCategory:  # noqa: ANN001
    return SubsidyCategory(
        code=row.code,
        name=row.name,
        owner=DepartmentCode(row.owner),
        rule=SubsidyRule(row.rule),
        value=row.value,
        mode=SubsidyMode(row.mode),
        min_age=row.min_age,
        max_age=row.max_age,
        funders=tuple(FunderShare(f["funder"], Decimal(f["percent"])) for f in row.funders or []),
    )


async def load_policy(db: Db, tenant_id: int, year: int) -> YearPolicy | None:
    row = (
        await db.execute(select(YearPolicyRow).where(YearPolicyRow.tenant_id == tenant_id, YearPolicyRow.year == year))
    ).first()
    if row is None:
        return None
    policy = row
    categories = await db.execute(
        select(SubsidyCategoryRow)
        .where(SubsidyCategoryRow.tenant_id == tenant_id, SubsidyCategoryRow.year == year)
        .order_by(SubsidyCategoryRow.position, SubsidyCategoryRow.code)
    )
    return YearPolicy(
        year=year,
        categories=tuple(_category_from_row(c) for c in categories),
        **{name: getattr(policy, name) for name in _POLICY_COLUMNS if name not in ("late_rule", "newborn_late_rule")},
        late_rule=LateRule(policy.late_rule),
        newborn_late_rule=NewbornLateRule(policy.newborn_late_rule),
        assessment=await _load_assessment(db, tenant_id, year),
        channel_rules=channel_rules_from_list(policy.channel_rules),
    )


async def policy_years(db: Db, tenant_id: int) -> list[int]:
    rows = await db.execute(select(YearPolicyRow.year).where(YearPolicyRow.tenant_id == tenant_id).order_by(YearPolicyRow.year))
    return [r[0] for r in rows]


class PolicyCache:
    """Year policies kept in the process, per county and year, with the county's
    `policy_version` they were read at. A caller hands in the version it read with the
    caller (at the start of its request): a policy saved since, by any process, has
    moved the version and is read again. An entry may hold a policy newer than its
    version (saved and committed between the two reads), never an older one."""

    def __init__(self, size: int = 256) -> None:
        self._kept: Kept[tuple[int, int], tuple[int, YearPolicy | None]] = Kept(size)

    async def get(self, db: Db, tenant_id: int, year: int, version: int) -> YearPolicy | None:
        key = (tenant_id, year)
        kept = self._kept.get(key)
        if kept is not None and kept[0] == version:
            return kept[1]
        policy = await load_policy(db, tenant_id, year)
        self._kept.put(key, (version, policy))
        return policy
