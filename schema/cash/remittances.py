"""GraphQL face of cash: createRemittance, confirmRemittance, remittances, cashHeld, remittanceAlerts."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from authz.principal import Principal
from authz.roles import Role
from domain.cash import store as cash_store
from domain.cash.store import CashHeld, Collector, RemittanceRow
from schema.errors import PublicError, UserError
from schema.mutations import Audit, object_in_scope, run_mutation
from schema.relay import (
    Connection,
    Node,
    connection,
    decode_cursor,
    page_size,
    parse_global_id,
    to_global_id,
)
from schema.tenants import UnitType, load_unit
from tenants.problems import ErrorCode, Problem, Rejected


@strawberry.type(name="Remittance")
class RemittanceType(Node):
    collector_id: strawberry.ID
    payments: int
    total: Decimal
    status: str = strawberry.field(description="DECLARED, then CONFIRMED by the tax bureau.")
    declared_at: datetime
    confirmed_at: datetime | None
    confirmation_no: str | None

    @classmethod
    def of(cls, row: RemittanceRow) -> RemittanceType:
        return cls(
            id=to_global_id("Remittance", row.id), collector_id=to_global_id("User", row.collector_id),
            payments=row.payments, total=row.total, status=row.status, declared_at=row.declared_at,
            confirmed_at=row.confirmed_at, confirmation_no=row.confirmation_no,
        )


@strawberry.type
class CashHolding:
    collector_id: strawberry.ID
    username: str
    payments: int
    amount: Decimal
    oldest_paid_at: datetime
    days_held: int
    overdue: bool = strawberry.field(description="Held longer than the policy's remit days (双限: 5).")
    over_amount: bool = strawberry.field(description="More than the policy's remit amount (双限: 10,000 yuan).")
    unit_id: strawberry.Private[int | None]

    @classmethod
    def of(cls, held: CashHeld) -> CashHolding:
        return cls(
            collector_id=to_global_id("User", held.collector_id), username=held.username, payments=held.payments,
            amount=held.amount, oldest_paid_at=held.oldest_paid_at, days_held=held.days_held, overdue=held.overdue,
            over_amount=held.over_amount, unit_id=held.unit_id,
        )

    @strawberry.field(description="The collector's village.")
    async def unit(self, info: Info) -> UnitType | None:
        return await load_unit(info, self.unit_id)


@strawberry.input
class CreateRemittanceInput:
    collector: strawberry.ID | None = strawberry.field(
        default=None, description="Township staff declare for a collector of their township; a collector for themself."
    )
    up_to: datetime | None = strawberry.field(default=None, description="Only cash taken up to this moment.")
    client_mutation_id: str | None = None


@strawberry.type
class CreateRemittancePayload:
    remittance: RemittanceType | None
    user_errors: list[UserError]
    client_mutation_id: str | None = None


@strawberry.input
class ConfirmRemittanceInput:
    remittance: strawberry.ID
    confirmation_no: str
    client_mutation_id: str | None = None


@strawberry.type
class ConfirmRemittancePayload:
    remittance: RemittanceType | None
    user_errors: list[UserError]
    client_mutation_id: str | None = None


async def _collector(info: Info, principal: Principal, collector: strawberry.ID | None) -> Collector:
    context = info.context
    if collector is None:
        if principal.role is not Role.VILLAGE_COLLECTOR:
            raise Rejected([Problem(ErrorCode.COLLECTOR_REQUIRED, ["collector"])])
        user_id = principal.id
    else:
        user_id = parse_global_id(collector, "User")
    found = None
    if user_id is not None and principal.tenant_id is not None:
        found = await cash_store.collector_in_scope(context.db, principal.tenant_id, principal.scope_path, user_id)
    if found is None:
        raise Rejected([Problem(ErrorCode.NOT_FOUND, ["collector"], variant="COLLECTOR")])
    return found


async def _declare(info: Info, input: CreateRemittanceInput, audit: Audit) -> RemittanceRow:
    context = info.context
    principal = await context.require("remittance", "write")
    collector = await _collector(info, principal, input.collector)
    await context.require("remittance", "write", collector.scope_path)
    row = await cash_store.declare(context.db, principal.tenant_id, collector, input.up_to, principal.subject)
    audit.entity, audit.entity_id = "remittance", row.id
    audit.after = {"collector": collector.id, "payments": row.payments, "total": str(row.total)}
    return row


async def _confirm(info: Info, input: ConfirmRemittanceInput, audit: Audit) -> RemittanceRow:
    context = info.context
    principal = await context.require("remittance", "confirm")

    async def load(tenant_id: int, pk: int) -> RemittanceRow | None:
        return await cash_store.remittance_in_scope(context.db, tenant_id, principal.scope_path, pk, lock=True)

    found = await object_in_scope(
        context, input.remittance, "Remittance", load, ("remittance", "confirm"), "remittance", "remittance"
    )
    row = await cash_store.confirm(context.db, principal.tenant_id, found, input.confirmation_no, principal.subject)
    audit.entity, audit.entity_id = "remittance", row.id
    audit.before, audit.after = {"status": found.status}, {"status": row.status, "confirmationNo": row.confirmation_no}
    return row


async def _holdings(info: Info, year: int, only_alerts: bool) -> list[CashHolding]:
    context = info.context
    principal = await context.check("remittance", "read")
    rows = await cash_store.cash_held(
        context.db, principal.tenant_id, principal.scope_path, year, context.services.clock.now(), only_alerts
    )
    if principal.role is Role.VILLAGE_COLLECTOR:
        rows = [r for r in rows if r.collector_id == principal.id]
    return [CashHolding.of(r) for r in rows]


@strawberry.type
class RemittanceQueries:
    @strawberry.field(description="Remittances of collectors in the caller's scope, newest first.")
    async def remittances(
        self, info: Info, status: str | None = None, collector: strawberry.ID | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[RemittanceType]:
        context = info.context
        principal = await context.check("remittance", "read")
        collector_id = parse_global_id(collector, "User") if collector else None
        if collector and collector_id is None:
            raise PublicError(ErrorCode.INVALID_ID, {"globalId": collector, "expected": "User"}, variant="TYPE")
        if principal.role is Role.VILLAGE_COLLECTOR:
            collector_id = principal.id
        size = page_size(first, context.services.page_default, context.services.page_max)
        cursor = decode_cursor(after, 1)
        page = await cash_store.list_remittances(
            context.db, principal.tenant_id, principal.scope_path, status, collector_id, size, cursor[0] if cursor else None
        )
        return connection(
            page, after=after,
            node=lambda r: RemittanceType.of(r), cursor=lambda r: [r.id],
        )

    @strawberry.field(description="Undeclared cash per collector in scope (the cash book), oldest first.")
    async def cash_held(self, info: Info, year: int) -> list[CashHolding]:
        return await _holdings(info, year, only_alerts=False)

    @strawberry.field(description="Collectors breaking the 双限 rule: cash held too long or too much.")
    async def remittance_alerts(self, info: Info, year: int) -> list[CashHolding]:
        return await _holdings(info, year, only_alerts=True)


@strawberry.type
class RemittanceMutations:
    @strawberry.mutation(description="A collector (or their township) declares the collector's undeclared cash.")
    async def create_remittance(self, info: Info, input: CreateRemittanceInput) -> CreateRemittancePayload:
        outcome = await run_mutation(info, "createRemittance", lambda audit: _declare(info, input, audit))
        remittance = RemittanceType.of(outcome.value) if outcome.value else None
        return CreateRemittancePayload(remittance=remittance, user_errors=outcome.errors, client_mutation_id=input.client_mutation_id)

    @strawberry.mutation(description="The tax bureau confirms a declared remittance with its confirmation number.")
    async def confirm_remittance(self, info: Info, input: ConfirmRemittanceInput) -> ConfirmRemittancePayload:
        outcome = await run_mutation(info, "confirmRemittance", lambda audit: _confirm(info, input, audit))
        remittance = RemittanceType.of(outcome.value) if outcome.value else None
        return ConfirmRemittancePayload(remittance=remittance, user_errors=outcome.errors, client_mutation_id=input.client_mutation_id)
