"""GraphQL face of a person's day two: updatePerson, correctIdNumber (医保局),
transferPerson, recordPersonEvent, withdrawPersonEvent.

Every one names the person (or event) by global ID and acts only inside the caller's
scope (a collector in their village, township staff in their subtree, county roles in
the county); an ID outside it, of another county or malformed is NOT_FOUND. Each runs
in a savepoint (nothing written on error) and is audited, ID numbers masked."""
from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types import Info

from domain.persons import edits, life_events
from domain.persons import store as persons_store
from domain.persons.edits import LockedPerson
from domain.persons.events import PersonEventKind
from domain.persons.idnumber import mask
from domain.persons.life_events import EventRow
from domain.persons.store import PersonRow
from schema.errors import UserError
from schema.mutations import Audit, object_in_scope, run_mutation
from schema.person_events import PersonEventKindEnum, PersonEventType
from schema.persons import PersonType
from schema.redaction import mask_whole_numbers
from schema.relay import parse_global_id
from tenants.problems import ErrorCode, Problem, Rejected


@strawberry.input
class UpdatePersonInput:
    person: strawberry.ID
    name: str | None = strawberry.field(default=None, description="Null: unchanged. Checked as at registration.")
    phone: str | None = strawberry.field(default=None, description="Null: unchanged; empty: cleared.")


@strawberry.input
class CorrectIdNumberInput:
    person: strawberry.ID
    id_number: str
    reason: str


@strawberry.input
class TransferPersonInput:
    person: strawberry.ID
    to: strawberry.ID = strawberry.field(description="A village, community, school or special unit of the county.")


@strawberry.input
class RecordPersonEventInput:
    person: strawberry.ID
    kind: PersonEventKindEnum  # type: ignore[valid-type]
    date: date
    note: str | None = None


@strawberry.input
class WithdrawPersonEventInput:
    event: strawberry.ID


@strawberry.type
class UpdatePersonPayload:
    person: PersonType | None = strawberry.field(
        description="The person as changed; null on error, and after a transfer out of the caller's scope."
    )
    user_errors: list[UserError]


@strawberry.type
class PersonEventPayload:
    event: PersonEventType | None
    person: PersonType | None
    user_errors: list[UserError]


async def _locked_person(info: Info, global_id: str, right: tuple[str, str] = ("person", "write")) -> LockedPerson:
    """The person named, inside the caller's scope, locked for the rest of the request."""
    context = info.context
    scope = context.mutation_caller().scope_path

    async def load(tenant_id: int, pk: int) -> LockedPerson | None:
        return await edits.lock_person(context.db, tenant_id, scope, pk)

    person = await object_in_scope(context, global_id, "Person", load, right, "person", "person")
    await context.require(*right, person.row.unit_path)
    return person


def _masked_text(value: str | None) -> str | None:
    """Free text for the audit trail: an ID number typed into it is masked."""
    return mask_whole_numbers(value) if value else value


async def _update(info: Info, input: UpdatePersonInput, audit: Audit) -> PersonRow:
    principal = info.context.mutation_caller()
    person = await _locked_person(info, input.person)
    audit.entity, audit.entity_id = "person", person.row.id
    row, changes = await edits.update_details(
        info.context.db, principal.tenant_id, person, input.name, input.phone, principal.subject
    )
    audit.before = {c.field: c.before for c in changes}
    audit.after = {"idNumber": mask(row.id_number), **{c.field: c.after for c in changes}}
    return row


async def _correct(info: Info, input: CorrectIdNumberInput, audit: Audit) -> PersonRow:
    context = info.context
    principal = context.mutation_caller()
    await context.require("person", "correct")
    person = await _locked_person(info, input.person, ("person", "correct"))
    audit.entity, audit.entity_id = "person", person.row.id
    row, change = await edits.correct_id_number(
        context.db, principal.tenant_id, person, input.id_number, input.reason, principal.subject
    )
    audit.before = {"idNumber": mask(change.before), "birthYear": person.row.birth_date.year}
    audit.after = {"idNumber": mask(row.id_number), "birthYear": row.birth_date.year, "reason": _masked_text(input.reason)}
    return row


async def _transfer(info: Info, input: TransferPersonInput, audit: Audit) -> PersonRow:
    context = info.context
    principal = context.mutation_caller()
    person = await _locked_person(info, input.person)
    audit.entity, audit.entity_id = "person", person.row.id
    pk = parse_global_id(input.to, "Unit") if input.to else None
    # The receiving unit may lie outside the sender's scope: any unit of the county.
    to = await persons_store.unit_ref(context.db, principal.tenant_id, pk) if pk is not None else None
    if to is None:
        raise Rejected([Problem(ErrorCode.NOT_FOUND, ["to"], variant="TARGET_UNIT")])
    source = await persons_store.unit_ref(context.db, principal.tenant_id, person.row.unit_id)
    from_label = await persons_store.holder_label(context.db, principal.tenant_id, person.row.unit_id)
    to_label = await persons_store.holder_label(context.db, principal.tenant_id, to.id)
    row = await edits.transfer(context.db, principal.tenant_id, person, to, principal.subject, from_label, to_label)
    audit.before = {"unit": source.code if source else None}
    audit.after = {"idNumber": mask(row.id_number), "unit": to.code}
    return row


async def _record_event(info: Info, input: RecordPersonEventInput, audit: Audit) -> tuple[PersonRow, EventRow]:
    context = info.context
    principal = context.mutation_caller()
    person = await _locked_person(info, input.person)
    audit.entity, audit.entity_id = "person", person.row.id
    event = await life_events.record_event(
        context.db, principal.tenant_id, person, PersonEventKind(input.kind), input.date, input.note,
        principal.subject, context.services.clock.today(),
    )
    audit.entity, audit.entity_id = "person_event", event.id
    audit.after = {
        "idNumber": mask(person.row.id_number), "kind": event.kind.value, "date": event.date.isoformat(),
        "note": _masked_text(event.note),
    }
    return person.row, event


async def _withdraw_event(info: Info, input: WithdrawPersonEventInput, audit: Audit) -> tuple[PersonRow, EventRow]:
    context = info.context
    principal = context.mutation_caller()
    scope = principal.scope_path

    async def load(tenant_id: int, pk: int) -> LockedPerson | None:
        person_id = await life_events.event_person(context.db, tenant_id, scope, pk)
        return await edits.lock_person(context.db, tenant_id, scope, person_id) if person_id else None

    person = await object_in_scope(context, input.event, "PersonEvent", load, ("person", "write"), "event", "event")
    await context.require("person", "write", person.row.unit_path)
    event_id = parse_global_id(input.event, "PersonEvent")
    audit.entity, audit.entity_id = "person_event", event_id
    event = await life_events.withdraw_event(context.db, principal.tenant_id, person, event_id, principal.subject)
    audit.before = {"idNumber": mask(person.row.id_number), "kind": event.kind.value, "date": event.date.isoformat()}
    audit.after = {"withdrawn": True}
    return person.row, event


def _shown(info: Info, row: PersonRow | None) -> PersonType | None:
    principal = info.context.principal
    if row is None or principal is None or not principal.covers(row.unit_path):
        return None
    return PersonType.of(row, principal)


def _event_payload(info: Info, value: tuple[PersonRow, EventRow] | None, errors: list[UserError]) -> PersonEventPayload:
    if value is None:
        return PersonEventPayload(event=None, person=None, user_errors=errors)
    person, event = value
    return PersonEventPayload(event=PersonEventType.of(event), person=_shown(info, person), user_errors=errors)


async def resolve_person_event_node(info: Info, pk: int) -> PersonEventType | None:
    principal = await info.context.check("person", "read")
    row = await life_events.event_by_id(info.context.db, principal.tenant_id, principal.scope_path, pk)
    return PersonEventType.of(row) if row else None


@strawberry.type
class PersonEditMutations:
    @strawberry.mutation(
        description="Collectors and up, in scope: a person's name and phone, checked as at registration (never the ID "
        "number: correctIdNumber). Kept in `Person.changes`. Audited."
    )
    async def update_person(self, info: Info, input: UpdatePersonInput) -> UpdatePersonPayload:
        outcome = await run_mutation(info, "updatePerson", lambda audit: _update(info, input, audit))
        return UpdatePersonPayload(person=_shown(info, outcome.value), user_errors=outcome.errors)

    @strawberry.mutation(
        description="医保局 (MEDICAL_SECURITY) only, with a reason: a wrongly registered ID number corrected. Enrolments, "
        "payments and history stay with the person; birth date and sex follow the new number. Refused when the number "
        "is invalid (INVALID_ID_NUMBER …) or another person of the county has it (ID_NUMBER_IN_USE). Audited."
    )
    async def correct_id_number(self, info: Info, input: CorrectIdNumberInput) -> UpdatePersonPayload:
        outcome = await run_mutation(info, "correctIdNumber", lambda audit: _correct(info, input, audit))
        return UpdatePersonPayload(person=_shown(info, outcome.value), user_errors=outcome.errors)

    @strawberry.mutation(
        description="The sending side (collector of the person's village, township staff above it, county roles): the "
        "person moves to another village, community, school or special unit of the county, with every year's "
        "enrolment; the tallies of both units move in the same transaction. Audited."
    )
    async def transfer_person(self, info: Info, input: TransferPersonInput) -> UpdatePersonPayload:
        outcome = await run_mutation(info, "transferPerson", lambda audit: _transfer(info, input, audit))
        return UpdatePersonPayload(person=_shown(info, outcome.value), user_errors=outcome.errors)

    @strawberry.mutation(
        description="Collectors and up, in scope: a life event. In force and dated before a year's window closes, it "
        "takes that year off the unpaid lists and out of the persons who must enrol (EXCUSED), off the 断保/漏保 lists, "
        "and offers the matching refund reason for money paid (`event.refundOffered`). Audited."
    )
    async def record_person_event(self, info: Info, input: RecordPersonEventInput) -> PersonEventPayload:
        outcome = await run_mutation(info, "recordPersonEvent", lambda audit: _record_event(info, input, audit))
        return _event_payload(info, outcome.value, outcome.errors)

    @strawberry.mutation(
        description="Collectors and up, in scope: withdraw a wrong life event; the years it excused go back to what they "
        "were (UNPAID or their subsidy). It stays on record, withdrawn. Audited."
    )
    async def withdraw_person_event(self, info: Info, input: WithdrawPersonEventInput) -> PersonEventPayload:
        outcome = await run_mutation(info, "withdrawPersonEvent", lambda audit: _withdraw_event(info, input, audit))
        return _event_payload(info, outcome.value, outcome.errors)
