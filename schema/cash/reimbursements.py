"""GraphQL face of reimbursements (先缴后补): reimbursements, reimbursementSummary, payReimbursements."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry.types import Info

from domain.cash import store as cash_store
from domain.cash.store import OwedRow, OwedSummary
from schema.errors import UserError
from schema.mutations import Audit, run_mutation
from schema.payments import PersonRef, load_person
from schema.persons import filter_path
from schema.relay import (
    Connection,
    connection,
    decode_cursor,
    page_size,
    parse_global_id,
)
from schema.tenants import UnitType, load_unit
from tenants.problems import ErrorCode, Problem, Rejected

DEFAULT_METHOD = "一卡通"


@strawberry.type
class Reimbursement:
    category: str
    amount: Decimal
    paid_out_at: datetime | None
    method: str | None
    reference: str | None
    person_id: strawberry.Private[int]

    @classmethod
    def of(cls, row: OwedRow) -> Reimbursement:
        return cls(category=row.category, amount=row.amount, paid_out_at=row.paid_out_at, method=row.method,
                   reference=row.reference, person_id=row.person_id)

    @strawberry.field
    async def person(self, info: Info) -> PersonRef:
        return await load_person(info, self.person_id)


@strawberry.type
class ReimbursementSummary:
    owed_count: int
    owed_amount: Decimal
    paid_count: int
    paid_amount: Decimal
    unit_id: strawberry.Private[int | None]

    @classmethod
    def of(cls, row: OwedSummary) -> ReimbursementSummary:
        return cls(owed_count=row.owed_count, owed_amount=row.owed_amount, paid_count=row.paid_count,
                   paid_amount=row.paid_amount, unit_id=row.unit_id)

    @strawberry.field(description="The child unit (township); null for persons of the parent unit itself.")
    async def unit(self, info: Info) -> UnitType | None:
        return await load_unit(info, self.unit_id)


@strawberry.input
class PayReimbursementsInput:
    year: int
    persons: list[strawberry.ID]
    method: str | None = strawberry.field(default=DEFAULT_METHOD, description="How it was paid out, e.g. 一卡通.")
    reference: str | None = None
    client_mutation_id: str | None = None


@strawberry.type
class PayReimbursementsPayload:
    paid: int
    amount: Decimal
    user_errors: list[UserError]
    client_mutation_id: str | None = None


MAX_PAYOUT_BATCH = 5000


async def _pay(info: Info, input: PayReimbursementsInput, audit: Audit) -> tuple[int, Decimal]:
    context = info.context
    principal = await context.require("reimbursement", "pay")
    if not input.persons or len(input.persons) > MAX_PAYOUT_BATCH:
        raise Rejected([Problem(ErrorCode.INVALID_PERSONS, ["persons"], {"limit": MAX_PAYOUT_BATCH})])
    ids = [parse_global_id(p, "Person") for p in input.persons]
    if None in ids:
        bad = input.persons[ids.index(None)]
        raise Rejected([Problem(ErrorCode.INVALID_ID, ["persons"], {"globalId": bad, "expected": "Person"}, "TYPE")])
    method = (input.method or DEFAULT_METHOD).strip() or DEFAULT_METHOD
    count, amount = await cash_store.pay_out(
        context.db, principal.tenant_id, input.year, principal.scope_path, ids, method, input.reference, principal.subject
    )
    audit.entity = "reimbursement_payout"
    audit.after = {"year": input.year, "persons": count, "amount": str(amount), "method": method}
    return count, amount


@strawberry.type
class ReimbursementQueries:
    @strawberry.field(description="Persons owed a REIMBURSE subsidy (paid in full, subsidy back later), in village order.")
    async def reimbursements(
        self, info: Info, year: int, unit: strawberry.ID | None = None, paid_out: bool | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[Reimbursement]:
        context = info.context
        principal = await context.check("reimbursement", "read")
        size = page_size(first, context.services.page_default, context.services.page_max)
        cursor = decode_cursor(after, 2)
        path = await filter_path(info, principal, unit)
        page = await cash_store.list_owed(
            context.db, principal.tenant_id, year, path, paid_out, size, tuple(cursor) if cursor else None
        )
        return connection(
            page, after=after,
            node=lambda r: Reimbursement.of(r), cursor=lambda r: [r.unit_path, r.person_id],
        )

    @strawberry.field(description="Reimbursements owed and paid out, per child unit of `parent` (per township by default).")
    async def reimbursement_summary(self, info: Info, year: int, parent: strawberry.ID | None = None) -> list[ReimbursementSummary]:
        context = info.context
        principal = await context.check("reimbursement", "read")
        path = await filter_path(info, principal, parent)
        rows = await cash_store.summary(context.db, principal.tenant_id, year, path)
        return [ReimbursementSummary.of(r) for r in rows]


@strawberry.type
class ReimbursementMutations:
    @strawberry.mutation(description="Township staff or finance: the listed persons were paid their reimbursement (all or none).")
    async def pay_reimbursements(self, info: Info, input: PayReimbursementsInput) -> PayReimbursementsPayload:
        outcome = await run_mutation(info, "payReimbursements", lambda audit: _pay(info, input, audit))
        paid, amount = outcome.value or (0, Decimal("0.00"))
        return PayReimbursementsPayload(paid=paid, amount=amount, user_errors=outcome.errors,
                                        client_mutation_id=input.client_mutation_id)
