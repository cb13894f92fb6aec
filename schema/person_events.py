"""GraphQL types of a person's day two: life events and the registration history.

Kept apart from schema/persons.py (which shows them on `Person`) and
schema/person_edits.py (the mutations), so that neither imports the other's module."""
from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from domain.persons.edits import ChangeRow
from domain.persons.events import REFUND_REASON, PersonEventKind
from domain.persons.idnumber import mask
from domain.persons.life_events import EventRow
from schema import loaders
from schema.refund_reasons import RefundReasonEnum
from schema.relay import Node, to_global_id

PersonEventKindEnum = strawberry.enum(PersonEventKind, name="PersonEventKind")


@strawberry.type(name="PersonEvent")
class PersonEventType(Node):
    kind: PersonEventKindEnum  # type: ignore[valid-type]
    date: date
    note: str | None
    withdrawn: bool
    recorded_at: datetime
    row: strawberry.Private[EventRow]

    @classmethod
    def of(cls, row: EventRow) -> PersonEventType:
        return cls(
            id=to_global_id("PersonEvent", row.id), kind=row.kind, date=row.date, note=row.note,
            withdrawn=not row.in_force, recorded_at=row.recorded_at, row=row,
        )

    @strawberry.field(
        description="The benefit years this event (in force) came before the window end of and that were paid: "
        "their money may be refunded for `refundOffered`."
    )
    async def refund_years(self, info: Info) -> list[int]:
        if not self.row.in_force:
            return []
        return await loaders.event_refund_years(info.context).load(self.row.id)

    @strawberry.field(
        description="The refund reason of the seven that matches the event (DECEASED, JOINED_EMPLOYEE_INSURANCE, "
        "MOVED_REGION for moving out and for enlisting), when money was paid for a year it excuses; else null."
    )
    async def refund_offered(self, info: Info) -> RefundReasonEnum | None:  # type: ignore[valid-type]
        return REFUND_REASON[self.row.kind] if await self.refund_years(info) else None


@strawberry.type(name="PersonChange")
class PersonChangeType:
    at: datetime
    by: str = strawberry.field(description="The account that made the change.")
    field: str = strawberry.field(description="name, phone, idNumber or unit.")
    before: str | None
    after: str | None
    reason: str | None = strawberry.field(description="Why (an ID number's correction).")

    @classmethod
    def of(cls, row: ChangeRow, whole: bool) -> PersonChangeType:
        def shown(value: str | None) -> str | None:
            # an ID number's change: masked for readers who see numbers masked
            return mask(value) if value and row.field == "idNumber" and not whole else value

        return cls(
            at=row.changed_at, by=row.changed_by, field=row.field, before=shown(row.before), after=shown(row.after),
            reason=row.reason,
        )
