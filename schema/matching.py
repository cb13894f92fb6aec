"""Duplicate enrolment across counties (重复参保) in the API: `duplicateEnrollments`,
`resolveDuplicate`, and the `warnings` that recordPayment, importPayments and
uploadSubsidyList return when they enrol a person another county enrols too."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from domain.enrollment.store import recompute_persons
from domain.matching import store as matching_store
from domain.matching.rules import DuplicateCaseStatus, ReopenRefusal
from domain.matching.store import CaseRow
from domain.payments.store import payments_by_ids
from domain.policy import store as policy_store
from domain.refunds import store as refunds_store
from domain.refunds.rules import RefundReason, RefundRequest
from schema.errors import UserError
from schema.mutations import Audit, object_in_scope, run_mutation
from schema.payments import RefundType, load_person
from schema.persons import filter_path
from schema.relay import Connection, Node, connection, decode_cursor, page_size, to_global_id
from schema.warnings import day as _day
from tenants.messages import text
from tenants.problems import ErrorCode, Problem, Rejected

if TYPE_CHECKING:
    from schema.persons import PersonType

PersonRef = Annotated["PersonType", strawberry.lazy("schema.persons")]
DuplicateCaseStatusEnum = strawberry.enum(DuplicateCaseStatus, name="DuplicateCaseStatus")


@strawberry.type(name="DuplicateCase", description="A person this county enrols for `year` whom another county enrols too.")
class DuplicateCaseType(Node):
    year: int
    other_tenant_code: str
    other_tenant_name: str
    other_since: date = strawberry.field(description="Since when the other county enrols the person (Beijing day).")
    status: DuplicateCaseStatusEnum
    resolved_here: bool | None = strawberry.field(
        description="True: this county resolved it; false: the other county did (this side's status is the other half)."
    )
    note: str | None
    row: strawberry.Private[CaseRow]

    @classmethod
    def of(cls, row: CaseRow) -> DuplicateCaseType:
        return cls(
            id=to_global_id("DuplicateCase", row.id), year=row.year, other_tenant_code=row.other_code,
            other_tenant_name=row.other_name, other_since=_day(row.other_since),
            status=DuplicateCaseStatus(row.status), resolved_here=row.resolved_here,
            note=row.note if row.resolved_here else None, row=row,
        )

    @strawberry.field(description="Since when this county enrols the person (Beijing day).")
    def since(self) -> date:
        return _day(self.row.since)

    @strawberry.field(
        description="The national rule's advice for this county (employee insurance first; students where they "
        "study; otherwise the later registration place), in the request's language; null when nothing decides."
    )
    def suggestion(self, info: Info) -> str | None:
        key = self.row.suggestion
        return text(f"term.Suggestion.{key.value}", info.context.locale) if key else None

    @strawberry.field(
        description="`suggestion` as a code for front ends: RELEASE_EMPLOYEE, KEEP_CHOSEN, RELEASE_CHOSEN, "
        "KEEP_STUDENT, RELEASE_STUDENT, KEEP_LATER or RELEASE_LATER."
    )
    def suggestion_key(self) -> str | None:
        key = self.row.suggestion
        return key.value if key else None

    @strawberry.field
    async def person(self, info: Info) -> PersonRef:
        return await load_person(info, self.row.person_id)


@strawberry.input
class ResolveDuplicateInput:
    case: strawberry.ID
    keep: bool = strawberry.field(
        description="true: the person stays here; false: released here — a DUPLICATE_ENROLLMENT refund is requested "
        "when the year was paid (the enrolment ends when it is approved)."
    )
    note: str | None = None


@strawberry.type
class ResolveDuplicatePayload:
    case: DuplicateCaseType | None
    refund: RefundType | None
    user_errors: list[UserError]


@strawberry.input
class ReopenDuplicateInput:
    case: strawberry.ID
    note: str | None = strawberry.field(default=None, description="Why the decision is undone (kept with the case).")


@strawberry.type
class ReopenDuplicatePayload:
    case: DuplicateCaseType | None
    user_errors: list[UserError]


async def _case_to_decide(info: Info, case_id: strawberry.ID, note: str | None, audit: Audit) -> tuple[CaseRow, str | None]:
    """The case a decision (or its undoing) names, if the caller may decide it; audited
    as the entity; and the note, trimmed."""
    context = info.context
    principal = context.mutation_caller()

    async def load(tenant_id: int, pk: int) -> CaseRow | None:
        return await matching_store.case_in_scope(context.db, tenant_id, principal.scope_path, pk)

    case = await object_in_scope(context, case_id, "DuplicateCase", load, ("duplicate", "resolve"), "case", "duplicate_case")
    await context.require("duplicate", "resolve", case.unit_path)
    audit.entity, audit.entity_id = "duplicate_case", case.id
    audit.before = {"status": case.status}
    return case, (note.strip() or None if note else None)


async def _resolve(info: Info, input: ResolveDuplicateInput, audit: Audit) -> tuple[CaseRow, int | None]:
    context, principal = info.context, info.context.mutation_caller()
    case, note = await _case_to_decide(info, input.case, input.note, audit)
    outcome = await matching_store.resolve_case(context.db, case.id, input.keep, note, principal.subject)
    if outcome != "RESOLVED":
        status = DuplicateCaseStatus(outcome) if outcome in DuplicateCaseStatus.__members__ else DuplicateCaseStatus.OPEN
        raise Rejected([Problem(ErrorCode.CASE_CLOSED, ["case"], {"status": status})])
    refund_id = None if input.keep else await _request_release_refund(info, case, note)
    if not input.keep and refund_id is None:
        # not paid here: the year leaves the county's scheme now (domain/matching/sql.py)
        await recompute_persons(context.db, principal.tenant_id, [case.person_id], [case.year])
    audit.after = {"status": "KEPT" if input.keep else "RELEASED", "refund": refund_id}
    return case, refund_id


async def _reopen(info: Info, input: ReopenDuplicateInput, audit: Audit) -> CaseRow:
    """Undo this county's decision: both sides OPEN again, and what the decision did
    undone — here by the recompute, there by `match_reopen_case` where nothing changed
    since. Not while a DUPLICATE_ENROLLMENT refund of the year stands (the refund
    decides first: rejected, the decision can be undone; approved, the year has ended)."""
    context, principal = info.context, info.context.mutation_caller()
    case, note = await _case_to_decide(info, input.case, input.note, audit)
    refund = await matching_store.release_refund_status(context.db, principal.tenant_id, case.person_id, case.year)
    if refund is not None and case.status == DuplicateCaseStatus.RELEASED:
        raise Rejected([Problem(ErrorCode.RELEASE_REFUND_STANDS, ["case"], {"status": refund})])
    refusal = await matching_store.reopen_case(context.db, case.id, note, principal.subject)
    if refusal is ReopenRefusal.NOT_FOUND:  # (read a moment ago: gone meanwhile)
        raise Rejected([Problem(ErrorCode.NOT_FOUND, ["case"], variant="DUPLICATE_CASE")])
    if refusal is not None:
        raise Rejected([Problem(ErrorCode.CASE_NOT_REOPENABLE, ["case"], variant=refusal.value)])
    # a year this decision released here comes back as the recompute makes it
    await recompute_persons(context.db, principal.tenant_id, [case.person_id], [case.year])
    audit.after = {"status": "OPEN"}
    return case


async def _case_now(info: Info, case: CaseRow) -> DuplicateCaseType | None:
    """The case as the mutation left it, for the payload."""
    principal = info.context.caller()
    fresh = await matching_store.case_in_scope(info.context.db, principal.tenant_id, principal.scope_path, case.id)
    return DuplicateCaseType.of(fresh) if fresh else None


async def _request_release_refund(info: Info, case: CaseRow, note: str | None) -> int | None:
    """Released and paid: the DUPLICATE_ENROLLMENT refund (reason 4) through the usual
    request path and its rules; the event is the day the person became enrolled twice."""
    context = info.context
    principal = context.mutation_caller()
    payment_id = await matching_store.accepted_payment_id(context.db, principal.tenant_id, case.person_id, case.year)
    if payment_id is None:
        return None
    await context.require("refund", "request", case.unit_path)
    payment = (await payments_by_ids(context.db, principal.tenant_id, "/", [payment_id]))[payment_id]
    policy = await policy_store.load_policy(context.db, principal.tenant_id, case.year)
    request = RefundRequest(
        reason=RefundReason.DUPLICATE_ENROLLMENT, note=note, event_date=_day(max(case.since, case.other_since)),
    )
    row = await refunds_store.request_refund(
        context.db, principal.tenant_id, payment, policy, request, principal.subject, context.services.clock.today()
    )
    return row.id


@strawberry.type
class MatchingQueries:
    @strawberry.field(
        description="重复参保: persons of the caller's scope (or of `unit`) whom another county enrols for `year` too, "
        "newest first. 医保局 county-wide, township staff in scope."
    )
    async def duplicate_enrollments(
        self, info: Info, year: int, status: DuplicateCaseStatusEnum | None = None, unit: strawberry.ID | None = None,
        first: int | None = None, after: str | None = None,
    ) -> Connection[DuplicateCaseType]:
        context = info.context
        principal = await context.check("duplicate", "read")
        path = await filter_path(info, principal, unit)
        size = page_size(first, context.services.page_default, context.services.page_max)
        cursor = decode_cursor(after, 1)
        page = await matching_store.list_cases(
            context.db, principal.tenant_id, path, year, DuplicateCaseStatus(status.value) if status else None,
            size, cursor[0] if cursor else None,
        )
        return connection(page, after=after, node=DuplicateCaseType.of, cursor=lambda r: [r.id])


async def resolve_duplicate_case_node(info: Info, pk: int) -> DuplicateCaseType | None:
    principal = await info.context.check("duplicate", "read")
    row = await matching_store.case_in_scope(info.context.db, principal.tenant_id, principal.scope_path, pk)
    return DuplicateCaseType.of(row) if row else None


@strawberry.type
class MatchingMutations:
    @strawberry.mutation(
        description="Resolve a duplicate enrolment case (医保局, township staff in scope): keep the person here, or "
        "release them: a DUPLICATE_ENROLLMENT refund is requested when paid, a year not paid here (subsidised) is "
        "EXCUSED at once. Closes the other county's side too, the other half: a subsidised year released there ends "
        "there."
    )
    async def resolve_duplicate(self, info: Info, input: ResolveDuplicateInput) -> ResolveDuplicatePayload:
        outcome = await run_mutation(info, "resolveDuplicate", lambda audit: _resolve(info, input, audit))
        if outcome.value is None:
            return ResolveDuplicatePayload(case=None, refund=None, user_errors=outcome.errors)
        case, refund_id = outcome.value
        refund = None
        if refund_id is not None:
            found = await refunds_store.refund_in_scope(info.context.db, info.context.caller().tenant_id, "/", refund_id)
            refund = RefundType.of(found[0]) if found else None
        return ResolveDuplicatePayload(case=await _case_now(info, case), refund=refund, user_errors=[])

    @strawberry.mutation(
        description="Undo this county's decision on a duplicate enrolment case (same callers as resolveDuplicate): "
        "both sides OPEN again, a year the decision ended (here, or a subsidised year there, untouched since) "
        "enrolled again. Not while a DUPLICATE_ENROLLMENT refund of the year stands."
    )
    async def reopen_duplicate(self, info: Info, input: ReopenDuplicateInput) -> ReopenDuplicatePayload:
        outcome = await run_mutation(info, "reopenDuplicate", lambda audit: _reopen(info, input, audit))
        if outcome.value is None:
            return ReopenDuplicatePayload(case=None, user_errors=outcome.errors)
        return ReopenDuplicatePayload(case=await _case_now(info, outcome.value), user_errors=[])
