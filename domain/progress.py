"""Progress against quotas: live from the tallies, frozen daily in snapshots.

Live figures never count persons: `enrollment_tally` holds, per leaf unit and year,
how many persons are in each status, and it moves in the same statement as every
enrolment. A unit's subtree is the tally rows whose path starts with its path, so the
children of any unit are summed from a few hundred rows in one indexed range, grouped
by the path segment that names the child.

Ranks are among siblings: higher rate first, equal rates share a rank ("并列"), and
within a tie units are listed by code, so the order never wobbles between calls.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction
from typing import Iterable

from sqlalchemy import text

from domain.quotas import quota_rows, rolled_targets
from tenants.kinds import UnitKind
from tenants.session import Db
from tenants.units import UnitRow


@dataclass(frozen=True)
class Counts:
    unpaid: int = 0
    paid: int = 0
    subsidized: int = 0
    refunded: int = 0

    @property
    def enrolled(self) -> int:
        return self.paid + self.subsidized

    @property
    def persons(self) -> int:
        return self.unpaid + self.paid + self.subsidized + self.refunded


@dataclass(frozen=True)
class UnitProgress:
    unit: UnitRow
    target: int
    counts: Counts
    rank: int = 0
    siblings: int = 0
    measured_on: date | None = None  # the snapshot's day; None: live

    @property
    def enrolled(self) -> int:
        return self.counts.enrolled

    @property
    def rate(self) -> Fraction:
        return Fraction(self.enrolled, self.target) if self.target else Fraction(0)


# ---------------------------------------------------------------------------
# Pure rules


def rank_key(target: int, enrolled: int) -> tuple[int, Fraction]:
    """Units with a target first, then by rate (exact: 1/3 and 2/6 tie)."""
    return (1 if target else 0, Fraction(enrolled, target) if target else Fraction(0))


def competition_ranks(items: list[tuple[str, int, int]]) -> dict[str, int]:
    """(code, target, enrolled) → rank 1, 2, 2, 4 …, ties sharing a rank."""
    ordered = sorted(items, key=lambda i: (tuple(-x for x in rank_key(i[1], i[2])), i[0]))
    ranks: dict[str, int] = {}
    previous = None
    for position, (code, target, enrolled) in enumerate(ordered, start=1):
        key = rank_key(target, enrolled)
        if key != previous:
            rank, previous = position, key
        ranks[code] = rank
    return ranks


def ranked(rows: list[UnitProgress]) -> list[UnitProgress]:
    """Siblings with their ranks, best first, ties by code."""
    ranks = competition_ranks([(r.unit.code, r.target, r.enrolled) for r in rows])
    done = [replace(r, rank=ranks[r.unit.code], siblings=len(rows)) for r in rows]
    return sorted(done, key=lambda r: (r.rank, r.unit.code))


def visible(rows: list[UnitProgress], scope_path: str) -> list[UnitProgress]:
    """What a scoped caller may see of a ranking: units inside its scope and the one
    unit above it on its way up (a township sees its own line among all townships,
    with its rank, not the others' figures)."""
    return [r for r in rows if r.unit.path.startswith(scope_path) or scope_path.startswith(r.unit.path)]


# ---------------------------------------------------------------------------
# Live figures from the tallies

_UNIT_COLUMNS = "u.id, u.parent_id, u.code, u.name, u.kind, u.path, u.depth"


def _unit(r) -> UnitRow:  # noqa: ANN001
    return UnitRow(r.id, r.parent_id, r.code, r.name, UnitKind(r.kind), r.path, r.depth)


async def child_units(db: Db, tenant_id: int, parent_id: int | None) -> list[UnitRow]:
    condition = "u.parent_id IS NULL" if parent_id is None else "u.parent_id = :parent"
    rows = await db.execute(
        text(f"SELECT {_UNIT_COLUMNS} FROM unit u WHERE u.tenant_id = :tenant AND {condition} ORDER BY u.code"),
        {"tenant": tenant_id, "parent": parent_id},
    )
    return [_unit(r) for r in rows]


_CHILD_COUNTS = text(
    """
    SELECT split_part(t.unit_path, '/', :segment)::bigint AS unit_id,
           sum(t.unpaid) AS unpaid, sum(t.paid) AS paid, sum(t.subsidized) AS subsidized, sum(t.refunded) AS refunded
      FROM enrollment_tally t
     WHERE t.tenant_id = :tenant AND t.year = :year AND t.unit_path ^@ :path
     GROUP BY 1
    """
)


async def child_counts(db: Db, tenant_id: int, year: int, parent_path: str, parent_depth: int) -> dict[int, Counts]:
    """Counts of each child's subtree. A path '/12/345/' splits into '', '12', '345', '':
    the child of a unit at depth d is segment d + 2."""
    rows = await db.execute(
        _CHILD_COUNTS, {"tenant": tenant_id, "year": year, "path": parent_path, "segment": parent_depth + 2}
    )
    return {r.unit_id: Counts(int(r.unpaid), int(r.paid), int(r.subsidized), int(r.refunded)) for r in rows if r.unit_id}


async def targets_for(db: Db, tenant_id: int, year: int, units: Iterable[UnitRow]) -> dict[int, int]:
    quotas = {q.path: q.target for q in await quota_rows(db, tenant_id, year)}
    units = list(units)
    by_path = rolled_targets(quotas, [u.path for u in units])
    return {u.id: by_path[u.path] for u in units}


async def live_children(db: Db, tenant_id: int, year: int, parent: UnitRow | None) -> list[UnitProgress]:
    """Every child of `parent` (the top level for None), ranked, from the tallies."""
    children = await child_units(db, tenant_id, parent.id if parent else None)
    if not children:
        return []
    counts = await child_counts(db, tenant_id, year, parent.path if parent else "/", parent.depth if parent else 0)
    targets = await targets_for(db, tenant_id, year, children)
    return ranked([UnitProgress(u, targets[u.id], counts.get(u.id, Counts())) for u in children])


_ALL_COUNTS = text(
    """
    SELECT a.id::bigint AS unit_id,
           sum(t.unpaid) AS unpaid, sum(t.paid) AS paid, sum(t.subsidized) AS subsidized, sum(t.refunded) AS refunded
      FROM enrollment_tally t
      CROSS JOIN LATERAL unnest(string_to_array(btrim(t.unit_path, '/'), '/')) AS a(id)
     WHERE t.tenant_id = :tenant AND t.year = :year
     GROUP BY 1
    """
)


async def all_counts(db: Db, tenant_id: int, year: int) -> dict[int, Counts]:
    """Every unit's subtree at once: each tally row counts for each unit on its path."""
    rows = await db.execute(_ALL_COUNTS, {"tenant": tenant_id, "year": year})
    return {r.unit_id: Counts(int(r.unpaid), int(r.paid), int(r.subsidized), int(r.refunded)) for r in rows}


async def all_units(db: Db, tenant_id: int) -> list[UnitRow]:
    rows = await db.execute(text(f"SELECT {_UNIT_COLUMNS} FROM unit u WHERE u.tenant_id = :tenant"), {"tenant": tenant_id})
    return [_unit(r) for r in rows]


# ---------------------------------------------------------------------------
# Daily snapshots


@dataclass(frozen=True)
class Point:
    day: date
    target: int
    counts: Counts
    rank: int | None
    siblings: int | None


async def take_snapshot(db: Db, tenant_id: int, year: int, day: date) -> int:
    """Freeze every unit's progress (and rank among its siblings) under `day`.
    Taken again the same day, the later figures replace the earlier. Returns units."""
    units = await all_units(db, tenant_id)
    if not units:
        return 0
    counts = await all_counts(db, tenant_id, year)
    targets = await targets_for(db, tenant_id, year, units)
    families: dict[int | None, list[UnitProgress]] = {}
    for u in units:
        families.setdefault(u.parent_id, []).append(UnitProgress(u, targets[u.id], counts.get(u.id, Counts())))
    rows = [r for family in families.values() for r in ranked(family)]
    await db.execute(
        text(
            """
            INSERT INTO progress_snapshot AS s (tenant_id, year, day, unit_id, parent_id, target, unpaid, paid,
                                                subsidized, refunded, rank, siblings)
            SELECT :tenant, :year, :day, i.* FROM unnest(
                CAST(:units AS bigint[]), CAST(:parents AS bigint[]), CAST(:targets AS int[]), CAST(:unpaid AS int[]),
                CAST(:paid AS int[]), CAST(:subsidized AS int[]), CAST(:refunded AS int[]), CAST(:ranks AS int[]),
                CAST(:siblings AS int[])) AS i
            ON CONFLICT (tenant_id, year, day, unit_id) DO UPDATE SET
                parent_id = EXCLUDED.parent_id, target = EXCLUDED.target, unpaid = EXCLUDED.unpaid,
                paid = EXCLUDED.paid, subsidized = EXCLUDED.subsidized, refunded = EXCLUDED.refunded,
                rank = EXCLUDED.rank, siblings = EXCLUDED.siblings, taken_at = now()
            """
        ),
        {
            "tenant": tenant_id, "year": year, "day": day,
            "units": [r.unit.id for r in rows], "parents": [r.unit.parent_id for r in rows],
            "targets": [r.target for r in rows], "unpaid": [r.counts.unpaid for r in rows],
            "paid": [r.counts.paid for r in rows], "subsidized": [r.counts.subsidized for r in rows],
            "refunded": [r.counts.refunded for r in rows], "ranks": [r.rank for r in rows],
            "siblings": [r.siblings for r in rows],
        },
    )
    return len(rows)


_LATEST = text(
    """
    SELECT DISTINCT ON (s.unit_id) s.unit_id, s.day, s.target, s.unpaid, s.paid, s.subsidized, s.refunded
      FROM progress_snapshot s
     WHERE s.tenant_id = :tenant AND s.year = :year AND s.unit_id = ANY(CAST(:units AS bigint[])) AND s.day <= :day
     ORDER BY s.unit_id, s.day DESC
    """
)


async def snapshot_figures(db: Db, tenant_id: int, year: int, unit_ids: list[int], day: date) -> dict[int, tuple[date, int, Counts]]:
    """Each unit's latest snapshot on or before `day`: (its day, target, counts)."""
    rows = await db.execute(_LATEST, {"tenant": tenant_id, "year": year, "units": unit_ids, "day": day})
    return {r.unit_id: (r.day, r.target, Counts(r.unpaid, r.paid, r.subsidized, r.refunded)) for r in rows}


async def snapshot_children(db: Db, tenant_id: int, year: int, parent: UnitRow | None, day: date) -> list[UnitProgress]:
    """The ranking as it stood on `day` (一周一排名: the ranking of any past day).
    A unit with no snapshot by then counts as zero."""
    children = await child_units(db, tenant_id, parent.id if parent else None)
    found = await snapshot_figures(db, tenant_id, year, [u.id for u in children], day)
    rows = []
    for u in children:
        on, target, counts = found.get(u.id, (None, 0, Counts()))
        rows.append(UnitProgress(u, target, counts, measured_on=on))
    return ranked(rows)


async def has_snapshot(db: Db, tenant_id: int, year: int, day: date) -> bool:
    found = await db.scalar(
        text("SELECT 1 FROM progress_snapshot WHERE tenant_id = :tenant AND year = :year AND day <= :day LIMIT 1"),
        {"tenant": tenant_id, "year": year, "day": day},
    )
    return found is not None


async def unit_history(db: Db, tenant_id: int, year: int, unit_id: int | None, first: date, last: date) -> list[Point]:
    """A unit's daily snapshots; for None the whole county (its top-level units summed)."""
    params = {"tenant": tenant_id, "year": year, "first": first, "last": last, "unit": unit_id}
    if unit_id is None:
        sql = """SELECT day, sum(target) AS target, sum(unpaid) AS unpaid, sum(paid) AS paid,
                        sum(subsidized) AS subsidized, sum(refunded) AS refunded, NULL::int AS rank, NULL::int AS siblings
                   FROM progress_snapshot
                  WHERE tenant_id = :tenant AND year = :year AND parent_id IS NULL AND day BETWEEN :first AND :last
                  GROUP BY day ORDER BY day"""
    else:
        sql = """SELECT day, target, unpaid, paid, subsidized, refunded, rank, siblings
                   FROM progress_snapshot
                  WHERE tenant_id = :tenant AND year = :year AND unit_id = :unit AND day BETWEEN :first AND :last
                  ORDER BY day"""
    rows = await db.execute(text(sql), params)
    return [
        Point(r.day, int(r.target), Counts(int(r.unpaid), int(r.paid), int(r.subsidized), int(r.refunded)), r.rank, r.siblings)
        for r in rows
    ]


def weekly(points: list[Point]) -> list[Point]:
    """The last snapshot of each ISO week (一周一排名)."""
    last: dict[tuple[int, int], Point] = {}
    for point in points:
        iso = point.day.isocalendar()
        last[(iso[0], iso[1])] = point
    return sorted(last.values(), key=lambda p: p.day)


async def snapshot_years(db: Db, tenant_id: int, today: date) -> list[int]:
    """Years whose collection is under way today (window start to last payment day)."""
    rows = await db.execute(
        text(
            """SELECT year FROM year_policy
                WHERE tenant_id = :tenant AND window_start <= :today AND :today <= coalesce(extension_end, window_end)
                ORDER BY year"""
        ),
        {"tenant": tenant_id, "today": today},
    )
    return [r[0] for r in rows]


# ---------------------------------------------------------------------------
# The tallies against a recount from the person rows

_RECOUNT = """
    SELECT p.unit_id, p.unit_path,
           count(*) FILTER (WHERE e.status = 'UNPAID') AS unpaid, count(*) FILTER (WHERE e.status = 'PAID') AS paid,
           count(*) FILTER (WHERE e.status = 'SUBSIDIZED') AS subsidized,
           count(*) FILTER (WHERE e.status = 'REFUNDED') AS refunded
      FROM enrollment e JOIN person p ON p.tenant_id = e.tenant_id AND p.id = e.person_id
     WHERE e.tenant_id = :tenant AND e.year = :year
     GROUP BY p.unit_id, p.unit_path
"""

_DRIFT = text(
    f"""
    WITH recount AS ({_RECOUNT}),
    tally AS (SELECT unit_id, unit_path, unpaid, paid, subsidized, refunded FROM enrollment_tally
               WHERE tenant_id = :tenant AND year = :year)
    SELECT coalesce(r.unit_id, t.unit_id) AS unit_id, coalesce(r.unit_path, t.unit_path) AS unit_path,
           coalesce(t.unpaid, 0) AS t_unpaid, coalesce(t.paid, 0) AS t_paid,
           coalesce(t.subsidized, 0) AS t_subsidized, coalesce(t.refunded, 0) AS t_refunded,
           coalesce(r.unpaid, 0) AS r_unpaid, coalesce(r.paid, 0) AS r_paid,
           coalesce(r.subsidized, 0) AS r_subsidized, coalesce(r.refunded, 0) AS r_refunded
      FROM recount r FULL JOIN tally t ON t.unit_id = r.unit_id
     WHERE (coalesce(t.unpaid, 0), coalesce(t.paid, 0), coalesce(t.subsidized, 0), coalesce(t.refunded, 0))
           IS DISTINCT FROM (coalesce(r.unpaid, 0), coalesce(r.paid, 0), coalesce(r.subsidized, 0), coalesce(r.refunded, 0))
    """
)


@dataclass(frozen=True)
class Drift:
    unit_id: int
    unit_path: str
    tally: Counts
    recount: Counts


async def recount(db: Db, tenant_id: int, year: int) -> dict[int, Counts]:
    """Per leaf unit, counted from the enrolment rows themselves (slow; for checks)."""
    rows = await db.execute(text(_RECOUNT), {"tenant": tenant_id, "year": year})
    return {r.unit_id: Counts(r.unpaid, r.paid, r.subsidized, r.refunded) for r in rows}


async def tally_drift(db: Db, tenant_id: int, year: int) -> list[Drift]:
    rows = await db.execute(_DRIFT, {"tenant": tenant_id, "year": year})
    return [
        Drift(r.unit_id, r.unit_path, Counts(r.t_unpaid, r.t_paid, r.t_subsidized, r.t_refunded),
              Counts(r.r_unpaid, r.r_paid, r.r_subsidized, r.r_refunded))
        for r in rows
    ]


async def repair_tallies(db: Db, tenant_id: int, year: int) -> list[Drift]:
    """Set the drifted tallies to the recount. Holds off enrolment writers (SHARE lock
    on `enrollment`) until the transaction ends, so no delta slips in between."""
    await db.execute(text("LOCK TABLE enrollment IN SHARE MODE"))
    drift = await tally_drift(db, tenant_id, year)
    for d in drift:
        await db.execute(
            text(
                """
                INSERT INTO enrollment_tally (tenant_id, year, unit_id, unit_path, unpaid, paid, subsidized, refunded)
                VALUES (:tenant, :year, :unit, :path, :unpaid, :paid, :subsidized, :refunded)
                ON CONFLICT (tenant_id, year, unit_id) DO UPDATE SET unpaid = EXCLUDED.unpaid, paid = EXCLUDED.paid,
                    subsidized = EXCLUDED.subsidized, refunded = EXCLUDED.refunded
                """
            ),
            {"tenant": tenant_id, "year": year, "unit": d.unit_id, "path": d.unit_path, "unpaid": d.recount.unpaid,
             "paid": d.recount.paid, "subsidized": d.recount.subsidized, "refunded": d.recount.refunded},
        )
    return drift
