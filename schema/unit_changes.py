"""GraphQL face of day two of the tree: updateUnit, mergeUnits, retireUnit (COUNTY_ADMIN).

Each runs in one savepoint through `run_mutation`: audited before → after, problems as
userErrors naming the field, nothing written on a refusal (tenants/unit_changes.py).
"""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from schema.errors import UserError
from schema.mutations import Audit, run_mutation
from schema.relay import parse_global_id
from schema.tenants import UnitType
from tenants import unit_changes
from tenants import units as unit_queries
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.units import UnitRow


@strawberry.input
class UpdateUnitInput:
    unit: strawberry.ID
    name: str | None = None
    code: str | None = None


@strawberry.input
class MergeUnitsInput:
    from_: strawberry.ID = strawberry.field(name="from")
    into: strawberry.ID


@strawberry.input
class RetireUnitInput:
    unit: strawberry.ID


@strawberry.type
class UpdateUnitPayload:
    unit: UnitType | None
    user_errors: list[UserError]


async def _county_unit(info: Info, global_id: str, field: str) -> int:
    """The id of a unit of the caller's county (an admin's scope is the county), or
    NOT_FOUND of `field`: another county's ID, a malformed one, another type."""
    principal = info.context.mutation_caller()
    pk = parse_global_id(global_id, "Unit")
    found = await unit_queries.units_by_ids(info.context.db, principal.tenant_id, "/", [pk]) if pk is not None else {}
    if pk not in found:
        raise Rejected([Problem(ErrorCode.NOT_FOUND, [field], variant="UNIT")])
    return pk


async def _read(info: Info, unit_id: int) -> UnitRow:
    principal = info.context.mutation_caller()
    return (await unit_queries.units_by_ids(info.context.db, principal.tenant_id, "/", [unit_id]))[unit_id]


async def _update(info: Info, input: UpdateUnitInput, audit: Audit) -> UnitRow:
    context = info.context
    principal = await context.require("unit", "write")
    unit_id = await _county_unit(info, input.unit, "unit")
    changed = await unit_changes.update_unit(context.db, principal.tenant_id, unit_id, input.name, input.code)
    audit.entity, audit.entity_id = "unit", unit_id
    audit.before = {"code": changed.before.code, "name": changed.before.name}
    audit.after = {"code": changed.after.code, "name": changed.after.name}
    return await _read(info, unit_id)


async def _merge(info: Info, input: MergeUnitsInput, audit: Audit) -> UnitRow:
    context = info.context
    principal = await context.require("unit", "write")
    problems, ids = [], {}
    for field, global_id in (("from", input.from_), ("into", input.into)):
        try:
            ids[field] = await _county_unit(info, global_id, field)
        except Rejected as rejected:
            problems += rejected.problems
    if problems:
        raise Rejected(problems)
    today = context.services.clock.today()
    report = await unit_changes.with_retries(
        context.db,
        lambda: unit_changes.merge_units(context.db, principal.tenant_id, ids["from"], ids["into"], today),
    )
    audit.entity, audit.entity_id = "unit", ids["from"]
    audit.before = {"from": report.source.summary(), "into": report.target.summary()}
    audit.after = report.audit_after()
    return await _read(info, ids["into"])


async def _retire(info: Info, input: RetireUnitInput, audit: Audit) -> UnitRow:
    context = info.context
    principal = await context.require("unit", "write")
    unit_id = await _county_unit(info, input.unit, "unit")
    today = context.services.clock.today()
    changed = await unit_changes.retire_unit(context.db, principal.tenant_id, unit_id, today)
    audit.entity, audit.entity_id = "unit", unit_id
    audit.before = {"code": changed.before.code, "retired": changed.before.retired}
    audit.after = {"code": changed.after.code, "retired": changed.after.retired}
    return await _read(info, unit_id)


def _payload(outcome) -> UpdateUnitPayload:  # noqa: ANN001
    unit = UnitType.from_row(outcome.value) if outcome.value else None
    return UpdateUnitPayload(unit=unit, user_errors=outcome.errors)


@strawberry.type
class UnitChangeMutations:
    @strawberry.mutation(description="COUNTY_ADMIN: a unit's new name and/or division code (checked as at creation, "
                         "unique in the county). Persons, paths and scopes stay as they are.")
    async def update_unit(self, info: Info, input: UpdateUnitInput) -> UpdateUnitPayload:
        return _payload(await run_mutation(info, "updateUnit", lambda audit: _update(info, input, audit)))

    @strawberry.mutation(description="COUNTY_ADMIN: merge `from` into `into` (same level): persons, payments, cash "
                         "books, tallies, open years' quotas (summed) and user scopes move in one transaction; a "
                         "township's units move under `into`; `from` is retired. Returns `into`.")
    async def merge_units(self, info: Info, input: MergeUnitsInput) -> UpdateUnitPayload:
        return _payload(await run_mutation(info, "mergeUnits", lambda audit: _merge(info, input, audit)))

    @strawberry.mutation(description="COUNTY_ADMIN: retire an empty unit (no persons, no units in service below it, "
                         "no quota of an open year).")
    async def retire_unit(self, info: Info, input: RetireUnitInput) -> UpdateUnitPayload:
        return _payload(await run_mutation(info, "retireUnit", lambda audit: _retire(info, input, audit)))
