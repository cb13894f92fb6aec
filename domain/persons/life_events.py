"""Life events in the database (rules: domain/persons/events.py). Recording or
withdrawing one recomputes the person's years (domain/enrollment/sql.py: EXCUSED while
an event in force predates a year's window end), tallies in the same statement."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text

from domain.enrollment.rules import EnrollmentStatus
from domain.enrollment.store import recompute_persons
from domain.persons.edits import LockedPerson
from domain.persons.events import PersonEventKind, check_event_date
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.session import Db

_COLUMNS = "id, person_id, kind, date, note, recorded_by, recorded_at, withdrawn_by, withdrawn_at"


@dataclass(frozen=True)
class EventRow:
    id: int
    person_id: int
    kind: PersonEventKind
    date: date
    note: str | None
    recorded_by: str
    recorded_at: datetime
    withdrawn_by: str | None
    withdrawn_at: datetime | None

    @property
    def in_force(self) -> bool:
        return self.withdrawn_at is None


def _event(r) -> EventRow:  # noqa: ANN001
    return EventRow(r.id, r.person_id, PersonEventKind(r.kind), r.date, r.note, r.recorded_by, r.recorded_at,
                    r.withdrawn_by, r.withdrawn_at)


async def record_event(
    db: Db, tenant_id: int, person: LockedPerson, kind: PersonEventKind, on: date, note: str | None, actor: str,
    today: date,
) -> EventRow:
    problems = check_event_date(on, today, person.row.birth_date)
    if problems:
        raise Rejected(problems)
    row = (
        await db.execute(
            text(
                f"""INSERT INTO person_event (tenant_id, person_id, kind, date, note, recorded_by)
                    VALUES (:t, :p, :kind, :date, :note, :by)
                    ON CONFLICT (tenant_id, person_id, kind) WHERE withdrawn_at IS NULL DO NOTHING
                    RETURNING {_COLUMNS}"""
            ),
            {"t": tenant_id, "p": person.row.id, "kind": kind.value, "date": on, "note": (note or "").strip() or None,
             "by": actor},
        )
    ).first()
    if row is None:
        raise Rejected([Problem(ErrorCode.EVENT_EXISTS, ["kind"], {"kind": kind})])
    await recompute_persons(db, tenant_id, [person.row.id])
    return _event(row)


async def event_person(db: Db, tenant_id: int, scope_path: str, event_id: int) -> int | None:
    """The person an event belongs to, if that person is inside `scope_path`."""
    return await db.scalar(
        text("""SELECT ev.person_id FROM person_event ev
                  JOIN person p ON p.tenant_id = ev.tenant_id AND p.id = ev.person_id
                 WHERE ev.tenant_id = :t AND ev.id = :id AND p.unit_path ^@ :scope"""),
        {"t": tenant_id, "id": event_id, "scope": scope_path},
    )


async def withdraw_event(db: Db, tenant_id: int, person: LockedPerson, event_id: int, actor: str) -> EventRow:
    """Withdraw a wrong event: the years it excused go back to what they would be
    without it (UNPAID, or their subsidy), unless another event in force excuses them."""
    row = (
        await db.execute(
            text(
                f"""UPDATE person_event SET withdrawn_by = :by, withdrawn_at = now()
                     WHERE tenant_id = :t AND id = :id AND person_id = :p AND withdrawn_at IS NULL
                    RETURNING {_COLUMNS}"""
            ),
            {"t": tenant_id, "id": event_id, "p": person.row.id, "by": actor},
        )
    ).first()
    if row is None:
        raise Rejected([Problem(ErrorCode.EVENT_WITHDRAWN, ["event"])])
    await recompute_persons(db, tenant_id, [person.row.id])
    return _event(row)


async def events_of(db: Db, tenant_id: int, person_ids: list[int]) -> dict[int, list[EventRow]]:
    rows = await db.execute(
        text(f"""SELECT {_COLUMNS} FROM person_event
                  WHERE tenant_id = :t AND person_id = ANY(CAST(:ids AS bigint[])) ORDER BY person_id, date, id"""),
        {"t": tenant_id, "ids": person_ids},
    )
    found: dict[int, list[EventRow]] = {i: [] for i in person_ids}
    for r in rows:
        found[r.person_id].append(_event(r))
    return found


async def event_by_id(db: Db, tenant_id: int, scope_path: str, event_id: int) -> EventRow | None:
    row = (
        await db.execute(
            text(f"""SELECT {', '.join('ev.' + c for c in _COLUMNS.split(', '))} FROM person_event ev
                       JOIN person p ON p.tenant_id = ev.tenant_id AND p.id = ev.person_id
                      WHERE ev.tenant_id = :t AND ev.id = :id AND p.unit_path ^@ :scope"""),
            {"t": tenant_id, "id": event_id, "scope": scope_path},
        )
    ).first()
    return _event(row) if row else None


async def paid_years_offered(db: Db, tenant_id: int, event_ids: list[int]) -> dict[int, list[int]]:
    """For each event in force: the years it predates the window end of and that the
    person has paid — money a refund for the event's reason may give back."""
    rows = await db.execute(
        text(
            f"""SELECT ev.id, e.year FROM person_event ev
                  JOIN year_policy y ON y.tenant_id = ev.tenant_id AND ev.date <= y.window_end
                  JOIN enrollment e ON e.tenant_id = ev.tenant_id AND e.person_id = ev.person_id AND e.year = y.year
                 WHERE ev.tenant_id = :t AND ev.id = ANY(CAST(:ids AS bigint[])) AND ev.withdrawn_at IS NULL
                   AND e.status = '{EnrollmentStatus.PAID}' AND e.paid_amount > 0
                 ORDER BY ev.id, e.year"""
        ),
        {"t": tenant_id, "ids": event_ids},
    )
    found: dict[int, list[int]] = {i: [] for i in event_ids}
    for r in rows:
        found[r.id].append(r.year)
    return found
