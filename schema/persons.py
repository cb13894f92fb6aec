"""GraphQL face of persons: persons, person(idNumber:), registerPerson."""
from __future__ import annotations

from datetime import date

import strawberry
from strawberry.types import Info

from authz.principal import Principal
from domain.persons import store as persons_store
from domain.persons.idnumber import looks_like_id_number, mask
from domain.persons.rules import NewPerson, shown_age, shown_birth_date, shown_id_number
from domain.persons.store import PersonQuery, PersonRow, UnitRef
from schema import loaders
from schema.enrollment import EnrollmentStatusEnum, EnrollmentType, NewbornExemptionInput, enrollment_loader
from schema.errors import PublicError, UserError
from schema.id_lookups import answer_lookup
from schema.mutations import Audit, object_in_scope, run_mutation
from schema.person_events import PersonChangeType, PersonEventType
from schema.relay import (
    Connection,
    Node,
    asks_for,
    connection,
    decode_cursor,
    page_size,
    to_global_id,
)
from schema.subsidy_lists import SubsidyHistoryEntry
from schema.tenants import UnitType, prefetch_units, unit_now, visible_unit
from tenants.problems import ErrorCode


@strawberry.type(name="Person")
class PersonType(Node):
    id_number: str = strawberry.field(description="Whole for those allowed to see it, else 411325********1234.")
    name: str
    birth_date: date | None = strawberry.field(
        description="Null for readers who see ID numbers masked: the birth date would make the number whole again."
    )
    birth_year: int
    sex: str
    row: strawberry.Private[PersonRow]
    whole: strawberry.Private[bool]

    @classmethod
    def of(cls, row: PersonRow, viewer: Principal) -> PersonType:
        whole = viewer.sees_whole_id_numbers
        return cls(
            id=to_global_id("Person", row.id), id_number=shown_id_number(row.id_number, whole), name=row.name,
            birth_date=shown_birth_date(row.birth_date, whole), birth_year=row.birth_date.year, sex=row.sex,
            row=row, whole=whole,
        )

    @strawberry.field(
        description="Completed years (周岁) on `on` (default: today in Beijing); null before birth. For readers who "
        "see ID numbers masked: the age reached by 31 December of `on`'s year, so that it never pins the birthday."
    )
    def age(self, info: Info, on: date | None = None) -> int | None:
        return shown_age(self.row.birth_date, on or info.context.services.clock.today(), self.whole)

    @strawberry.field
    def unit(self, info: Info) -> UnitType:
        return unit_now(info, self.row.unit_id)  # type: ignore[return-value]  # (or an awaitable of it)

    @strawberry.field(description="Every version of every subsidy list that named this person.")
    async def subsidy_history(self, info: Info, year: int | None = None) -> list[SubsidyHistoryEntry]:
        rows = await loaders.subsidy_histories(info.context, year).load(self.row.id_number)
        return [SubsidyHistoryEntry.of(r) for r in rows]

    @strawberry.field(description="Life events (died, employee insurance, moved out, enlisted), withdrawn ones too.")
    async def events(self, info: Info) -> list[PersonEventType]:
        return [PersonEventType.of(r) for r in await loaders.person_events(info.context).load(self.row.id)]

    @strawberry.field(
        description="Registration history, oldest first. ID numbers are masked for readers who see them masked."
    )
    async def changes(self, info: Info) -> list[PersonChangeType]:
        rows = await loaders.person_changes(info.context).load(self.row.id)
        return [PersonChangeType.of(r, self.whole) for r in rows]

    @strawberry.field(description="The person's enrolment for a benefit year; null if the year has no policy.")
    async def enrollment(self, info: Info, year: int) -> EnrollmentType | None:
        row = await enrollment_loader(info, year).load(self.row.id)
        return EnrollmentType.of(row, self.row.birth_date, self.whole) if row else None


@strawberry.input
class PersonFilter:
    unit: strawberry.ID | None = strawberry.UNSET
    search: str | None = strawberry.field(
        default=None,
        description="An exact ID number, or the start of a name. Readers who see ID numbers masked: a search by "
        "number is a look-up (audited, limited per hour: LOOKUP_LIMIT).",
    )
    year: int | None = strawberry.field(default=None, description="Needed with status or category.")
    status: EnrollmentStatusEnum | None = None
    category: str | None = strawberry.field(default=None, description="The subsidy category applied in `year`.")


@strawberry.input
class RegisterPersonInput:
    id_number: str
    name: str
    unit: strawberry.ID
    phone: str | None = None
    newborn: NewbornExemptionInput | None = strawberry.field(
        default=None,
        description="A newborn whose father or mother is insured in the city (内乡): enrolled for its year of birth "
        "without paying. A declaration that does not hold refuses the registration (declare later instead).",
    )
    client_mutation_id: str | None = None


@strawberry.type
class RegisterPersonPayload:
    person: PersonType | None
    user_errors: list[UserError]
    client_mutation_id: str | None = None


async def filter_path(info: Info, principal: Principal, unit: strawberry.ID | None) -> str:
    """The caller's scope, narrowed to a unit's subtree when one is asked for."""
    if not unit:
        return principal.scope_path
    row = await visible_unit(info, unit)
    if row.path.startswith(principal.scope_path):
        return row.path
    if principal.scope_path.startswith(row.path):
        return principal.scope_path  # an ancestor: the caller's own part of it
    raise PublicError(ErrorCode.FORBIDDEN, variant="OUTSIDE_SCOPE")


def _person_query(principal: Principal, path: str, filter: PersonFilter | None) -> PersonQuery:
    if filter is None:
        return PersonQuery(tenant_id=principal.tenant_id, path=path)
    if (filter.status or filter.category) and filter.year is None:
        raise PublicError(ErrorCode.YEAR_REQUIRED)
    return PersonQuery(
        tenant_id=principal.tenant_id,
        path=path,
        search=filter.search,
        year=filter.year,
        status=filter.status.value if filter.status else None,
        category=filter.category,
    )


async def _register(info: Info, input: RegisterPersonInput, audit: Audit) -> PersonRow:
    context = info.context
    principal = context.mutation_caller()

    async def load(tenant_id: int, pk: int) -> UnitRef | None:
        return await persons_store.unit_ref(context.db, tenant_id, pk)

    unit = await object_in_scope(context, input.unit, "Unit", load, ("person", "write"), "unit", "unit")
    await context.require("person", "write", unit.path)
    person = NewPerson(id_number=input.id_number, name=input.name, unit_id=unit.id, phone=input.phone)
    newborn = input.newborn.to_claim() if input.newborn else None
    row = await persons_store.register_person(
        context.db, principal.tenant_id, unit, person, principal.subject, context.services.clock.today(), newborn
    )
    audit.entity, audit.entity_id = "person", row.id
    audit.after = {"idNumber": mask(row.id_number), "unit": unit.code}
    if newborn is not None:
        audit.after["newbornExemption"] = newborn.basis.value
    return row


async def person_page(
    info: Info, principal: Principal, query: PersonQuery, first: int | None, after: str | None
) -> Connection[PersonType]:
    """One keyset page of persons (by village, then person) matching `query`."""
    services = info.context.services
    size = page_size(first, services.page_default, services.page_max)
    cursor = decode_cursor(after, 2)
    page = await persons_store.list_persons(
        info.context.db, query, size, tuple(cursor) if cursor else None, counted=asks_for(info, "totalCount")
    )
    if query.search and looks_like_id_number(query.search):
        await answer_lookup(info, principal, "persons.search", query.search, page.rows[0].id if page.rows else None)
    if asks_for(info, "edges", "node", "unit"):
        await prefetch_units(info, (row.unit_id for row in page.rows))
    return connection(
        page, after=after,
        node=lambda r: PersonType.of(r, principal), cursor=lambda r: [r.unit_path, r.id],
    )


@strawberry.type
class PersonQueries:
    @strawberry.field(description="Persons in the caller's scope, ordered by village, keyset-paginated.")
    async def persons(
        self, info: Info, filter: PersonFilter | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[PersonType]:
        principal = await info.context.check("person", "read")
        path = await filter_path(info, principal, filter.unit if filter else None)
        query = _person_query(principal, path, filter)
        return await person_page(info, principal, query, first, after)

    @strawberry.field(
        description="One person by ID number, if inside the caller's scope. Readers who see ID numbers masked: "
        "audited, and limited per hour (LOOKUP_LIMIT)."
    )
    async def person(self, info: Info, id_number: str) -> PersonType | None:
        principal = await info.context.check("person", "read")
        row = await persons_store.person_by_id_number(info.context.db, principal.tenant_id, principal.scope_path, id_number)
        await answer_lookup(info, principal, "person", id_number, row.id if row else None)
        return PersonType.of(row, principal) if row else None


async def resolve_person_node(info: Info, pk: int) -> PersonType | None:
    principal = await info.context.check("person", "read")
    rows = await persons_store.persons_by_ids(info.context.db, principal.tenant_id, principal.scope_path, [pk])
    return PersonType.of(rows[pk], principal) if pk in rows else None


@strawberry.type
class PersonMutations:
    @strawberry.mutation(description="Collectors and up, in scope: a resident with a validated ID number.")
    async def register_person(self, info: Info, input: RegisterPersonInput) -> RegisterPersonPayload:
        outcome = await run_mutation(info, "registerPerson", lambda audit: _register(info, input, audit))
        person = PersonType.of(outcome.value, info.context.principal) if outcome.value else None
        return RegisterPersonPayload(person=person, user_errors=outcome.errors, client_mutation_id=input.client_mutation_id)
