"""GraphQL face of refunds: requestRefund, decideRefund, completeRefund, refunds.

Who completes a refund follows where the money is (八公山 九、退费办理): cash a collector
still holds undeclared is handed back from their cash book by that collector or their
township (`refund hand_back`); money that reached the tax bureau goes back through it
(`refund complete`).
"""
from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types import Info

from authz.roles import Role
from domain.payments.store import PaymentRow, payments_by_ids
from domain.policy import store as policy_store
from domain.refunds import store as refunds_store
from domain.refunds.rules import RefundPayback, RefundRequest
from domain.refunds.store import PaybackRoute, RefundQuery, RefundRow
from schema.errors import UserError, forbidden
from schema.mutations import Audit, object_in_scope, run_mutation
from schema.payments import RefundReasonEnum, RefundType
from schema.persons import filter_path
from schema.relay import (
    Connection,
    connection,
    decode_cursor,
    page_size,
)
from tenants.problems import ErrorCode, Problem, Rejected


@strawberry.input
class RequestRefundInput:
    payment: strawberry.ID
    reason: RefundReasonEnum
    note: str | None = None
    event_date: date | None = strawberry.field(
        default=None, description="When it happened: needed for employee insurance, death, duplicate enrolment, giving up."
    )
    client_mutation_id: str | None = None


@strawberry.type
class RequestRefundPayload:
    refund: RefundType | None
    user_errors: list[UserError]
    client_mutation_id: str | None = None


@strawberry.input
class DecideRefundInput:
    refund: strawberry.ID
    approve: bool
    note: str | None = None
    client_mutation_id: str | None = None


@strawberry.type
class DecideRefundPayload:
    refund: RefundType | None
    user_errors: list[UserError]
    client_mutation_id: str | None = None


@strawberry.input
class CompleteRefundInput:
    refund: strawberry.ID
    reference: str | None = strawberry.field(
        default=None, description="The channel's transaction number of the pay-back, or the receipt the payer signed for cash."
    )
    client_mutation_id: str | None = None


@strawberry.type
class CompleteRefundPayload:
    refund: RefundType | None
    user_errors: list[UserError]
    client_mutation_id: str | None = None


@strawberry.input
class RefundFilter:
    unit: strawberry.ID | None = None
    year: int | None = None
    status: str | None = None
    reason: RefundReasonEnum | None = None


async def _request(info: Info, input: RequestRefundInput, audit: Audit) -> RefundRow:
    context = info.context
    principal = context.mutation_caller()

    async def load(tenant_id: int, pk: int) -> PaymentRow | None:
        return (await payments_by_ids(context.db, tenant_id, principal.scope_path, [pk])).get(pk)

    payment = await object_in_scope(context, input.payment, "Payment", load, ("refund", "request"), "payment", "payment")
    await context.require("refund", "request", payment.unit_path)
    policy = await policy_store.load_policy(context.db, principal.tenant_id, payment.year)
    request = RefundRequest(reason=input.reason.value, note=input.note, event_date=input.event_date)
    row = await refunds_store.request_refund(
        context.db, principal.tenant_id, payment, policy, request, principal.subject, context.services.clock.today()
    )
    audit.entity, audit.entity_id = "refund", row.id
    audit.after = {"payment": payment.id, "reason": row.reason, "amount": str(row.amount)}
    return row


async def _locked_refund_in_scope(info: Info, refund_id: strawberry.ID, act: str) -> tuple[RefundRow, str]:
    """The refund (locked) and its payment's unit path; NOT_FOUND outside the scope,
    FORBIDDEN for a role that may not `act` on refunds at all."""
    context = info.context
    principal = context.mutation_caller()

    async def load(tenant_id: int, pk: int) -> tuple[RefundRow, str] | None:
        return await refunds_store.refund_in_scope(context.db, tenant_id, principal.scope_path, pk, lock=True)

    return await object_in_scope(context, refund_id, "Refund", load, ("refund", act), "refund", "refund")


async def _locked_refund(info: Info, refund_id: strawberry.ID, act: str) -> RefundRow:
    row, unit_path = await _locked_refund_in_scope(info, refund_id, act)
    await info.context.require("refund", act, unit_path)
    return row


async def _decide(info: Info, input: DecideRefundInput, audit: Audit) -> RefundRow:
    context = info.context
    refund = await _locked_refund(info, input.refund, "decide")
    row = await refunds_store.decide_refund(
        context.db, context.principal.tenant_id, refund, input.approve, input.note, context.principal.subject,
        context.services.clock.now(),
    )
    audit.entity, audit.entity_id = "refund", row.id
    audit.before, audit.after = {"status": refund.status}, {"status": row.status}
    return row


async def _may_complete(info: Info, route: PaybackRoute, unit_path: str) -> None:
    """Undeclared cash: its collector or their township hands it back (a collector only
    from their own cash book); anything else: the tax bureau."""
    context = info.context
    principal = context.mutation_caller()
    if route.payback is RefundPayback.CHANNEL:
        await context.require("refund", "complete", unit_path)
        return
    if not await context.may("refund", "hand_back", unit_path):
        if await context.may("refund", "complete", unit_path):
            raise Rejected([Problem(ErrorCode.CASH_NOT_REMITTED, ["refund"])])
        raise forbidden()
    if principal.role is Role.VILLAGE_COLLECTOR and route.collector_id != principal.id:
        raise Rejected([Problem(ErrorCode.NOT_YOUR_CASH, ["refund"])])


async def _complete(info: Info, input: CompleteRefundInput, audit: Audit) -> RefundRow:
    context = info.context
    principal = context.mutation_caller()
    # Either right lets the caller look the refund up; which one applies depends on the money.
    act = "complete" if await context.may("refund", "complete") else "hand_back"
    refund, unit_path = await _locked_refund_in_scope(info, input.refund, act)
    route = await refunds_store.payback_route(context.db, principal.tenant_id, refund)
    await _may_complete(info, route, unit_path)
    row = await refunds_store.complete_refund(
        context.db, principal.tenant_id, refund, route, input.reference, principal.subject, context.services.clock.now()
    )
    audit.entity, audit.entity_id = "refund", row.id
    audit.before, audit.after = {"status": refund.status}, {"status": row.status, "payback": row.payback}
    return row


@strawberry.type
class RefundQueries:
    @strawberry.field(description="Refunds of payments in the caller's scope, newest first.")
    async def refunds(
        self, info: Info, filter: RefundFilter | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[RefundType]:
        context = info.context
        principal = await context.check("payment", "read")
        size = page_size(first, context.services.page_default, context.services.page_max)
        cursor = decode_cursor(after, 1)
        path = await filter_path(info, principal, filter.unit if filter else None)
        query = RefundQuery(
            tenant_id=principal.tenant_id, path=path,
            status=filter.status if filter else None,
            reason=filter.reason.value if filter and filter.reason else None,
            year=filter.year if filter else None,
        )
        page = await refunds_store.list_refunds(context.db, query, size, cursor[0] if cursor else None)
        return connection(
            page, after=after,
            node=lambda r: RefundType.of(r), cursor=lambda r: [r.id],
        )


async def resolve_refund_node(info: Info, pk: int) -> RefundType | None:
    principal = await info.context.check("payment", "read")
    found = await refunds_store.refund_in_scope(info.context.db, principal.tenant_id, principal.scope_path, pk)
    return RefundType.of(found[0]) if found else None


@strawberry.type
class RefundMutations:
    @strawberry.mutation(description="Collectors, townships, the tax bureau and 医保局, for a payment in scope.")
    async def request_refund(self, info: Info, input: RequestRefundInput) -> RequestRefundPayload:
        outcome = await run_mutation(info, "requestRefund", lambda audit: _request(info, input, audit))
        refund = RefundType.of(outcome.value) if outcome.value else None
        return RequestRefundPayload(refund=refund, user_errors=outcome.errors, client_mutation_id=input.client_mutation_id)

    @strawberry.mutation(description="The tax bureau or 医保局: approve (the books move) or reject a requested refund.")
    async def decide_refund(self, info: Info, input: DecideRefundInput) -> DecideRefundPayload:
        outcome = await run_mutation(info, "decideRefund", lambda audit: _decide(info, input, audit))
        refund = RefundType.of(outcome.value) if outcome.value else None
        return DecideRefundPayload(refund=refund, user_errors=outcome.errors, client_mutation_id=input.client_mutation_id)

    @strawberry.mutation(
        description="The approved refund was paid back: cash still undeclared by its collector (or their township), "
        "from the cash book; anything else by the tax bureau, on the payment's channel."
    )
    async def complete_refund(self, info: Info, input: CompleteRefundInput) -> CompleteRefundPayload:
        outcome = await run_mutation(info, "completeRefund", lambda audit: _complete(info, input, audit))
        refund = RefundType.of(outcome.value) if outcome.value else None
        return CompleteRefundPayload(refund=refund, user_errors=outcome.errors, client_mutation_id=input.client_mutation_id)
