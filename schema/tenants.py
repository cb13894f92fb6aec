"""GraphQL face of tenants and the jurisdiction tree: tenant, units, onboardTenant, addUnits."""
from __future__ import annotations

from collections.abc import Awaitable, Iterable

import strawberry
from strawberry.types import Info

from authz.accounts import NewUser, check_credentials, create_user
from authz.roles import Role
from schema import loaders
from schema.errors import PublicError, UserError
from schema.mutations import Audit, run_mutation
from schema.relay import (
    Connection,
    Node,
    connection,
    decode_cursor,
    from_global_id,
    page_size,
    parse_global_id,
    to_global_id,
)
from tenants import units as unit_queries
from tenants.kinds import DepartmentCode, UnitKind
from tenants.onboarding import (
    OnboardRequest,
    TenantRow,
    create_tenant,
    find_tenant,
    tenant_by_id,
    validate_onboarding,
)
from tenants.pages import Page
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.retired import retired_problems
from tenants.tree import (
    ROOT,
    UnitSpec,
    existing_codes,
    find_anchor,
    flatten,
    insert_units,
    validate_units,
)
from tenants.units import UnitRow

UnitKindEnum = strawberry.enum(UnitKind, name="UnitKind")
DepartmentCodeEnum = strawberry.enum(DepartmentCode, name="DepartmentCode")


@strawberry.type(name="Tenant")
class TenantType(Node):
    code: str
    name: str

    @classmethod
    def from_row(cls, row: TenantRow) -> TenantType:
        return cls(id=to_global_id("Tenant", row.id), code=row.code, name=row.name)


@strawberry.type(name="Unit")
class UnitType(Node):
    code: str
    name: str
    kind: UnitKindEnum
    path: str
    retired: bool = strawberry.field(description="Merged into another unit or closed (day two): kept for history, "
                                     "takes no new persons, transfers, quotas or user scopes.")
    row: strawberry.Private[UnitRow]

    @classmethod
    def from_row(cls, row: UnitRow) -> UnitType:
        return cls(
            id=to_global_id("Unit", row.id), code=row.code, name=row.name, kind=row.kind, path=row.path,
            retired=row.retired, row=row,
        )

    @strawberry.field
    async def parent(self, info: Info) -> UnitType | None:
        return await load_unit(info, self.row.parent_id)

    @strawberry.field(description="A merged unit: the unit it went into (mergeUnits), if the caller may see it.")
    async def merged_into(self, info: Info) -> UnitType | None:
        return await load_unit(info, self.row.merged_into_id)

    @strawberry.field
    async def children(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[UnitType]:
        await info.context.check("unit", "read")
        services = info.context.services
        size = page_size(first, services.page_default, services.page_max)
        cursor = decode_cursor(after, 2)
        page = await loaders.unit_children(info.context, size, tuple(cursor) if cursor else None).load(self.row.id)
        return _unit_page(page, after)


def unit_now(info: Info, unit_id: int | None) -> UnitType | None | Awaitable[UnitType | None]:
    """The unit at once when the request has loaded it already (a page that loaded the
    units of its rows: `prefetch_units`), else an awaitable as `load_unit`'s."""
    if unit_id is None:
        return None
    found, row = loaders.loaded(loaders.units(info.context), unit_id)
    if not found:
        return load_unit(info, unit_id)
    if row is None:
        return None
    # a page's fifty persons live in a few villages: one UnitType each
    shown = info.context.unit_types
    if unit_id not in shown:
        shown[unit_id] = UnitType.from_row(row)
    return shown[unit_id]


async def prefetch_units(info: Info, unit_ids: Iterable[int]) -> None:
    """The units of a page's rows, in the one statement their loader would have run,
    before the rows' `unit` fields ask (each then answers at once: `unit_now`)."""
    await loaders.units(info.context).load_many(sorted(set(unit_ids)))


async def load_unit(info: Info, unit_id: int | None) -> UnitType | None:
    """A unit by id through the request's loader (in the caller's scope), or None."""
    row = await loaders.units(info.context).load(unit_id) if unit_id else None
    return UnitType.from_row(row) if row else None


async def visible_unit(info: Info, unit: strawberry.ID) -> UnitRow:
    """The unit of a global ID if the caller may see it (in or above its scope)."""
    row = await loaders.units(info.context).load(from_global_id(unit, "Unit")[1])
    if row is None:
        raise PublicError(ErrorCode.NOT_FOUND, variant="UNIT")
    return row


async def unit_connection(info: Info, parent_id: int | None, first: int | None, after: str | None) -> Connection[UnitType]:
    context = info.context
    principal = await context.check("unit", "read")
    services = context.services
    size = page_size(first, services.page_default, services.page_max)
    cursor = decode_cursor(after, 2)
    page = await unit_queries.list_children(
        context.db, principal.tenant_id, principal.scope_path, parent_id, size, tuple(cursor) if cursor else None
    )
    return _unit_page(page, after)


def _unit_page(page: Page[UnitRow], after: str | None) -> Connection[UnitType]:
    return connection(page, after=after, node=lambda r: UnitType.from_row(r), cursor=lambda r: [r.code, r.id])


async def resolve_unit_node(info: Info, pk: int) -> UnitType | None:
    info.context.county_caller()
    row = await loaders.units(info.context).load(pk)
    return UnitType.from_row(row) if row else None


@strawberry.input
class UnitInput:
    code: str
    name: str
    kind: UnitKindEnum
    children: list[UnitInput] | None = None


def to_specs(units: list[UnitInput]) -> list[UnitSpec]:
    return [UnitSpec(u.code, u.name, UnitKind(u.kind), to_specs(u.children or [])) for u in units]


@strawberry.input
class NewUserInput:
    username: str
    password: str


@strawberry.input
class OnboardTenantInput:
    code: str
    name: str
    units: list[UnitInput]
    departments: list[DepartmentCodeEnum]
    admin: NewUserInput
    client_mutation_id: str | None = None


@strawberry.type
class OnboardTenantPayload:
    tenant: TenantType | None
    user_errors: list[UserError]
    client_mutation_id: str | None = None


@strawberry.input
class AddUnitsInput:
    parent: strawberry.ID | None
    units: list[UnitInput]
    client_mutation_id: str | None = None


@strawberry.type
class AddUnitsPayload:
    units: list[UnitType]
    user_errors: list[UserError]
    client_mutation_id: str | None = None


async def _onboard(info: Info, input: OnboardTenantInput, audit: Audit) -> TenantRow:
    context = info.context
    await context.require("tenant", "write")
    request = OnboardRequest(
        code=input.code.strip(),
        name=input.name,
        units=to_specs(input.units),
        departments=[DepartmentCode(d) for d in input.departments],
        client_mutation_id=input.client_mutation_id,
    )
    existing = await find_tenant(context.db, request.code)
    if existing is not None:
        tenant, client_mutation_id = existing
        if input.client_mutation_id and client_mutation_id == input.client_mutation_id:
            return tenant  # a retry of the call that created it
        raise Rejected([Problem(ErrorCode.TENANT_EXISTS, ["code"], {"code": request.code})])
    problems = validate_onboarding(request) + check_credentials(input.admin.username, input.admin.password, ["admin"])
    if problems:
        raise Rejected(problems)
    tenant = await create_tenant(context.db, request)
    admin = NewUser(username=input.admin.username, password=input.admin.password, role=Role.COUNTY_ADMIN)
    await create_user(context.db, context.services.passwords, tenant.id, admin, ["admin"])
    audit.entity, audit.entity_id = "tenant", tenant.id
    audit.after = {"code": tenant.code, "name": tenant.name, "units": len(flatten(request.units)), "admin": admin.username}
    return tenant


async def _add_units(info: Info, input: AddUnitsInput, audit: Audit) -> list[UnitRow]:
    context = info.context
    principal = await context.require("unit", "write")
    tenant_id = principal.tenant_id
    anchor = ROOT
    if input.parent is not None:
        parent_id = parse_global_id(input.parent, "Unit")
        found = await find_anchor(context.db, tenant_id, parent_id) if parent_id is not None else None
        if found is None:
            raise Rejected([Problem(ErrorCode.NOT_FOUND, ["parent"], variant="UNIT")])
        if retired := await retired_problems(context.db, tenant_id, {found.id: ["parent"]}):
            raise Rejected(retired)
        anchor = found
    flat = flatten(to_specs(input.units))
    taken = await existing_codes(context.db, tenant_id, [u.code for u in flat])
    problems = validate_units(flat, existing_codes=taken, anchor_kind=anchor.kind)
    if problems:
        raise Rejected(problems)
    ids = await insert_units(context.db, tenant_id, flat, anchor)
    rows = await unit_queries.units_by_ids(context.db, tenant_id, "/", ids)
    audit.entity, audit.entity_id = "unit", anchor.id
    audit.after = {"added": len(ids), "parent": anchor.code}
    return [rows[i] for i in sorted(rows, key=lambda i: (rows[i].depth, rows[i].code))]


@strawberry.type
class TenantQueries:
    @strawberry.field(description="The caller's county.")
    async def tenant(self, info: Info) -> TenantType | None:
        principal = info.context.county_caller()
        row = await tenant_by_id(info.context.db, principal.tenant_id)
        return TenantType.from_row(row) if row else None

    @strawberry.field(description="Children of `parent` (the top level if null) inside the caller's scope.")
    async def units(
        self, info: Info, parent: strawberry.ID | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[UnitType]:
        parent_id = from_global_id(parent, "Unit")[1] if parent else None
        return await unit_connection(info, parent_id, first, after)

    @strawberry.field(description="A unit by its statistical code, if inside the caller's scope.")
    async def unit_by_code(self, info: Info, code: str) -> UnitType | None:
        principal = await info.context.check("unit", "read")
        row = await unit_queries.unit_by_code(info.context.db, principal.tenant_id, code)
        if row is None or not unit_queries.is_visible(row.path, principal.scope_path):
            return None
        return UnitType.from_row(row)


@strawberry.type
class TenantMutations:
    @strawberry.mutation(description="PLATFORM_OPERATOR: a county, its tree, departments and first admin, at once.")
    async def onboard_tenant(self, info: Info, input: OnboardTenantInput) -> OnboardTenantPayload:
        outcome = await run_mutation(info, "onboardTenant", lambda audit: _onboard(info, input, audit))
        tenant = TenantType.from_row(outcome.value) if outcome.value else None
        return OnboardTenantPayload(tenant=tenant, user_errors=outcome.errors, client_mutation_id=input.client_mutation_id)

    @strawberry.mutation(description="COUNTY_ADMIN: grow the tree under `parent` (the top level if null).")
    async def add_units(self, info: Info, input: AddUnitsInput) -> AddUnitsPayload:
        outcome = await run_mutation(info, "addUnits", lambda audit: _add_units(info, input, audit))
        units = [UnitType.from_row(r) for r in outcome.value or []]
        return AddUnitsPayload(units=units, user_errors=outcome.errors, client_mutation_id=input.client_mutation_id)

