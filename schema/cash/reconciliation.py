"""GraphQL face of reconciliation (对账): per unit and channel, totals that add up, for
a year or a period of Beijing days (灞桥: "按月开展收入核对", "按日…汇总上划")."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.cash.rules import Period, check_period
from domain.cash.store import ReconciliationRow, reconcile
from schema.errors import PublicError
from schema.payments import PaymentChannelEnum
from schema.persons import filter_path
from schema.tenants import UnitType, load_unit


@strawberry.type
class ReconciliationLine:
    channel: PaymentChannelEnum | None = strawberry.field(description="Null on the totals line.")
    payments: int
    collected: Decimal = strawberry.field(
        description="Every payment received (in the period: paid on its days): accepted + duplicate + refunded."
    )
    accepted_count: int
    accepted: Decimal
    duplicate_count: int
    duplicate: Decimal
    refunded_count: int
    refunded: Decimal = strawberry.field(
        description="Payments whose whole amount was decided to go back (status REFUNDED): a whole refund, or "
        "subsidy refunds adding up to the payment (a person listed as fully subsidised after paying)."
    )
    refunds_approved: Decimal = strawberry.field(
        description="Decided, not yet paid back (in a period: decided on its days)."
    )
    refunds_completed: Decimal = strawberry.field(
        description="Paid back, on the channel or from a collector's cash book (in a period: completed on its days)."
    )
    kept: Decimal = strawberry.field(description="collected − refunds approved − refunds completed.")
    cash_confirmed: Decimal = strawberry.field(description="Cash remitted and confirmed by the tax bureau.")
    cash_declared: Decimal = strawberry.field(description="Cash declared, not yet confirmed.")
    cash_undeclared: Decimal = strawberry.field(description="Cash still held by collectors.")
    cash_handed_back: Decimal = strawberry.field(
        description="Cash handed back to payers from a collector's cash book before it was declared. For cash: "
        "confirmed + declared + undeclared + handed back = collected."
    )
    unit_id: strawberry.Private[int | None]

    @classmethod
    def of(cls, row: ReconciliationRow) -> ReconciliationLine:
        values = {name: getattr(row, name) for name in (
            "payments", "collected", "accepted_count", "accepted", "duplicate_count", "duplicate", "refunded_count",
            "refunded", "refunds_approved", "refunds_completed", "kept", "cash_confirmed", "cash_declared",
            "cash_undeclared", "cash_handed_back",
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
    @strawberry.field(
        description="A year's money per child unit of `parent` (per township by default) and channel; with `from` "
        "and/or `until` (Beijing days, both included) only that period: payments by the day they were paid, "
        "refunds by the day of their present status (approved: decided; completed: paid back). The days of a "
        "month add up to the month, the months to the year."
    )
    async def reconciliation(
        self, info: Info, year: int, parent: strawberry.ID | None = None,
        since: Annotated[date | None, strawberry.argument(name="from")] = None,
        until: date | None = None,
    ) -> Reconciliation:
        context = info.context
        principal = await context.check("reconciliation", "read")
        period = Period(since, until)
        problems = check_period(period)
        if problems:
            raise PublicError.of(problems[0])
        path = await filter_path(info, principal, parent)
        result = await reconcile(context.db, principal.tenant_id, year, path, period)
        return Reconciliation(
            lines=[ReconciliationLine.of(r) for r in result.rows], totals=ReconciliationLine.of(result.totals)
        )
