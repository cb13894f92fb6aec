"""GraphQL face of payments: recordPayment, payments, Payment and Refund types."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from authz.roles import Role
from domain.payments import store as payments_store
from domain.payments.rules import NewPayment, PaymentChannel, PaymentStatus, RecorderKind, Timing
from domain.payments.store import (
    PaymentQuery,
    PaymentRow,
    Recorded,
    Recorder,
    payments_by_ids,
    record_payment,
)
from domain.persons import store as persons_store
from domain.persons.idnumber import mask
from domain.persons.rules import shown_benefit_start
from domain.persons.store import PersonRow
from domain.refunds.rules import RefundPayback, RefundReason
from domain.refunds.store import RefundRow, refunds_of_payments
from schema import loaders
from schema.channel_rules import PaymentChannelEnum
from schema.context import Context
from schema.enrollment import EnrollmentType, enrollment_loader
from schema.errors import PublicError, UserError
from schema.id_lookups import answer_lookup
from schema.mutations import Audit, run_mutation
from schema.persons import filter_path
from schema.refund_reasons import RefundReasonEnum
from schema.relay import (
    Connection,
    Node,
    connection,
    decode_cursor,
    page_size,
    to_global_id,
)
from schema.warnings import WarningType, warnings_opened_now
from tenants.kinds import DepartmentCode, UnitKind
from tenants.problems import ErrorCode, Problem, Rejected

if TYPE_CHECKING:
    from schema.persons import PersonType


PaymentStatusEnum = strawberry.enum(PaymentStatus, name="PaymentStatus")
RefundPaybackEnum = strawberry.enum(
    RefundPayback, name="RefundPayback",
    description="How a completed refund went back: on the payment's channel (tax bureau) or from a collector's cash book.",
)
PaymentTimingEnum = strawberry.enum(Timing, name="PaymentTiming", description="Which rule took the payment.")

PersonRef = Annotated["PersonType", strawberry.lazy("schema.persons")]


async def load_person(info: Info, person_id: int) -> PersonType:
    from schema.persons import PersonType

    row = await loaders.persons(info.context).load(person_id)
    if row is None:
        raise PublicError(ErrorCode.NOT_FOUND, variant="PERSON")
    return PersonType.of(row, info.context.caller())


@strawberry.type(name="Refund")
class RefundType(Node):
    reason: RefundReasonEnum
    amount: Decimal
    status: str = strawberry.field(description="REQUESTED, APPROVED, REJECTED or COMPLETED.")
    automatic: bool = strawberry.field(description="Opened by the system (duplicates, subsidies granted after payment).")
    event_date: date | None
    note: str | None
    requested_at: datetime
    decided_at: datetime | None
    decision_note: str | None
    completed_at: datetime | None
    completion_ref: str | None
    payback: RefundPaybackEnum | None = strawberry.field(
        description="Set on completion: CHANNEL (by the tax bureau) or CASH_BOOK (handed back by the collector from "
        "cash not yet declared)."
    )
    row: strawberry.Private[RefundRow]

    @classmethod
    def of(cls, row: RefundRow) -> RefundType:
        return cls(
            id=to_global_id("Refund", row.id), reason=RefundReason(row.reason), amount=row.amount, status=row.status,
            automatic=row.automatic, event_date=row.event_date, note=row.note, requested_at=row.requested_at,
            decided_at=row.decided_at, decision_note=row.decision_note, completed_at=row.completed_at,
            completion_ref=row.completion_ref, payback=row.payback, row=row,
        )

    @strawberry.field
    async def payment(self, info: Info) -> PaymentType:
        row = await loaders.payments(info.context).load(self.row.payment_id)
        if row is None:
            raise PublicError(ErrorCode.NOT_FOUND, variant="PAYMENT")
        return PaymentType.of(row)


@strawberry.type(name="Payment")
class PaymentType(Node):
    year: int
    amount: Decimal
    channel: PaymentChannelEnum
    status: PaymentStatusEnum
    timing: PaymentTimingEnum
    paid_at: datetime
    receipt_no: str | None
    external_id: str | None
    recorded_at: datetime
    row: strawberry.Private[PaymentRow]

    @classmethod
    def of(cls, row: PaymentRow) -> PaymentType:
        return cls(
            id=to_global_id("Payment", row.id), year=row.year, amount=row.amount, channel=PaymentChannel(row.channel),
            status=PaymentStatus(row.status), timing=Timing(row.timing), paid_at=row.paid_at,
            receipt_no=row.receipt_no, external_id=row.external_id, recorded_at=row.recorded_at, row=row,
        )

    @strawberry.field(description="A newborn's (its day of birth) is null for readers who see ID numbers masked.")
    async def benefit_start(self, info: Info) -> date | None:
        whole = info.context.caller().sees_whole_id_numbers
        # (a late newborn's registration day may be its day of birth too)
        if whole or self.row.benefit_start is None or self.row.timing not in (Timing.NEWBORN, Timing.NEWBORN_LATE):
            return self.row.benefit_start
        person = await loaders.persons(info.context).load(self.row.person_id)
        return shown_benefit_start(self.row.benefit_start, person.birth_date, whole) if person else None

    @strawberry.field
    async def person(self, info: Info) -> PersonRef:
        return await load_person(info, self.row.person_id)

    @strawberry.field(description="Refunds of this payment, oldest first.")
    async def refunds(self, info: Info) -> list[RefundType]:
        rows = await loaders.payment_refunds(info.context).load(self.row.id)
        return [RefundType.of(r) for r in rows]


@strawberry.input
class PaymentFilter:
    unit: strawberry.ID | None = None
    year: int | None = None
    channel: PaymentChannelEnum | None = None
    status: PaymentStatusEnum | None = None
    id_number: str | None = strawberry.field(
        default=None,
        description="One person's payments. Readers who see ID numbers masked: a look-up (audited, limited per hour).",
    )


@strawberry.input
class RecordPaymentInput:
    id_number: str
    year: int
    amount: Decimal
    channel: PaymentChannelEnum
    paid_at: datetime
    receipt_no: str | None = None
    external_id: str | None = None
    extension_proof: str | None = None
    back_years: int | None = strawberry.field(
        default=0, description="Earlier years of a break paid back now (补缴), each at the current standard."
    )
    client_mutation_id: str | None = None


@strawberry.type
class RecordPaymentPayload:
    payment: PaymentType | None
    refund: RefundType | None = strawberry.field(description="The DUPLICATE_PAYMENT refund opened for a duplicate.")
    user_errors: list[UserError]
    client_mutation_id: str | None = None
    recorded: strawberry.Private[Recorded | None] = None

    # Read only when asked for: a collector's client that wants the receipt alone saves
    # two statements a payment.
    @strawberry.field
    async def enrollment(self, info: Info) -> EnrollmentType | None:
        if self.recorded is None:
            return None
        payment = self.recorded.payment
        row = await enrollment_loader(info, payment.year).load(payment.person_id)
        person = await loaders.persons(info.context).load(payment.person_id)
        if row is None or person is None:
            return None
        return EnrollmentType.of(row, person.birth_date, info.context.caller().sees_whole_id_numbers)

    @strawberry.field(description="ENROLLED_ELSEWHERE: the person is enrolled in another county for the year too.")
    async def warnings(self, info: Info) -> list[WarningType]:
        if self.recorded is None:
            return []
        return await warnings_opened_now(info, self.recorded.payment.year, [self.recorded.payment.person_id])


async def _record(info: Info, input: RecordPaymentInput, audit: Audit) -> Recorded:
    context = info.context
    principal = context.mutation_caller()
    person = None
    if principal.tenant_id is not None:
        person = await persons_store.person_by_id_number(
            context.db, principal.tenant_id, "/", input.id_number, for_share=True
        )
    if person is None:
        await context.require("payment", "write")
        raise Rejected([Problem(ErrorCode.PERSON_NOT_FOUND, ["idNumber"])])
    if not await _may_pay_for(context, person):
        await context.require("payment", "write")  # the role may not at all: FORBIDDEN as usual
        raise Rejected([Problem(ErrorCode.OUT_OF_SCOPE, ["idNumber"])])
    principal = context.mutation_caller()
    policy = await context.policy(input.year)
    if policy is None:
        raise Rejected([Problem(ErrorCode.NO_POLICY, ["year"], {"year": input.year})])
    new = NewPayment(
        year=input.year, amount=input.amount, channel=input.channel.value, paid_at=input.paid_at,
        receipt_no=_blank_to_none(input.receipt_no), external_id=_blank_to_none(input.external_id),
        extension_proof=_blank_to_none(input.extension_proof), back_years=input.back_years or 0,
    )
    kind = recorder_kind(principal.role, principal.department, principal.scope_kind)
    recorder = Recorder(principal.subject, principal.id, kind)
    recorded = await record_payment(context.db, principal.tenant_id, person, policy, new, recorder, context.services.clock.now())
    payment = recorded.payment
    if payment.unit_path != person.unit_path and not recorded.replayed:
        await context.reload_principal()  # the person's village was merged meanwhile
    audit.entity, audit.entity_id = "payment", payment.id
    audit.after = {
        "idNumber": mask(person.id_number), "year": payment.year, "amount": str(payment.amount),
        "channel": payment.channel, "status": payment.status, "replayed": recorded.replayed,
    }
    return recorded


async def _may_pay_for(context: Context, person: PersonRow) -> bool:
    """In the caller's scope, as the caller is now: the person was read FOR SHARE, so a
    merge of their village that committed meanwhile has moved them, and perhaps the
    caller's own scope with them (read again before refusing)."""
    if await context.may("payment", "write", person.unit_path):
        return True
    await context.reload_principal()
    return await context.may("payment", "write", person.unit_path)


def recorder_kind(role: Role, department: DepartmentCode | None, unit_kind: UnitKind | None) -> RecorderKind:
    """What the policy's channel rules call an account that may record payments: a
    collector of a school unit is a school collector, of a village or community a
    village collector; township staff; the tax bureau."""
    if role is Role.VILLAGE_COLLECTOR:
        return RecorderKind.SCHOOL_COLLECTOR if unit_kind is UnitKind.SCHOOL else RecorderKind.VILLAGE_COLLECTOR
    if role is Role.TOWNSHIP_STAFF:
        return RecorderKind.TOWNSHIP_STAFF
    if role is Role.DEPARTMENT_STAFF and department is DepartmentCode.TAX:
        return RecorderKind.TAX_BUREAU
    # casbin lets no one else write payments (authz/policy.csv): reaching here is a bug
    raise ValueError(f"{role} {department} records no payments")


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


@strawberry.type
class PaymentQueries:
    @strawberry.field(description="Payments in the caller's scope, newest first.")
    async def payments(
        self, info: Info, filter: PaymentFilter | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[PaymentType]:
        context = info.context
        principal = await context.check("payment", "read")
        size = page_size(first, context.services.page_default, context.services.page_max)
        cursor = decode_cursor(after, 1)
        path = await filter_path(info, principal, filter.unit if filter else None)
        person_id = None
        if filter and filter.id_number:
            person = await persons_store.person_by_id_number(context.db, principal.tenant_id, path, filter.id_number)
            await answer_lookup(info, principal, "payments.idNumber", filter.id_number, person.id if person else None)
            person_id = person.id if person else -1
        query = PaymentQuery(
            tenant_id=principal.tenant_id, path=path, year=filter.year if filter else None,
            channel=filter.channel.value if filter and filter.channel else None,
            status=filter.status.value if filter and filter.status else None, person_id=person_id,
        )
        page = await payments_store.list_payments(context.db, query, size, cursor[0] if cursor else None)
        return connection(
            page, after=after,
            node=lambda r: PaymentType.of(r), cursor=lambda r: [r.id],
        )


async def resolve_payment_node(info: Info, pk: int) -> PaymentType | None:
    principal = await info.context.check("payment", "read")
    found = await payments_by_ids(info.context.db, principal.tenant_id, principal.scope_path, [pk])
    return PaymentType.of(found[pk]) if pk in found else None


@strawberry.type
class PaymentMutations:
    @strawberry.mutation(description="Collectors and up, in scope; the tax bureau county-wide. Duplicates are kept and refunded.")
    async def record_payment(self, info: Info, input: RecordPaymentInput) -> RecordPaymentPayload:
        outcome = await run_mutation(info, "recordPayment", lambda audit: _record(info, input, audit))
        recorded = outcome.value
        if recorded is None:
            return RecordPaymentPayload(
                payment=None, refund=None, user_errors=outcome.errors, client_mutation_id=input.client_mutation_id,
            )
        if recorded.person is not None and info.context.caller().covers(recorded.person.unit_path):
            loaders.persons(info.context).prime(recorded.person.id, recorded.person)
        refund = None
        if recorded.refund_id is not None:
            principal = info.context.caller()
            refunds = await refunds_of_payments(info.context.db, principal.tenant_id, [recorded.payment.id])
            refund = next((RefundType.of(r) for r in refunds if r.id == recorded.refund_id), None)
        return RecordPaymentPayload(
            payment=PaymentType.of(recorded.payment), refund=refund, user_errors=[],
            client_mutation_id=input.client_mutation_id, recorded=recorded,
        )
