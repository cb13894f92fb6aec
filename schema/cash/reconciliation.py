"""GraphQL face of reconciliation (对账): per unit and channel, totals that add up."""
from __future__ import annotations

from decimal import Decimal

import strawberry
from strawberry.types import Info

from domain.cash.store import ReconciliationRow, reconcile
from schema.payments import PaymentChannelEnum
from schema.persons import filter_path
from schema.tenants import UnitType, load_unit


@strawberry.type
class ReconciliationLine:
    channel: PaymentChannelEnum | None = strawberry.field(description="Null on the totals line.")
    payments: int
    collected: Decimal = strawberry.field(description="Every payment received: accepted + duplicate + refunded.")
    accepted_count: int
    accepted: Decimal
    duplicate_count: int
    duplicate: Decimal
    refunded_count: int
    refunded: Decimal = strawberry.field(description="Payments refunded whole (status REFUNDED).")
    refunds_approved: Decimal = strawberry.field(description="Decided, not yet paid back.")
    refunds_completed: Decimal = strawberry.field(description="Paid back on the original channel.")
    kept: Decimal = strawberry.field(description="collected − refunds approved − refunds completed.")
    cash_confirmed: Decimal = strawberry.field(description="Cash remitted and confirmed by the tax bureau.")
    cash_declared: Decimal = strawberry.field(description="Cash declared, not yet confirmed.")
    cash_undeclared: Decimal = strawberry.field(description="Cash still held by collectors.")
    unit_id: strawberry.Private[int | None]

    @classmethod
    def of(cls, row: ReconciliationRow) -> ReconciliationLine:
        values = {name: getattr(row, name) for name in (
            "payments", "collected", "accepted_count", "accepted", "duplicate_count", "duplicate", "refunded_count",
            "refunded", "refunds_approved", "refunds_completed", "kept", "cash_confirmed", "cash_declared",
            "cash_undeclared",
        )}
        return cls(channel=row.channel, unit_id=row.unit_id, **values)

    @strawberry.field(description="The child unit; null on the totals line and for the parent's own persons.")
    async def unit(self, info: Info) -> UnitType | None:
        return await load_unit(info, self.unit_id)


@strawberry.type
class Reconciliation:
    lines: list[ReconciliationLine]
    totals: ReconciliationLine


@strawberry.type
class ReconciliationQueries:
    @strawberry.field(description="A year's money per child unit of `parent` (per township by default) and channel.")
    async def reconciliation(self, info: Info, year: int, parent: strawberry.ID | None = None) -> Reconciliation:
        context = info.context
        principal = await context.check("reconciliation", "read")
        path = await filter_path(info, principal, parent)
        result = await reconcile(context.db, principal.tenant_id, year, path)
        return Reconciliation(
            lines=[ReconciliationLine.of(r) for r in result.rows], totals=ReconciliationLine.of(result.totals)
        )
