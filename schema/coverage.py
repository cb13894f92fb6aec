"""断保 and 漏保 in the API: the persons to chase (lapsedPersons, neverEnrolled) and their
counts beside quota progress (`QuotaProgress.lapsed`, `.neverEnrolled`)."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.coverage.rules import CoverGap
from domain.persons.store import PersonQuery
from schema.persons import PersonType, filter_path, person_page
from schema.relay import Connection


async def _gap_page(
    info: Info, gap: CoverGap, year: int, unit: strawberry.ID | None, first: int | None, after: str | None
) -> Connection[PersonType]:
    principal = await info.context.check("person", "read")
    path = await filter_path(info, principal, unit)
    query = PersonQuery(tenant_id=principal.tenant_id, path=path, year=year, gap=gap)
    return await person_page(info, principal, query, first, after)


@strawberry.type
class CoverageQueries:
    @strawberry.field(
        description="断保: persons of the caller's scope (or of `unit`) enrolled the year before — here or in the "
        "imported enrolment history — and not enrolled in `year`, with nothing on record explaining it."
    )
    async def lapsed_persons(
        self, info: Info, year: int, unit: strawberry.ID | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[PersonType]:
        return await _gap_page(info, CoverGap.LAPSED, year, unit, first, after)

    @strawberry.field(
        description="漏保: registered residents of the caller's scope (or of `unit`) with no enrolment on record in any "
        "year up to `year`, with nothing on record explaining it."
    )
    async def never_enrolled(
        self, info: Info, year: int, unit: strawberry.ID | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[PersonType]:
        return await _gap_page(info, CoverGap.NEVER_ENROLLED, year, unit, first, after)
