"""Persons (参保人) in the database: registration and look-ups, always inside the
caller's scope."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

from sqlalchemy import TextClause, and_, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert

from domain.coverage.rules import CoverGap
from domain.coverage.sql import gap_condition
from domain.coverage.store import gap_counts
from domain.enrollment.exemptions import Newborn, declare_exemption
from domain.enrollment.rules import ExemptionClaim
from domain.enrollment.store import recompute_persons
from domain.enrollment.tables import Enrollment
from domain.persons.idnumber import looks_like_id_number, normalize
from domain.persons.rules import PERSON_UNIT_KINDS, NewPerson, check_new_person
from domain.persons.tables import Person
from tenants.kinds import UnitKind
from tenants.models import Unit
from tenants.pages import Page
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.retired import lock_for_registration
from tenants.session import Db
from tenants.tree import starts_with


@dataclass(frozen=True)
class PersonRow:
    id: int
    id_number: str
    name: str
    birth_date: date
    sex: str
    unit_id: int
    unit_path: str
    registered_on: date  # Asia/Shanghai


_COLUMNS = (
    Person.id, Person.id_number, Person.name, Person.birth_date, Person.sex, Person.unit_id, Person.unit_path,
    Person.registered_on,
)


# The look-ups every payment makes, as plain statements (straight on psycopg).
_PERSON_COLUMNS = ", ".join(c.name for c in _COLUMNS)
_BY_ID_NUMBER = text(
    f"SELECT {_PERSON_COLUMNS} FROM person WHERE tenant_id = :tenant AND id_number = :id_number AND unit_path ^@ :scope"
)
_BY_ID_NUMBER_FOR_SHARE = text(_BY_ID_NUMBER.text + " FOR SHARE")


def _row(r) -> PersonRow:  # noqa: ANN001
    return PersonRow(r.id, r.id_number, r.name, r.birth_date, r.sex, r.unit_id, r.unit_path, r.registered_on)


@dataclass(frozen=True)
class UnitRef:
    id: int
    code: str
    name: str
    kind: UnitKind
    path: str


async def unit_ref(db: Db, tenant_id: int, unit_id: int) -> UnitRef | None:
    row = (
        await db.execute(
            select(Unit.id, Unit.code, Unit.name, Unit.kind, Unit.path).where(Unit.tenant_id == tenant_id, Unit.id == unit_id)
        )
    ).first()
    return UnitRef(row.id, row.code, row.name, UnitKind(row.kind), row.path) if row else None


async def holder_label(db: Db, tenant_id: int, unit_id: int) -> str:
    """'城关镇 / 张庄村 (411325100201)': the unit that holds a person, with its ancestors."""
    rows = await db.execute(
        text(
            """
            SELECT a.name, u.code FROM unit u
              JOIN unit a ON a.tenant_id = u.tenant_id AND u.path ^@ a.path
             WHERE u.tenant_id = :tenant AND u.id = :id
             ORDER BY a.depth
            """
        ),
        {"tenant": tenant_id, "id": unit_id},
    )
    rows = rows.all()
    return " / ".join(r.name for r in rows) + (f" ({rows[-1].code})" if rows else "")


async def register_person(
    db: Db, tenant_id: int, unit: UnitRef, person: NewPerson, actor: str, today: date,
    newborn: ExemptionClaim | None = None,
) -> PersonRow:
    """Register a person on `today` (the business day, Asia/Shanghai). `newborn`: a
    parent's cover declared with the registration (内乡): the birth year becomes EXEMPT,
    or the whole registration is refused with the declaration's problems."""
    problems, parsed = check_new_person(person)
    if unit.kind not in PERSON_UNIT_KINDS:
        problems.append(
            Problem(ErrorCode.INVALID_UNIT, ["unit"], {"kind": UnitKind(unit.kind)})
        )
    if problems:
        raise Rejected(problems)
    # The unit FOR KEY SHARE, its path read under the lock: a merge under way finishes first
    # (the unit is then retired: refused) or waits for this registration (day two).
    unit_path = await lock_for_registration(db, tenant_id, unit.id)
    # ON CONFLICT: of two concurrent registrations one inserts, the other finds the row.
    inserted = (
        await db.execute(
            insert(Person)
            .values(
                tenant_id=tenant_id,
                id_number=parsed.value,
                name=person.name.strip(),
                birth_date=parsed.birth_date,
                sex=parsed.sex,
                unit_id=unit.id,
                unit_path=unit_path,
                phone=(person.phone or "").strip() or None,
                registered_on=today,
                created_by=actor,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "id_number"])
            .returning(*_COLUMNS)
        )
    ).first()
    if inserted is not None:
        await count_registered(db, tenant_id, {unit.id: 1})
        # Every year with a policy: subsidies listed before registration now apply.
        await recompute_persons(db, tenant_id, [inserted.id])
        row = _row(inserted)
        if newborn is not None:
            child = Newborn(row.id, row.id_number, row.birth_date)
            await declare_exemption(db, tenant_id, child, newborn, actor, ["newborn"])
        return row
    holder = await db.scalar(
        select(Person.unit_id).where(Person.tenant_id == tenant_id, Person.id_number == parsed.value)
    )
    where = await holder_label(db, tenant_id, holder)
    raise Rejected([Problem(ErrorCode.PERSON_EXISTS, ["idNumber"], {"where": where})])


async def count_registered(db: Db, tenant_id: int, added: dict[int, int]) -> None:
    """Move the units' person counters (unit id → persons added), in unit order so two
    transactions never wait on each other's units crosswise."""
    for unit_id in sorted(added):
        await db.execute(
            text("UPDATE unit SET persons = persons + :n WHERE tenant_id = :t AND id = :id"),
            {"n": added[unit_id], "t": tenant_id, "id": unit_id},
        )


async def registered_below(db: Db, tenant_id: int, path: str) -> int:
    """Persons registered in a subtree, from the unit counters (a few rows, not 60,000)."""
    return await db.scalar(
        text("SELECT coalesce(sum(persons), 0) FROM unit WHERE tenant_id = :t AND path ^@ :path"),
        {"t": tenant_id, "path": path},
    )


async def person_by_id_number(
    db: Db, tenant_id: int, scope_path: str, raw: str, *, for_share: bool = False
) -> PersonRow | None:
    """The person of an ID number inside `scope_path`; `for_share`: locked FOR SHARE (a
    merge moving them finishes first and this reads where it put them, or it waits for us)."""
    params = {"tenant": tenant_id, "id_number": normalize(raw), "scope": scope_path}
    row = (await db.execute(_BY_ID_NUMBER_FOR_SHARE if for_share else _BY_ID_NUMBER, params)).first()
    return _row(row) if row else None


async def persons_by_ids(db: Db, tenant_id: int, scope_path: str, ids: list[int]) -> dict[int, PersonRow]:
    rows = await db.execute(
        select(*_COLUMNS).where(
            Person.tenant_id == tenant_id, Person.id.in_(ids), starts_with(Person.unit_path, scope_path)
        )
    )
    return {r.id: _row(r) for r in rows}


@dataclass(frozen=True)
class PersonQuery:
    tenant_id: int
    path: str  # the caller's scope, or the filtered unit's path inside it
    search: str | None = None
    year: int | None = None  # with status / category: filter on that year's enrolment
    status: str | None = None
    category: str | None = None
    gap: CoverGap | None = None  # with year: 断保 or 漏保 that year (domain/coverage)


def _conditions(query: PersonQuery) -> list:
    conditions = [Person.tenant_id == query.tenant_id]
    if query.gap is not None:
        conditions.append(text(gap_condition(query.gap, "person")).bindparams(year=query.year))
    if query.path != "/":
        conditions.append(starts_with(Person.unit_path, query.path))
    if query.status or query.category:
        enrolled = select(Enrollment.person_id).where(
            Enrollment.tenant_id == query.tenant_id, Enrollment.year == query.year, Enrollment.person_id == Person.id
        )
        if query.status:
            enrolled = enrolled.where(Enrollment.status == query.status)
        if query.category:
            enrolled = enrolled.where(Enrollment.subsidy_category == query.category)
        conditions.append(enrolled.exists())
    search = (query.search or "").strip()
    if search:
        if looks_like_id_number(search):
            conditions.append(Person.id_number == normalize(search))
        else:
            conditions.append(starts_with(Person.name, search))
    return conditions


def _plain(query: PersonQuery) -> bool:
    """A unit's persons, nothing else filtered: the page most lists ask for."""
    return query.gap is None and not (query.status or query.category or (query.search or "").strip())


@cache
def _subtree_page(subtree: bool, keyset: bool, counted: bool) -> TextClause:
    """A plain page as a plain statement, which runs straight on psycopg: the SQL
    `_conditions` builds, and with `counted` the subtree's registered persons beside
    each row (the unit counters' sum, computed once)."""
    conditions = ["tenant_id = :tenant"]
    if subtree:
        conditions.append("unit_path ^@ :path")
    if keyset:
        conditions.append("(unit_path, id) > (:after_path, :after_id)")
    registered = (
        ", (SELECT coalesce(sum(u.persons), 0) FROM unit u WHERE u.tenant_id = :tenant AND u.path ^@ :path) AS registered"
        if counted else ""
    )
    return text(
        f"SELECT {_PERSON_COLUMNS}{registered} FROM person"
        f" WHERE {' AND '.join(conditions)} ORDER BY unit_path, id LIMIT :limit"
    )


async def _plain_page(db: Db, query: PersonQuery, first: int, after: tuple[str, int] | None, counted: bool) -> Page:
    statement = _subtree_page(query.path != "/", after is not None, counted)
    params = {"tenant": query.tenant_id, "path": query.path, "limit": first + 1}
    if after is not None:
        params |= {"after_path": after[0], "after_id": after[1]}
    rows = list(await db.execute(statement, params))
    persons = [_row(r) for r in rows[:first]]
    if counted and rows:
        return Page(persons, len(rows) > first, rows[0].registered)

    async def registered() -> int:
        return await registered_below(db, query.tenant_id, query.path)
    return Page(persons, len(rows) > first, registered)


async def list_persons(
    db: Db, query: PersonQuery, first: int, after: tuple[str, int] | None, *, counted: bool = False
) -> Page:
    """Keyset page ordered by (unit_path, id): a village's persons stay together. With
    `counted` (the caller will ask for the total), a plain page reads its total with it."""
    if _plain(query):
        return await _plain_page(db, query, first, after, counted)
    page_conditions = _conditions(query)
    if after is not None:
        page_conditions.append(tuple_(Person.unit_path, Person.id) > tuple_(after[0], after[1]))
    statement = select(*_COLUMNS).where(and_(*page_conditions)).order_by(Person.unit_path, Person.id).limit(first + 1)
    rows = [_row(r) for r in await db.execute(statement)]
    if query.gap is not None and not (query.search or query.status or query.category):
        async def gap_total() -> int:
            counts = await gap_counts(db, query.tenant_id, query.year or 0, [query.path])
            return counts[query.path][query.gap]
        return Page(rows[:first], len(rows) > first, gap_total)

    async def total() -> int:
        return await db.scalar(select(func.count()).select_from(Person).where(and_(*_conditions(query))))
    return Page(rows[:first], len(rows) > first, total)
