"""GraphQL face of the field lists: unpaidPersons (催缴名单), page by page.

The same lists come as .xlsx downloads at stable URLs (api/downloads.py)."""
from __future__ import annotations

import strawberry
from strawberry.types import Info

from domain.enrollment.rules import EnrollmentStatus
from domain.persons import store as persons_store
from domain.persons.store import PersonQuery
from schema.persons import PersonType
from schema.progress.progress import in_scope_unit
from schema.relay import (
    Connection,
    connection,
    decode_cursor,
    page_size,
)


@strawberry.type
class FieldListQueries:
    @strawberry.field(description="Persons of a unit's subtree (the caller's own unit if null) who have not paid the "
                      "year yet, village by village; ask `enrollment(year:)` for the amount due.")
    async def unpaid_persons(
        self, info: Info, year: int, unit: strawberry.ID | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[PersonType]:
        context = info.context
        principal = await context.check("person", "read")
        row = await in_scope_unit(info, principal, unit)
        services = context.services
        size = page_size(first, services.page_default, services.page_max)
        cursor = decode_cursor(after, 2)
        path = row.path if row else principal.scope_path
        query = PersonQuery(tenant_id=principal.tenant_id, path=path, year=year, status=EnrollmentStatus.UNPAID)
        page = await persons_store.list_persons(context.db, query, size, tuple(cursor) if cursor else None)
        return connection(
            page, after=after,
            node=lambda r: PersonType.of(r, principal), cursor=lambda r: [r.unit_path, r.id],
        )
