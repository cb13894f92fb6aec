"""GraphQL face of quotas: setQuotas, quotas(year)."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.progress import store as progress_store
from domain.progress.rules import QuotaEntry
from domain.progress.store import QuotaChange, QuotaRow
from schema.errors import UserError
from schema.mutations import Audit, run_mutation
from schema.relay import parse_global_id
from schema.tenants import UnitType, load_unit


@strawberry.type(name="Quota")
class QuotaType:
    year: int
    target: int
    unit_id: strawberry.Private[int]

    @strawberry.field
    async def unit(self, info: Info) -> UnitType:
        return await load_unit(info, self.unit_id)

    @classmethod
    def of(cls, year: int, row: QuotaRow) -> QuotaType:
        return cls(year=year, target=row.target, unit_id=row.unit_id)


@strawberry.input
class QuotaInput:
    unit: strawberry.ID
    target: int


@strawberry.input
class SetQuotasInput:
    year: int
    quotas: list[QuotaInput]
    replace: bool = strawberry.field(default=False, description="Drop the year's quotas of units not listed.")
    client_mutation_id: str | None = None


@strawberry.type
class SetQuotasPayload:
    quotas: list[QuotaType] = strawberry.field(description="All of the year's quotas after the change.")
    user_errors: list[UserError]
    client_mutation_id: str | None = None


async def _set_quotas(info: Info, input: SetQuotasInput, audit: Audit) -> list[QuotaRow]:
    context = info.context
    principal = await context.require("quota", "write")
    entries = [QuotaEntry(parse_global_id(q.unit, "Unit"), q.target) for q in input.quotas]
    change: QuotaChange = await progress_store.set_quotas(
        context.db, principal.tenant_id, input.year, entries, principal.subject, replace=input.replace
    )
    audit.entity, audit.entity_id = "quota", input.year
    audit.before = {"targets": change.before}
    audit.after = {"targets": change.after, "removed": change.removed, "replace": input.replace}
    return await progress_store.quota_rows(context.db, principal.tenant_id, input.year)


@strawberry.type
class QuotaQueries:
    @strawberry.field(description="The year's quotas of units inside the caller's scope, by unit code.")
    async def quotas(self, info: Info, year: int) -> list[QuotaType]:
        principal = await info.context.check("quota", "read")
        rows = await progress_store.quota_rows(info.context.db, principal.tenant_id, year, principal.scope_path)
        return [QuotaType.of(year, r) for r in rows]


@strawberry.type
class QuotaMutations:
    @strawberry.mutation(description="COUNTY_ADMIN: each unit's enrolment target for a year (征缴任务).")
    async def set_quotas(self, info: Info, input: SetQuotasInput) -> SetQuotasPayload:
        outcome = await run_mutation(info, "setQuotas", lambda audit: _set_quotas(info, input, audit))
        rows = outcome.value or []
        return SetQuotasPayload(
            quotas=[QuotaType.of(input.year, r) for r in rows],
            user_errors=outcome.errors,
            client_mutation_id=input.client_mutation_id,
        )
