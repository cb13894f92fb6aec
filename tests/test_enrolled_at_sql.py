"""Enrolled as of a moment, twice: `enrolled_at` (domain/progress/rules.py, Python) and
`ENROLLED_AT` (domain/progress/sql.py, what the assessment runs), person by person.

Generated records — registrations, accepted payments refunded whole or not, payments
paid again after a refund, duplicates and their refunds, refunds requested, rejected or
for the subsidy part only, list versions adding, keeping and removing numbers, ages on
both sides of the age categories, duplicate-enrolment cases open, kept, released by a
decision or closed by the system — under the seed policies and random ones (FULL /
PERCENT / FIXED, the three modes, ties), cut at days' ends in Beijing time and at the
very moments of the events (before means strictly before). Every cut must give the same
set of persons.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from domain.matching.rules import SYSTEM_RESOLVER
from domain.persons.idnumber import make_id_number
from domain.policy.files import policy_from_dict
from domain.policy.rules import SubsidyCategory, SubsidyMode, SubsidyRule, YearPolicy
from domain.policy.store import save_policy
from domain.progress.rules import (
    ListEntryRecord,
    PaymentRecord,
    PersonRecord,
    day_end,
    enrolled_at,
)
from domain.progress.sql import ENROLLED_AT, ENROLLED_AT_BY_UNIT
from domain.subsidy_lists.rules import ListChange
from schema.relay import from_global_id
from tenants.kinds import DepartmentCode
from tests.conftest import ALL_DEPARTMENTS
from tests.test_amount_due_sql import random_policy

POLICIES = Path(__file__).resolve().parent.parent / "examples" / "policies"
PERSONS_PER_POLICY = 160
VERSIONS = 4


def seed(name: str, year: int) -> YearPolicy:
    """A seed policy moved to another benefit year (dates by whole years)."""
    policy = policy_from_dict(json.loads((POLICIES / name).read_text(encoding="utf-8")))
    shift = year - policy.year

    def moved(day: date | None) -> date | None:
        return day.replace(year=day.year + shift) if day else None

    return replace(
        policy, year=year, window_start=moved(policy.window_start), window_end=moved(policy.window_end),
        extension_end=moved(policy.extension_end), list_cutoff=moved(policy.list_cutoff),
        age_reference_date=moved(policy.age_reference_date), refund_claim_deadline=moved(policy.refund_claim_deadline),
        assessment=None, channel_rules=(),  # (channels do not decide who is enrolled)
    )


@dataclass
class Generated:
    person_id: int
    unit_path: str
    record: PersonRecord
    moments: list[datetime] = field(default_factory=list)


class Timeline:
    """Random moments of a campaign: from a month before the window to two months after."""

    def __init__(self, rng: random.Random, policy: YearPolicy) -> None:
        self.rng = rng
        self.start = day_end(policy.window_start) - timedelta(days=31)
        self.seconds = int((day_end(policy.window_end) + timedelta(days=60) - self.start).total_seconds())

    def moment(self, after: datetime | None = None) -> datetime:
        if after is not None and self.rng.random() < 0.1:
            return after  # the same second: strictly-before must tell them apart
        base = after or self.start
        span = max(1, self.seconds - int((base - self.start).total_seconds()))
        return base + timedelta(seconds=self.rng.randrange(span))


async def _units(db, tenant_id: int) -> list[tuple[int, str]]:  # noqa: ANN001
    rows = await db.execute(
        text("SELECT id, path FROM unit WHERE tenant_id = :t AND kind IN ('VILLAGE', 'COMMUNITY', 'SCHOOL') ORDER BY id"), {"t": tenant_id}
    )
    return [(r.id, r.path) for r in rows]


async def _person(db, tenant_id: int, number: str, born: date, unit: tuple[int, str], at: datetime) -> int:  # noqa: ANN001
    return await db.scalar(
        text(
            """INSERT INTO person (tenant_id, id_number, name, birth_date, sex, unit_id, unit_path, created_at)
               VALUES (:t, :n, '比对', :b, 'M', :u, :p, :at) RETURNING id"""
        ),
        {"t": tenant_id, "n": number, "b": born, "u": unit[0], "p": unit[1], "at": at},
    )


async def _payment(db, tenant_id: int, person: Generated, year: int, status: str, paid_at: datetime) -> int:  # noqa: ANN001
    return await db.scalar(
        text(
            """INSERT INTO payment (tenant_id, person_id, year, amount, due_at_payment, channel, status, timing, paid_at,
                                    unit_id, unit_path, recorded_by)
               VALUES (:t, :p, :y, 100, 100, 'TAX_HALL', :s, 'WINDOW', :at,
                       (SELECT unit_id FROM person WHERE tenant_id = :t AND id = :p), :path, 'test')
               RETURNING id"""
        ),
        {"t": tenant_id, "p": person.person_id, "y": year, "s": status, "at": paid_at, "path": person.unit_path},
    )


async def _refund(db, tenant_id: int, payment_id: int, reason: str, status: str, decided_at: datetime | None) -> None:  # noqa: ANN001
    await db.execute(
        text(
            """INSERT INTO refund (tenant_id, payment_id, reason, amount, status, requested_by, decided_at, payback)
               VALUES (:t, :p, :r, 100, :s, 'test', :at, CASE WHEN :s = 'COMPLETED' THEN 'CHANNEL' END)"""
        ),
        {"t": tenant_id, "p": payment_id, "r": reason, "s": status, "at": decided_at},
    )


async def _payments(db, tenant_id: int, year: int, person: Generated, time: Timeline) -> tuple[PaymentRecord, ...]:  # noqa: ANN001
    """Up to two accepted payments (a second only after the first was refunded whole),
    maybe a duplicate, and refunds that do not end the year (requested, rejected, the
    subsidy part): only the accepted payments and their whole refunds are the record."""
    rng, found = time.rng, []
    paid_at = time.moment(person.record.registered_at) if rng.random() < 0.6 else None
    while paid_at is not None:
        refunded_at = time.moment(paid_at) if rng.random() < 0.35 else None
        status = "REFUNDED" if refunded_at else "ACCEPTED"
        payment_id = await _payment(db, tenant_id, person, year, status, paid_at)
        if refunded_at:
            reason = rng.choice(["GAVE_UP", "DECEASED", "MOVED_REGION", "JOINED_EMPLOYEE_INSURANCE", "DUPLICATE_ENROLLMENT"])
            await _refund(db, tenant_id, payment_id, reason, rng.choice(["APPROVED", "COMPLETED"]), refunded_at)
        else:
            extra = rng.random()
            if extra < 0.1:
                await _refund(db, tenant_id, payment_id, "GAVE_UP", "REQUESTED", None)
            elif extra < 0.2:
                await _refund(db, tenant_id, payment_id, "DECEASED", "REJECTED", time.moment(paid_at))
            elif extra < 0.3:
                await _refund(db, tenant_id, payment_id, "SUBSIDY_OVERPAID", "APPROVED", time.moment(paid_at))
        found.append(PaymentRecord(paid_at, refunded_at))
        person.moments += [paid_at] + ([refunded_at] if refunded_at else [])
        paid_at = time.moment(refunded_at) if refunded_at and rng.random() < 0.5 else None
    if found and rng.random() < 0.2:
        duplicate = await _payment(db, tenant_id, person, year, rng.choice(["DUPLICATE", "REFUNDED"]), time.moment())
        if rng.random() < 0.5:
            await _refund(db, tenant_id, duplicate, "DUPLICATE_PAYMENT", "APPROVED", time.moment())
        # (a DUPLICATE payment refunded, or not, never counts)
    return tuple(found)


async def _batches(db, tenant_id: int, policy: YearPolicy, time: Timeline) -> dict[str, list[tuple[int, int, datetime]]]:  # noqa: ANN001
    """VERSIONS versions of each list category, uploaded in order: (batch id, version, when)."""
    batches: dict[str, list[tuple[int, int, datetime]]] = {}
    for category in (c for c in policy.categories if not c.age_based or time.rng.random() < 0.3):
        uploaded, versions = time.start, []
        for version in range(1, VERSIONS + 1):
            uploaded = time.moment(uploaded)
            batch_id = await db.scalar(
                text(
                    """INSERT INTO subsidy_batch (tenant_id, year, category_code, version, file_name, checksum, uploaded_by,
                                                  uploaded_at, rows_total, rows_accepted, rows_rejected, added, removed)
                       VALUES (:t, :y, :c, :v, 'list.csv', 'x', 'test', :at, 0, 0, 0, 0, 0) RETURNING id"""
                ),
                {"t": tenant_id, "y": policy.year, "c": category.code, "v": version, "at": uploaded},
            )
            versions.append((batch_id, version, uploaded))
        batches[category.code] = versions
    return batches


async def _entries(db, tenant_id: int, number: str, batches: dict, rng: random.Random) -> tuple[ListEntryRecord, ...]:  # noqa: ANN001
    """A number's path through each list: ADDED when off it, KEPT or REMOVED when on it,
    and versions that leave it alone (no entry). A listing in an age-based category is
    tried too: it counts for nothing."""
    found = []
    for code, versions in batches.items():
        if rng.random() < 0.5:
            continue
        on = False
        for batch_id, version, uploaded in versions:
            if rng.random() < 0.45:
                continue
            change = (rng.choice([ListChange.KEPT, ListChange.REMOVED]) if on else ListChange.ADDED)
            on = change is not ListChange.REMOVED
            await db.execute(
                text("""INSERT INTO subsidy_list_entry (tenant_id, id_number, batch_id, name, change)
                        VALUES (:t, :n, :b, '比对', :c)"""),
                {"t": tenant_id, "n": number, "b": batch_id, "c": change.value},
            )
            found.append(ListEntryRecord(code, version, uploaded, change))
    return tuple(found)


async def _cases(db, tenant_id: int, year: int, person: Generated, time: Timeline) -> datetime | None:  # noqa: ANN001
    """Duplicate-enrolment cases (重复参保) of the person-year, each with another county:
    open, kept, released by a decision (here, or by the other county keeping: no
    resolver on this side) or by the system. Returns the first release by a decision."""
    rng, first = time.rng, None
    for other in range(rng.choice([0, 0, 0, 1, 2])):
        status, resolver = rng.choice([("OPEN", None), ("KEPT", "u:1"), ("RELEASED", "u:1"), ("RELEASED", None),
                                       ("RELEASED", SYSTEM_RESOLVER)])
        resolved = None if status == "OPEN" else time.moment(person.record.registered_at)
        await db.execute(
            text(
                """INSERT INTO duplicate_case (tenant_id, year, person_id, pair_id, other_tenant_id, since, at_school,
                                               other_since, other_at_school, status, resolved_here, resolved_by,
                                               resolved_at)
                   VALUES (:t, :y, :p, gen_random_uuid(), :o, :at, false, :at, false, :s, :here, :by, :resolved)"""
            ),
            {"t": tenant_id, "y": year, "p": person.person_id, "o": tenant_id + 1000 + other,
             "at": person.record.registered_at, "s": status, "here": None if status == "OPEN" else resolver is not None,
             "by": resolver, "resolved": resolved},
        )
        if resolved is not None:
            person.moments.append(resolved)
            if status == "RELEASED" and resolver != SYSTEM_RESOLVER:
                first = resolved if first is None else min(first, resolved)
    return first


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a common year
        return date(day.year - years, 2, 28)


def _births(rng: random.Random, policy: YearPolicy) -> list[date]:
    """Around the age categories' edges at the reference date, newborns on both sides of
    it (born after it: no age at all), and anywhere."""
    reference = policy.reference_date
    edges = [age for c in policy.categories for age in (c.min_age, c.max_age) if age is not None]
    births = []
    for _ in range(PERSONS_PER_POLICY):
        if rng.random() < 0.1:
            born = reference + timedelta(days=rng.randrange(-300, 300))
        elif edges and rng.random() < 0.5:
            age = rng.choice(edges) + rng.choice([-1, 0, 1])
            born = _years_before(reference, age) + timedelta(days=rng.choice([-1, 0, 1]))
        else:
            born = date(1925, 1, 1) + timedelta(days=rng.randrange(36_000))
        births.append(born)
    return births


async def _generate(db, tenant_id: int, policy: YearPolicy, rng: random.Random, serial: list[int]) -> list[Generated]:  # noqa: ANN001
    await save_policy(db, tenant_id, policy, "test")
    time = Timeline(rng, policy)
    units = await _units(db, tenant_id)
    batches = await _batches(db, tenant_id, policy, time)
    generated = []
    for born in _births(rng, policy):
        serial[0] += 1
        number = make_id_number(str(411300 + serial[0] // 997), born, serial[0] % 997 + 1)
        unit = rng.choice(units)
        registered = time.moment()
        person = Generated(await _person(db, tenant_id, number, born, unit, registered), unit[1],
                           PersonRecord(registered, born), [registered])
        payments = await _payments(db, tenant_id, policy.year, person, time)
        entries = await _entries(db, tenant_id, number, batches, rng)
        released = await _cases(db, tenant_id, policy.year, person, time)
        person.record = replace(person.record, payments=payments, entries=entries, released_at=released)
        person.moments += [e.uploaded_at for e in entries]
        generated.append(person)
    for table in ("person", "payment", "refund", "subsidy_batch", "subsidy_list_entry", "duplicate_case"):
        await db.execute(text(f"ANALYZE {table}"))  # as production's tables are: plans from real statistics
    return generated


def _cuts(policy: YearPolicy, persons: list[Generated], rng: random.Random) -> list[datetime]:
    days = [policy.window_start, policy.window_end, policy.window_end + timedelta(days=1), policy.last_payment_day,
            policy.window_end + timedelta(days=45)]
    moments = [m for p in persons for m in p.moments]
    events = rng.sample(moments, min(25, len(moments)))
    return sorted({day_end(d) for d in days} | set(events) | {m + timedelta(seconds=1) for m in events[:10]})


async def _sql_set(db, tenant_id: int, year: int, until: datetime) -> set[int]:  # noqa: ANN001
    rows = await db.execute(
        text(ENROLLED_AT + "SELECT person_id FROM enrolled"), {"tenant": tenant_id, "year": year, "until": until, "scope": "/"}
    )
    return {r.person_id for r in rows}


def _policies(rng: random.Random) -> list[YearPolicy]:
    seeds = [seed("shuangpai-2022.json", 2052), seed("neixiang-2023.json", 2053), seed("zaozhuang-2022.json", 2054),
             seed("baigongshan-2022.json", 2055)]
    # Small children fully funded by age (no lower bound): a child born after the
    # reference date has no age and gets nothing.
    children = SubsidyCategory("ertong", "学龄前儿童", DepartmentCode.MEDICAL_SECURITY, SubsidyRule.FULL, None,
                               SubsidyMode.AUTO_ENROLL, max_age=6)
    seeds.append(replace(seeds[1], year=2056, window_start=date(2055, 10, 15), window_end=date(2055, 12, 31),
                         list_cutoff=None, refund_claim_deadline=None, categories=(*seeds[1].categories, children)))
    # Random policies where a full subsidy may be REIMBURSE (nothing subsidised) or AUTO_ENROLL at a percent.
    return seeds + [random_policy(rng, year) for year in range(2060, 2066)]


def test_enrolled_at_in_sql_equals_the_rule(new_county, owner_db):
    county = new_county(ALL_DEPARTMENTS)
    tenant_id = from_global_id(county.id)[1]
    rng = random.Random(20261231)

    async def run(db) -> tuple[int, int, list[str]]:  # noqa: ANN001
        mismatches: list[str] = []
        compared = enrolled = 0
        serial = [0]
        for policy in _policies(rng):
            persons = await _generate(db, tenant_id, policy, rng, serial)
            for until in _cuts(policy, persons, rng):
                python = {p.person_id for p in persons if enrolled_at(policy, p.record, until)}
                sql = await _sql_set(db, tenant_id, policy.year, until)
                compared += len(persons)
                enrolled += len(python)
                for p in persons:
                    if (p.person_id in python) != (p.person_id in sql):
                        mismatches.append(f"{policy.year} until {until.isoformat()}: Python {p.person_id in python}, "
                                          f"SQL {p.person_id in sql} for {p.record}")
        return compared, enrolled, mismatches

    compared, enrolled, mismatches = owner_db(run, tenant_id)
    assert compared >= 30_000 and 0.1 * compared < enrolled < 0.9 * compared, (compared, enrolled)
    assert mismatches == [], "\n".join(mismatches[:5])


def test_counts_per_unit_are_the_persons_of_its_subtree(new_county, owner_db):
    county = new_county(ALL_DEPARTMENTS)
    tenant_id = from_global_id(county.id)[1]
    rng = random.Random(7)
    policy = seed("zaozhuang-2022.json", 2054)

    async def run(db) -> tuple[dict[int, int], dict[int, int]]:  # noqa: ANN001
        persons = await _generate(db, tenant_id, policy, rng, [500])
        units = {r.id: r.path for r in await db.execute(text("SELECT id, path FROM unit WHERE tenant_id = :t"), {"t": tenant_id})}
        until = day_end(policy.window_end)
        rows = await db.execute(
            text(ENROLLED_AT_BY_UNIT),
            {"tenant": tenant_id, "year": policy.year, "until": until, "scope": "/", "units": list(units)},
        )
        expected: dict[int, int] = {}
        for p in persons:
            if enrolled_at(policy, p.record, until):
                for unit_id, path in units.items():
                    if p.unit_path.startswith(path):
                        expected[unit_id] = expected.get(unit_id, 0) + 1
        return {r.unit_id: r.enrolled for r in rows}, expected

    found, expected = owner_db(run, tenant_id)
    assert found == expected and len(expected) >= 5


def test_a_day_ends_at_midnight_in_beijing():
    assert day_end(date(2021, 12, 31)) == datetime(2021, 12, 31, 16, 0, tzinfo=UTC)
    assert day_end(date(2021, 12, 31)) - timedelta(seconds=1) == datetime(2021, 12, 31, 15, 59, 59, tzinfo=UTC)
