"""Progress against quotas in the database: quotas, live figures, daily snapshots, the
year-end assessment, and the tallies' check.

- Quotas (征缴任务): each unit's enrolment target for a benefit year, set by the county
  (`setQuotas`, or a table file with `zhengjiao quotas apply`).
- Live figures never count persons: `enrollment_tally` holds, per leaf unit and year,
  how many persons are in each status, and moves in the same statement as every
  enrolment. A unit's subtree is the tally rows whose path starts with its path, so the
  children of any unit are summed from a few hundred rows in one indexed range.
- Snapshots freeze each unit's figures once a day, for trends, weekly rankings and a
  past day's ranking (a cache of the record: deadlines are counted from the record).
- The assessment (domain/progress/assessment.py) asks for enrolled counts as of some
  days: a day still to come (or today) is read live, a past day from the record
  (`enrolled_by_day`: payments, refunds, list versions, registrations and their
  moments; domain/progress/sql.py), never from a snapshot: the record is the truth and
  a snapshot a cache of it, so a missed night changes nothing. Every unit with a quota
  for the year is assessed.
- `tally_drift` / `repair_tallies` compare the tallies with a recount.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert

from domain.progress.assessment import AssessmentRules, Count, Result, assess_unit
from domain.progress.files import QUOTA_FILES, QuotaTable, read_quota_file
from domain.progress.rules import (
    Counts,
    Point,
    QuotaEntry,
    UnitProgress,
    called_in,
    check_entries,
    day_end,
    ranked,
    rolled_targets,
)
from domain.progress.sql import ENROLLED_AT_BY_UNIT
from domain.progress.tables import Quota
from tenants.kept import Kept
from tenants.kinds import UnitKind
from tenants.models import Unit
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.retired import retired_problems
from tenants.session import Db
from tenants.units import UnitRow


@dataclass(frozen=True)
class Measurement:
    on: date | None  # the day a rule asked for; None: the final figure
    count: Count


@dataclass(frozen=True)
class UnitAssessment:
    unit: QuotaRow
    result: Result
    measurements: tuple[Measurement, ...]


async def assess_year(
    db: Db, tenant_id: int, year: int, rules: AssessmentRules, today: date, scope_path: str = "/"
) -> list[UnitAssessment]:
    units = await quota_rows(db, tenant_id, year, scope_path)
    if not units:
        return []
    live = await all_counts(db, tenant_id, year)
    ids = [u.unit_id for u in units]
    past: dict[date, dict[int, int]] = {}
    for day in sorted(d for d in rules.dates() if d is not None and d < today):
        past[day] = await enrolled_by_day(db, tenant_id, year, ids, day, scope_path)

    def count_for(unit_id: int, day: date | None) -> Count:
        if day is None or day not in past:
            return Count(live.get(unit_id, Counts()).enrolled)
        return Count(past[day].get(unit_id, 0), day)

    assessed = []
    for unit in units:
        days = sorted(rules.dates() | {None}, key=lambda d: (d is None, d))
        measurements = tuple(Measurement(d, count_for(unit.unit_id, d)) for d in days)
        result = assess_unit(rules, unit.target, lambda day, uid=unit.unit_id: count_for(uid, day))
        assessed.append(UnitAssessment(unit, result, measurements))
    return assessed


async def enrolled_by_day(
    db: Db, tenant_id: int, year: int, unit_ids: list[int], day: date, scope_path: str = "/"
) -> dict[int, int]:
    """Enrolled persons of each unit's subtree at the end of `day` (Beijing time), from
    the record (`enrolled_at`); units with nobody enrolled are left out."""
    rows = await db.execute(
        text(ENROLLED_AT_BY_UNIT),
        {"tenant": tenant_id, "year": year, "until": day_end(day), "scope": scope_path, "units": unit_ids},
    )
    return {r.unit_id: int(r.enrolled) for r in rows}


_UNIT_COLUMNS = "u.id, u.parent_id, u.code, u.name, u.kind, u.path, u.depth, u.retired"


def _unit(r) -> UnitRow:  # noqa: ANN001
    return UnitRow(r.id, r.parent_id, r.code, r.name, UnitKind(r.kind), r.path, r.depth, r.retired)


async def child_units(db: Db, tenant_id: int, parent_id: int | None, *, retired: bool = False) -> list[UnitRow]:
    """The children of a unit (the top level for None). Retired units (merged or
    emptied, day two) only with `retired`: live progress ranks the units that collect."""
    condition = "u.parent_id IS NULL" if parent_id is None else "u.parent_id = :parent"
    if not retired:
        condition += " AND NOT u.retired"
    rows = await db.execute(
        text(f"SELECT {_UNIT_COLUMNS} FROM unit u WHERE u.tenant_id = :tenant AND {condition} ORDER BY u.code"),
        {"tenant": tenant_id, "parent": parent_id},
    )
    return [_unit(r) for r in rows]


_CHILD_COUNTS = """
    SELECT split_part(t.unit_path, '/', :segment)::bigint AS unit_id,
           sum(t.unpaid) AS unpaid, sum(t.paid) AS paid, sum(t.subsidized) AS subsidized, sum(t.refunded) AS refunded,
           sum(t.exempt) AS exempt, sum(t.excused) AS excused
      FROM enrollment_tally t
     WHERE t.tenant_id = :tenant AND t.year = :year {within_tally}
     GROUP BY 1
"""

# The quotas of each child's subtree (its own among them), as two arrays in path order.
_CHILD_QUOTAS = """
    SELECT nullif(split_part(qu.path, '/', :segment), '')::bigint AS unit_id,
           array_agg(qu.path ORDER BY qu.path) AS quota_paths, array_agg(q.target ORDER BY qu.path) AS quota_targets
      FROM quota q JOIN unit qu ON qu.tenant_id = q.tenant_id AND qu.id = q.unit_id
     WHERE q.tenant_id = :tenant AND q.year = :year {within_quota}
     GROUP BY 1
"""

# The county's tree version (0020b), read in the statement's own snapshot.
_TREE_VERSION = "(SELECT tree_version FROM tenant WHERE id = :tenant)"

_COUNTED_CHILDREN = """
    SELECT {units},
           coalesce(c.unpaid, 0) AS unpaid, coalesce(c.paid, 0) AS paid, coalesce(c.subsidized, 0) AS subsidized,
           coalesce(c.refunded, 0) AS refunded, coalesce(c.exempt, 0) AS exempt, coalesce(c.excused, 0) AS excused,
           q.quota_paths, q.quota_targets, {version} AS tree_version
      FROM unit u
      LEFT JOIN ({counts}) c ON c.unit_id = u.id
      LEFT JOIN ({quotas}) q ON q.unit_id = u.id
     WHERE u.tenant_id = :tenant AND {parent} AND NOT u.retired
     ORDER BY u.code
"""
# The counts alone, for children known with their targets: one row even without tallies.
_COUNTS_ONLY = """
    SELECT v.tree_version, c.unit_id, c.unpaid, c.paid, c.subsidized, c.refunded, c.exempt, c.excused
      FROM tenant v
      LEFT JOIN ({counts}) c ON true
     WHERE v.id = :tenant
"""
# The top level reads the whole county: no path to test on each tally row (a fifth of
# the statement's time).
_TOP = {"within_tally": "", "within_quota": ""}
_BELOW = {"within_tally": "AND t.unit_path ^@ :path", "within_quota": "AND qu.path ^@ :path"}
_COUNTED_TOP, _COUNTED_BELOW = (
    text(_COUNTED_CHILDREN.format(
        units=_UNIT_COLUMNS, parent=parent, version=_TREE_VERSION,
        counts=_CHILD_COUNTS.format(**within), quotas=_CHILD_QUOTAS.format(**within),
    ))
    for parent, within in (("u.parent_id IS NULL", _TOP), ("u.parent_id = :parent", _BELOW))
)
_COUNTS_TOP, _COUNTS_BELOW = (
    text(_COUNTS_ONLY.format(counts=_CHILD_COUNTS.format(**within))) for within in (_TOP, _BELOW)
)


@dataclass(frozen=True)
class KnownChildren:
    """A unit's children (not retired, by code) with their targets for a year, as they
    stood at the county's `tree_version`."""

    version: int
    units: tuple[tuple[UnitRow, int], ...]


class ChildrenCache(Kept[tuple[int, int, int | None], KnownChildren]):
    """`KnownChildren` kept in the process, per county, year and parent. An entry is
    used only when the version read with the tallies, in the same statement, is the
    one it was read at: a unit or quota changed since, by any process, is read again."""

    def __init__(self, size: int = 4096) -> None:
        super().__init__(size)


async def live_children(
    db: Db, tenant_id: int, year: int, parent: UnitRow | None, cache: ChildrenCache | None = None
) -> list[UnitProgress]:
    """Every child of `parent` (the top level for None), ranked, from the tallies: the
    children with their subtrees' counts and quotas in one statement, or, when `cache`
    knows the children at the county's current tree version, the counts alone. A tally
    path '/12/345/' splits into '', '12', '345', '': the child of a unit at depth d is
    segment d + 2."""
    key = (tenant_id, year, parent.id if parent else None)
    params = {"tenant": tenant_id, "year": year, "parent": parent.id if parent else None,
              "path": parent.path if parent else "/", "segment": (parent.depth if parent else 0) + 2}
    known = cache.get(key) if cache is not None else None
    if known is not None:
        rows = (await db.execute(_COUNTS_TOP if parent is None else _COUNTS_BELOW, params)).all()
        if rows and rows[0][0] == known.version:
            counts = {row[1]: Counts(*map(int, row[2:])) for row in rows if row[1] is not None}
            return ranked([UnitProgress(unit, target, counts.get(unit.id, Counts())) for unit, target in known.units])
    rows = (await db.execute(_COUNTED_TOP if parent is None else _COUNTED_BELOW, params)).all()
    # Unpacked by position (the columns above, in their order): reading 17 columns of
    # each row by name costs more than the rest of the conversion.
    children = [
        UnitProgress(
            UnitRow(uid, parent_id, code, name, UnitKind(kind), path, depth, retired),
            _child_target(path, quota_paths, quota_targets),
            Counts(int(unpaid), int(paid), int(subsidized), int(refunded), int(exempt), int(excused)),
        )
        for (uid, parent_id, code, name, kind, path, depth, retired, unpaid, paid, subsidized, refunded, exempt, excused,
             quota_paths, quota_targets, _) in rows
    ]
    if cache is not None and rows:
        cache.put(key, KnownChildren(rows[0][-1], tuple((c.unit, c.target) for c in children)))
    return ranked(children)


def _child_target(path: str, quota_paths: list[str] | None, quota_targets: list[int] | None) -> int:
    if quota_paths is None or quota_targets is None:
        return 0
    return rolled_targets(dict(zip(quota_paths, quota_targets, strict=True)), [path])[path]


async def targets_for(
    db: Db, tenant_id: int, year: int, units: Iterable[UnitRow], within: str = "/"
) -> dict[int, int]:
    """Each unit's target (`rolled_targets`), from the quotas inside `within`: a path
    every unit lies in."""
    quotas = {q.path: q.target for q in await quota_rows(db, tenant_id, year, within)}
    units = list(units)
    by_path = rolled_targets(quotas, [u.path for u in units])
    return {u.id: by_path[u.path] for u in units}




_ALL_COUNTS = text(
    """
    SELECT a.id::bigint AS unit_id,
           sum(t.unpaid) AS unpaid, sum(t.paid) AS paid, sum(t.subsidized) AS subsidized, sum(t.refunded) AS refunded,
           sum(t.exempt) AS exempt, sum(t.excused) AS excused
      FROM enrollment_tally t
      CROSS JOIN LATERAL unnest(string_to_array(btrim(t.unit_path, '/'), '/')) AS a(id)
     WHERE t.tenant_id = :tenant AND t.year = :year
     GROUP BY 1
    """
)


async def all_counts(db: Db, tenant_id: int, year: int) -> dict[int, Counts]:
    """Every unit's subtree at once: each tally row counts for each unit on its path."""
    rows = await db.execute(_ALL_COUNTS, {"tenant": tenant_id, "year": year})
    return {r.unit_id: Counts(int(r.unpaid), int(r.paid), int(r.subsidized), int(r.refunded), int(r.exempt), int(r.excused)) for r in rows}


async def all_units(db: Db, tenant_id: int) -> list[UnitRow]:
    """The units that collect: retired ones take no snapshot (their past ones stay)."""
    rows = await db.execute(
        text(f"SELECT {_UNIT_COLUMNS} FROM unit u WHERE u.tenant_id = :tenant AND NOT u.retired"), {"tenant": tenant_id}
    )
    return [_unit(r) for r in rows]


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
                                                subsidized, refunded, rank, siblings, exempt, excused)
            SELECT :tenant, :year, :day, i.* FROM unnest(
                CAST(:units AS bigint[]), CAST(:parents AS bigint[]), CAST(:targets AS int[]), CAST(:unpaid AS int[]),
                CAST(:paid AS int[]), CAST(:subsidized AS int[]), CAST(:refunded AS int[]), CAST(:ranks AS int[]),
                CAST(:siblings AS int[]), CAST(:exempt AS int[]), CAST(:excused AS int[])) AS i
            ON CONFLICT (tenant_id, year, day, unit_id) DO UPDATE SET
                parent_id = EXCLUDED.parent_id, target = EXCLUDED.target, unpaid = EXCLUDED.unpaid,
                paid = EXCLUDED.paid, subsidized = EXCLUDED.subsidized, refunded = EXCLUDED.refunded,
                exempt = EXCLUDED.exempt, excused = EXCLUDED.excused, rank = EXCLUDED.rank, siblings = EXCLUDED.siblings, taken_at = now()
            """
        ),
        {
            "tenant": tenant_id, "year": year, "day": day,
            "units": [r.unit.id for r in rows], "parents": [r.unit.parent_id for r in rows],
            "targets": [r.target for r in rows], "unpaid": [r.counts.unpaid for r in rows],
            "paid": [r.counts.paid for r in rows], "subsidized": [r.counts.subsidized for r in rows],
            "refunded": [r.counts.refunded for r in rows], "ranks": [r.rank for r in rows],
            "siblings": [r.siblings for r in rows], "exempt": [r.counts.exempt for r in rows],
            "excused": [r.counts.excused for r in rows],
        },
    )
    return len(rows)


_LATEST = text(
    """
    SELECT DISTINCT ON (s.unit_id) s.unit_id, s.day, s.target, s.unpaid, s.paid, s.subsidized, s.refunded, s.exempt, s.excused
      FROM progress_snapshot s
     WHERE s.tenant_id = :tenant AND s.year = :year AND s.unit_id = ANY(CAST(:units AS bigint[])) AND s.day <= :day
     ORDER BY s.unit_id, s.day DESC
    """
)


async def snapshot_figures(db: Db, tenant_id: int, year: int, unit_ids: list[int], day: date) -> dict[int, tuple[date, int, Counts]]:
    """Each unit's latest snapshot on or before `day`: (its day, target, counts)."""
    rows = await db.execute(_LATEST, {"tenant": tenant_id, "year": year, "units": unit_ids, "day": day})
    return {r.unit_id: (r.day, r.target, Counts(r.unpaid, r.paid, r.subsidized, r.refunded, r.exempt, r.excused)) for r in rows}


async def snapshot_children(db: Db, tenant_id: int, year: int, parent: UnitRow | None, day: date) -> list[UnitProgress]:
    """The ranking as it stood on `day` (一周一排名: the ranking of any past day).
    A unit with no snapshot by then counts as zero; a retired unit shows only where it
    had a snapshot by then (it was still collecting)."""
    children = await child_units(db, tenant_id, parent.id if parent else None, retired=True)
    found = await snapshot_figures(db, tenant_id, year, [u.id for u in children], day)
    rows = []
    for u in children:
        if u.retired and u.id not in found:
            continue
        on, target, counts = found.get(u.id, (None, 0, Counts()))
        rows.append(UnitProgress(u, target, counts, measured_on=on))
    return ranked(rows)


async def has_snapshot(db: Db, tenant_id: int, year: int, day: date) -> bool:
    found = await db.scalar(
        text("SELECT 1 FROM progress_snapshot WHERE tenant_id = :tenant AND year = :year AND day <= :day LIMIT 1"),
        {"tenant": tenant_id, "year": year, "day": day},
    )
    return found is not None


async def unit_history(
    db: Db, tenant_id: int, year: int, unit_id: int | None, first: date, last: date, call_in_bottom: int | None = None
) -> list[Point]:
    """A unit's daily snapshots; for None the whole county (its top-level units summed).
    Each day's point says whether the unit was called in among its siblings that day
    (`called_in`, the policy's `call_in_bottom`)."""
    params = {"tenant": tenant_id, "year": year, "first": first, "last": last, "unit": unit_id}
    if unit_id is None:
        sql = """SELECT day, sum(target) AS target, sum(unpaid) AS unpaid, sum(paid) AS paid,
                        sum(subsidized) AS subsidized, sum(refunded) AS refunded, sum(exempt) AS exempt,
                        sum(excused) AS excused,
                        NULL::int AS rank, NULL::int AS siblings
                   FROM progress_snapshot
                  WHERE tenant_id = :tenant AND year = :year AND parent_id IS NULL AND day BETWEEN :first AND :last
                  GROUP BY day ORDER BY day"""
    else:
        sql = """SELECT day, target, unpaid, paid, subsidized, refunded, exempt, excused, rank, siblings
                   FROM progress_snapshot
                  WHERE tenant_id = :tenant AND year = :year AND unit_id = :unit AND day BETWEEN :first AND :last
                  ORDER BY day"""
    rows = await db.execute(text(sql), params)
    flagged = await _called_in_days(db, tenant_id, year, unit_id, first, last, call_in_bottom) if unit_id else set()
    return [
        Point(
            r.day, int(r.target),
            Counts(int(r.unpaid), int(r.paid), int(r.subsidized), int(r.refunded), int(r.exempt), int(r.excused)),
            r.rank, r.siblings, called_in=r.day in flagged,
        )
        for r in rows
    ]


_SIBLING_DAYS = text(
    """
    SELECT s.day, s.unit_id, s.target, s.paid + s.subsidized AS enrolled
      FROM progress_snapshot me
      JOIN progress_snapshot s ON s.tenant_id = me.tenant_id AND s.year = me.year AND s.day = me.day
                              AND s.parent_id IS NOT DISTINCT FROM me.parent_id
     WHERE me.tenant_id = :tenant AND me.year = :year AND me.unit_id = :unit AND me.day BETWEEN :first AND :last
    """
)


async def _called_in_days(
    db: Db, tenant_id: int, year: int, unit_id: int, first: date, last: date, bottom: int | None
) -> set[date]:
    """The days the unit was called in, each judged among that day's siblings."""
    if not bottom:
        return set()
    days: dict[date, list[tuple[int, int, int]]] = {}
    rows = await db.execute(_SIBLING_DAYS, {"tenant": tenant_id, "year": year, "unit": unit_id, "first": first, "last": last})
    for r in rows:
        days.setdefault(r.day, []).append((r.unit_id, int(r.target), int(r.enrolled)))
    return {day for day, family in days.items() if unit_id in called_in(family, bottom)}


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


_RECOUNT = """
    SELECT p.unit_id, p.unit_path,
           count(*) FILTER (WHERE e.status = 'UNPAID') AS unpaid, count(*) FILTER (WHERE e.status = 'PAID') AS paid,
           count(*) FILTER (WHERE e.status = 'SUBSIDIZED') AS subsidized,
           count(*) FILTER (WHERE e.status = 'REFUNDED') AS refunded,
           count(*) FILTER (WHERE e.status = 'EXEMPT') AS exempt,
           count(*) FILTER (WHERE e.status = 'EXCUSED') AS excused
      FROM enrollment e JOIN person p ON p.tenant_id = e.tenant_id AND p.id = e.person_id
     WHERE e.tenant_id = :tenant AND e.year = :year
     GROUP BY p.unit_id, p.unit_path
"""


_DRIFT = text(
    f"""
    WITH recount AS ({_RECOUNT}),
    tally AS (SELECT unit_id, unit_path, unpaid, paid, subsidized, refunded, exempt, excused FROM enrollment_tally
               WHERE tenant_id = :tenant AND year = :year)
    SELECT coalesce(r.unit_id, t.unit_id) AS unit_id, coalesce(r.unit_path, t.unit_path) AS unit_path,
           coalesce(t.unpaid, 0) AS t_unpaid, coalesce(t.paid, 0) AS t_paid,
           coalesce(t.subsidized, 0) AS t_subsidized, coalesce(t.refunded, 0) AS t_refunded,
           coalesce(t.exempt, 0) AS t_exempt, coalesce(t.excused, 0) AS t_excused,
           coalesce(r.unpaid, 0) AS r_unpaid, coalesce(r.paid, 0) AS r_paid,
           coalesce(r.subsidized, 0) AS r_subsidized, coalesce(r.refunded, 0) AS r_refunded,
           coalesce(r.exempt, 0) AS r_exempt, coalesce(r.excused, 0) AS r_excused
      FROM recount r FULL JOIN tally t ON t.unit_id = r.unit_id
     WHERE (coalesce(t.unpaid, 0), coalesce(t.paid, 0), coalesce(t.subsidized, 0), coalesce(t.refunded, 0),
            coalesce(t.exempt, 0), coalesce(t.excused, 0))
           IS DISTINCT FROM (coalesce(r.unpaid, 0), coalesce(r.paid, 0), coalesce(r.subsidized, 0),
                             coalesce(r.refunded, 0), coalesce(r.exempt, 0), coalesce(r.excused, 0))
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
    return {r.unit_id: Counts(r.unpaid, r.paid, r.subsidized, r.refunded, r.exempt, r.excused) for r in rows}


async def tally_drift(db: Db, tenant_id: int, year: int) -> list[Drift]:
    rows = await db.execute(_DRIFT, {"tenant": tenant_id, "year": year})
    return [
        Drift(r.unit_id, r.unit_path, Counts(r.t_unpaid, r.t_paid, r.t_subsidized, r.t_refunded, r.t_exempt, r.t_excused),
              Counts(r.r_unpaid, r.r_paid, r.r_subsidized, r.r_refunded, r.r_exempt, r.r_excused))
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
                INSERT INTO enrollment_tally (tenant_id, year, unit_id, unit_path, unpaid, paid, subsidized, refunded,
                                              exempt, excused)
                VALUES (:tenant, :year, :unit, :path, :unpaid, :paid, :subsidized, :refunded, :exempt, :excused)
                ON CONFLICT (tenant_id, year, unit_id) DO UPDATE SET unpaid = EXCLUDED.unpaid, paid = EXCLUDED.paid,
                    subsidized = EXCLUDED.subsidized, refunded = EXCLUDED.refunded, exempt = EXCLUDED.exempt,
                    excused = EXCLUDED.excused
                """
            ),
            {"tenant": tenant_id, "year": year, "unit": d.unit_id, "path": d.unit_path, "unpaid": d.recount.unpaid,
             "paid": d.recount.paid, "subsidized": d.recount.subsidized, "refunded": d.recount.refunded,
             "exempt": d.recount.exempt, "excused": d.recount.excused},
        )
    return drift


@dataclass(frozen=True)
class QuotaRow:
    unit_id: int
    code: str
    name: str
    path: str
    target: int


@dataclass(frozen=True)
class QuotaChange:
    before: dict[str, int]  # unit code → target, for units that had one
    after: dict[str, int]
    removed: dict[str, int]


async def _existing_units(db: Db, tenant_id: int, ids: list[int]) -> dict[int, str]:
    rows = await db.execute(select(Unit.id, Unit.code).where(Unit.tenant_id == tenant_id, Unit.id.in_(ids)))
    return {r.id: r.code for r in rows}


async def set_quotas(db: Db, tenant_id: int, year: int, entries: list[QuotaEntry], actor: str, replace: bool = False) -> QuotaChange:
    """Upsert the quotas given; with `replace`, drop the year's other quotas. Raises
    Rejected naming every bad entry, and then writes nothing."""
    problems = check_entries(year, entries, replace)
    ids = [e.unit_id for e in entries if e.unit_id is not None]
    codes = await _existing_units(db, tenant_id, ids) if ids else {}
    for index, entry in enumerate(entries):
        if entry.unit_id is not None and entry.unit_id not in codes:
            problems.append(
                Problem(ErrorCode.NOT_FOUND, ["quotas", str(index), "unit"], {"index": index + 1}, "QUOTA_UNIT")
            )
    fields = {e.unit_id: ["quotas", str(i), "unit"] for i, e in enumerate(entries) if e.unit_id in codes}
    problems += await retired_problems(db, tenant_id, fields)
    if problems:
        raise Rejected(problems)
    current = {r.unit_id: r for r in await quota_rows(db, tenant_id, year)}
    removed = {r.code: r.target for uid, r in current.items() if replace and uid not in codes}
    if removed:
        await db.execute(
            delete(Quota).where(Quota.tenant_id == tenant_id, Quota.year == year, Quota.unit_id.not_in(list(codes)))
        )
    if entries:
        statement = insert(Quota).values(
            [{"tenant_id": tenant_id, "year": year, "unit_id": e.unit_id, "target": e.target, "updated_by": actor} for e in entries]
        )
        await db.execute(
            statement.on_conflict_do_update(
                index_elements=["tenant_id", "year", "unit_id"],
                set_={"target": statement.excluded.target, "updated_by": actor, "updated_at": text("now()")},
            )
        )
    before = {codes[e.unit_id]: current[e.unit_id].target for e in entries if e.unit_id in current}
    after = {codes[e.unit_id]: e.target for e in entries}
    return QuotaChange(before=before, after=after, removed=removed)


async def quota_rows(db: Db, tenant_id: int, year: int, scope_path: str = "/") -> list[QuotaRow]:
    """The year's quotas inside a scope (a few hundred at most), ordered by unit code."""
    rows = await db.execute(
        text(
            """
            SELECT q.unit_id, u.code, u.name, u.path, q.target
              FROM quota q JOIN unit u ON u.tenant_id = q.tenant_id AND u.id = q.unit_id
             WHERE q.tenant_id = :tenant AND q.year = :year AND u.path ^@ :scope
             ORDER BY u.code
            """
        ),
        {"tenant": tenant_id, "year": year, "scope": scope_path},
    )
    return [QuotaRow(r.unit_id, r.code, r.name, r.path, r.target) for r in rows]


async def apply_quota_table(db: Db, tenant_id: int, table: QuotaTable, actor: str, year: int | None = None) -> QuotaChange:
    """The whole table replaces the year's quotas; unknown unit codes are refused by name."""
    rows = await db.execute(
        select(Unit.code, Unit.id).where(Unit.tenant_id == tenant_id, Unit.code.in_([e.code for e in table.entries]))
    )
    ids = {r.code: r.id for r in rows}
    missing = [
        _unknown_unit(i, e.code, e.name)
        for i, e in enumerate(table.entries)
        if e.code not in ids
    ]
    if missing:
        raise Rejected(missing)
    entries = [QuotaEntry(ids[e.code], e.target) for e in table.entries]
    return await set_quotas(db, tenant_id, year or table.year, entries, actor, replace=True)


def _unknown_unit(index: int, code: str, name: str | None) -> Problem:
    field = ["quotas", str(index), "unit"]
    if name:
        return Problem(ErrorCode.NOT_FOUND, field, {"code": code, "name": name}, "UNIT_CODE_NAMED")
    return Problem(ErrorCode.NOT_FOUND, field, {"code": code}, "UNIT_CODE")


DEMO_QUOTA_FILE = "neixiang-2023.json"


# The demo's running campaign (2027) has no published table: it reuses 2023's.
DEMO_QUOTA_YEARS = (2023, 2027)


async def load_demo_quotas(db: Db, tenant_id: int) -> None:
    """内乡县's 2023 quota table (seeds/003) for the demo county, for 2023 and for the
    running 2027 campaign. Called by `zhengjiao demo` inside its owner transaction."""
    table = read_quota_file(QUOTA_FILES / DEMO_QUOTA_FILE)
    for year in DEMO_QUOTA_YEARS:
        await apply_quota_table(db, tenant_id, table, "demo", year=year)
