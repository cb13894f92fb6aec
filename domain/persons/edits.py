"""A registered person changes (day two): details, a corrected ID number, another
village. Each edit locks the person row first (`lock_person`), so two edits of one
person, or an edit and a life event, run one after the other; each appends the fields it
changed to `person_change` (the registration history) in the same transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from domain.enrollment.sql import STATUSES, tally_upsert
from domain.enrollment.store import recompute_persons, share_years
from domain.persons.idnumber import IdNumberError, parse_id_number
from domain.persons.rules import PERSON_UNIT_KINDS, check_details
from domain.persons.store import PersonRow, UnitRef, count_registered, holder_label
from tenants.kinds import UnitKind
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.retired import retired_problems
from tenants.session import Db

_PERSON_COLUMNS = "id, id_number, name, birth_date, sex, unit_id, unit_path, registered_on"


@dataclass(frozen=True)
class LockedPerson:
    row: PersonRow
    phone: str | None


async def lock_person(db: Db, tenant_id: int, scope_path: str, person_id: int) -> LockedPerson | None:
    """The person, if inside `scope_path`, locked until the transaction ends."""
    found = (
        await db.execute(
            text(
                f"""SELECT {_PERSON_COLUMNS}, phone FROM person
                     WHERE tenant_id = :t AND id = :id AND unit_path ^@ :scope FOR UPDATE"""
            ),
            {"t": tenant_id, "id": person_id, "scope": scope_path},
        )
    ).first()
    if found is None:
        return None
    return LockedPerson(PersonRow(*found[:8]), found.phone)


async def _reread(db: Db, tenant_id: int, person_id: int) -> PersonRow:
    row = (
        await db.execute(text(f"SELECT {_PERSON_COLUMNS} FROM person WHERE tenant_id = :t AND id = :id"),
                         {"t": tenant_id, "id": person_id})
    ).one()
    return PersonRow(*row)


@dataclass(frozen=True)
class Change:
    field: str
    before: str | None
    after: str | None


async def record_changes(
    db: Db, tenant_id: int, person_id: int, changes: list[Change], actor: str, reason: str | None = None
) -> None:
    for change in changes:
        await db.execute(
            text(
                """INSERT INTO person_change (tenant_id, person_id, field, before, after, changed_by, reason)
                   VALUES (:t, :p, :field, :before, :after, :by, :reason)"""
            ),
            {"t": tenant_id, "p": person_id, "field": change.field, "before": change.before, "after": change.after,
             "by": actor, "reason": reason},
        )


async def update_details(
    db: Db, tenant_id: int, person: LockedPerson, name: str | None, phone: str | None, actor: str
) -> tuple[PersonRow, list[Change]]:
    """New name and/or phone (None: unchanged; an empty phone clears it), checked as
    at registration. The ID number is not among them: see `correct_id_number`."""
    problems = check_details(name, phone)
    if problems:
        raise Rejected(problems)
    changes = []
    if name is not None and name.strip() != person.row.name:
        changes.append(Change("name", person.row.name, name.strip()))
    if phone is not None and (phone.strip() or None) != person.phone:
        changes.append(Change("phone", person.phone, phone.strip() or None))
    if not changes:
        raise Rejected([Problem(ErrorCode.NOTHING_TO_CHANGE, ["person"])])
    values = {c.field: c.after for c in changes}
    await db.execute(
        text(
            """UPDATE person SET name = CASE WHEN :set_name THEN :name ELSE name END,
                                 phone = CASE WHEN :set_phone THEN :phone ELSE phone END
                WHERE tenant_id = :t AND id = :id"""
        ),
        {"t": tenant_id, "id": person.row.id, "set_name": "name" in values, "name": values.get("name"),
         "set_phone": "phone" in values, "phone": values.get("phone")},
    )
    await record_changes(db, tenant_id, person.row.id, changes, actor)
    return await _reread(db, tenant_id, person.row.id), changes


async def correct_id_number(
    db: Db, tenant_id: int, person: LockedPerson, raw: str, reason: str, actor: str
) -> tuple[PersonRow, Change]:
    """A wrongly registered ID number corrected (医保局). The person keeps its row —
    enrolments, payments, refunds, events stay attached by person id — and what derives
    from the number follows: birth date and sex, the earlier years on record (keyed by
    number), every policy year recomputed (age-based categories, lists naming the new
    number). Refused when the number is invalid or another person of the county has it."""
    problems: list[Problem] = []
    reason = (reason or "").strip()
    if not reason:
        problems.append(Problem(ErrorCode.REASON_REQUIRED, ["reason"], variant="CORRECTION"))
    parsed = None
    try:
        parsed = parse_id_number(raw)
    except IdNumberError as error:
        problems.append(error.at("idNumber"))
    if parsed is not None and parsed.value == person.row.id_number:
        problems.append(Problem(ErrorCode.ID_NUMBER_UNCHANGED, ["idNumber"]))
    if problems:
        raise Rejected(problems)
    holder = await db.scalar(
        text("SELECT unit_id FROM person WHERE tenant_id = :t AND id_number = :n"), {"t": tenant_id, "n": parsed.value}
    )
    if holder is None:
        try:
            async with db.savepoint():
                await db.execute(
                    text("""UPDATE person SET id_number = :n, birth_date = :birth, sex = :sex
                             WHERE tenant_id = :t AND id = :id"""),
                    {"t": tenant_id, "id": person.row.id, "n": parsed.value, "birth": parsed.birth_date, "sex": parsed.sex},
                )
        except IntegrityError:  # registered a moment ago by someone else
            holder = await db.scalar(
                text("SELECT unit_id FROM person WHERE tenant_id = :t AND id_number = :n"),
                {"t": tenant_id, "n": parsed.value},
            )
    if holder is not None:
        where = await holder_label(db, tenant_id, holder)
        raise Rejected([Problem(ErrorCode.ID_NUMBER_IN_USE, ["idNumber"], {"where": where})])
    # The earlier years on record follow the person (a year already on record under the
    # right number is the better record: kept).
    await db.execute(
        text(
            """UPDATE enrollment_history h SET id_number = :new
                WHERE h.tenant_id = :t AND h.id_number = :old
                  AND NOT EXISTS (SELECT 1 FROM enrollment_history o
                                   WHERE o.tenant_id = :t AND o.id_number = :new AND o.year = h.year)"""
        ),
        {"t": tenant_id, "old": person.row.id_number, "new": parsed.value},
    )
    await recompute_persons(db, tenant_id, [person.row.id])
    change = Change("idNumber", person.row.id_number, parsed.value)
    await record_changes(db, tenant_id, person.row.id, [change], actor, reason)
    return await _reread(db, tenant_id, person.row.id), change


def _tally_move() -> str:
    """The person's enrolment of a year (status :status) leaves :old for :new."""
    columns = ", ".join(f"CASE WHEN :status = '{s}' THEN m.sign ELSE 0 END AS {s.lower()}" for s in STATUSES)
    return f"""
    WITH m(unit_id, unit_path, sign) AS (
        VALUES (CAST(:old AS bigint), CAST(:old_path AS text), -1), (CAST(:new AS bigint), CAST(:new_path AS text), 1)
    ),
    moved AS (SELECT m.unit_id, m.unit_path, {columns} FROM m)
    {tally_upsert("moved")}"""


async def transfer(
    db: Db, tenant_id: int, person: LockedPerson, to: UnitRef, actor: str, from_label: str, to_label: str
) -> PersonRow:
    """The person moves to another unit of the county that holds persons; every year's
    enrolment goes along (the tallies of both units move, the unit counters too).

    Lock order, shared with payments and registrations so none waits crosswise: the
    person, its enrolments (a payment of the person waits, or is waited for, here), the
    unit counters, the tallies. A policy re-set waits for the move, or the move for it."""
    if to.kind not in PERSON_UNIT_KINDS:
        raise Rejected([Problem(ErrorCode.INVALID_UNIT, ["to"], {"kind": UnitKind(to.kind)})])
    old_id, old_path = person.row.unit_id, person.row.unit_path
    if to.id == old_id:
        raise Rejected([Problem(ErrorCode.SAME_UNIT, ["to"])])
    retired = await retired_problems(db, tenant_id, {to.id: ["to"]})
    if retired:
        raise Rejected(retired)
    await share_years(db, tenant_id, None)
    years = (
        await db.execute(
            text("""SELECT year, status FROM enrollment WHERE tenant_id = :t AND person_id = :p
                     ORDER BY year FOR UPDATE"""),
            {"t": tenant_id, "p": person.row.id},
        )
    ).all()
    await db.execute(
        text("UPDATE person SET unit_id = :u, unit_path = :path WHERE tenant_id = :t AND id = :id"),
        {"t": tenant_id, "id": person.row.id, "u": to.id, "path": to.path},
    )
    await count_registered(db, tenant_id, {old_id: -1, to.id: 1})
    for year, status in years:
        await db.execute(
            text(_tally_move()),
            {"tenant": tenant_id, "year": year, "status": status, "old": old_id, "old_path": old_path,
             "new": to.id, "new_path": to.path},
        )
    await record_changes(db, tenant_id, person.row.id, [Change("unit", from_label, to_label)], actor)
    return await _reread(db, tenant_id, person.row.id)


@dataclass(frozen=True)
class ChangeRow:
    person_id: int
    field: str
    before: str | None
    after: str | None
    changed_by: str
    changed_at: datetime
    reason: str | None


async def changes_of(db: Db, tenant_id: int, person_ids: list[int]) -> dict[int, list[ChangeRow]]:
    """Each person's registration history, oldest first."""
    rows = await db.execute(
        text(
            # who: the account's username (the row keeps the audit subject, u:<id>)
            """SELECT c.person_id, c.field, c.before, c.after, coalesce(u.username, c.changed_by) AS changed_by,
                      c.changed_at, c.reason
                 FROM person_change c
                 LEFT JOIN app_user u ON u.tenant_id = c.tenant_id AND c.changed_by = 'u:' || u.id
                WHERE c.tenant_id = :t AND c.person_id = ANY(CAST(:ids AS bigint[])) ORDER BY c.person_id, c.id"""
        ),
        {"t": tenant_id, "ids": person_ids},
    )
    found: dict[int, list[ChangeRow]] = {i: [] for i in person_ids}
    for r in rows:
        found[r.person_id].append(ChangeRow(*r))
    return found
