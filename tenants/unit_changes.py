"""Day two of the tree in the database: rename/re-code, merge, retire (tenants/unit_rules.py
says what is allowed).

A merge moves, in the caller's one transaction: the source's persons (and, for a
township, its whole subtree: child units, their persons), the payments of those persons
(`unit_id`/`unit_path` are the scope copy of the person's unit, so the receiving
collector and township see them and the remittance books stay theirs), the
remittances, the enrolment tallies (summed into the target's), the persons counters,
the quotas of open years (summed), and the users scoped to the source. The source is
retired, never deleted: old payments, refunds and snapshots still name it.

Locks, always in this order, so a merge and a payment never wait on each other crosswise:

1. the unit rows (source subtree and target) FOR UPDATE, by id. A registration takes
   its unit FOR KEY SHARE first (`lock_for_registration`), so it either lands before the
   merge (and moves with it) or, after it, finds the unit retired;
2. the persons, by the UPDATE that moves them. `record_payment` reads its person FOR
   SHARE before it locks the enrolment: a payment under way finishes first (its row is
   then moved by the later statements, which see it); a later one waits and reads the
   moved person;
3. the payments and remittances, by the UPDATEs that move them: a refund or a
   declaration holding one of those rows finishes first (it takes the enrolment and
   tally locks only after its row lock, and the merge holds none of those yet);
4. `enrollment` IN SHARE MODE (as `repair_tallies`): enrolment writers in flight finish
   first, later ones wait for the commit, so no status change lands on a moved tally;
5. tallies, users, quotas, the unit rows' new paths.

A deadlock or serialization failure despite this (a request doing several mutations
holding other locks) rolls the attempt back and tries again; `UNIT_BUSY` if it keeps
happening. Nothing is written then.

Before all of these, a merge or a retirement holds the county's tree lock (`hold_tree`);
a payment file holds it shared (`share_tree`) from before it reads its persons until it
commits. A file carries each person's unit from its first statements to its last (the
payments' scope copy), so a merge committed in between would leave its payments on the
old village: the two now take turns (a merge waits for the files under way, a file for
the merge). A subsidy list needs no such turn: its recompute reads the persons' units
afresh (tests/test_units_day_two.py holds a list between its two halves while a merge
runs, and the tallies still equal a recount).
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from domain.progress.rules import rolled_targets
from tenants.kinds import UnitKind
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.session import Db
from tenants.unit_rules import QuotaMove, UnitState, check_merge, check_retire, check_update, merged_quota

T = TypeVar("T")

_TREE_LOCK = 20180  # pg_advisory_xact_lock(class, key): one county's unit tree
_TREE_KEY = "CAST(:tenant % 2147483647 AS int)"


async def hold_tree(db: Db, tenant_id: int) -> None:
    """The county's tree for a merge or retirement: waits for the files under way."""
    await db.execute(text(f"SELECT pg_advisory_xact_lock({_TREE_LOCK}, {_TREE_KEY})"), {"tenant": tenant_id})


async def share_tree(db: Db, tenant_id: int) -> None:
    """The county's tree, shared, for a file that carries its persons' units across
    statements (see the module docstring): waits for a merge under way."""
    await db.execute(text(f"SELECT pg_advisory_xact_lock_shared({_TREE_LOCK}, {_TREE_KEY})"), {"tenant": tenant_id})

_UNIT = "id, parent_id, code, name, kind, path, depth, retired, persons"
_RETRYABLE = {"40P01", "40001"}  # deadlock detected, serialization failure
ATTEMPTS = 3


def _state(r) -> UnitState:  # noqa: ANN001
    return UnitState(r.id, r.parent_id, r.code, r.name, UnitKind(r.kind), r.path, r.depth, r.retired, r.persons)


async def lock_units(db: Db, tenant_id: int, ids: list[int]) -> dict[int, UnitState]:
    """The units, FOR UPDATE in id order (two merges never lock crosswise)."""
    rows = await db.execute(
        text(f"""SELECT {_UNIT} FROM unit WHERE tenant_id = :t AND id = ANY(CAST(:ids AS bigint[]))
                 ORDER BY id FOR UPDATE"""),
        {"t": tenant_id, "ids": ids},
    )
    return {r.id: _state(r) for r in rows}


async def _lock_subtree(db: Db, tenant_id: int, root: UnitState, other: int) -> dict[int, UnitState]:
    """The root's subtree and one more unit, FOR UPDATE in id order."""
    rows = await db.execute(
        text(f"""SELECT {_UNIT} FROM unit WHERE tenant_id = :t AND (path ^@ :path OR id = :other)
                 ORDER BY id FOR UPDATE"""),
        {"t": tenant_id, "path": root.path, "other": other},
    )
    return {r.id: _state(r) for r in rows}


async def with_retries(db: Db, body: Callable[[], Awaitable[T]]) -> T:
    """`body` in a savepoint of its own; a deadlock or serialization failure is rolled
    back (its locks with it) and tried again, UNIT_BUSY after ATTEMPTS."""
    for attempt in range(ATTEMPTS):
        try:
            async with db.savepoint():
                return await body()
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) not in _RETRYABLE:
                raise
            await asyncio.sleep(0.05 * (attempt + 1))
    raise Rejected([Problem(ErrorCode.UNIT_BUSY, ["unit"])])


# --- rename / re-code -------------------------------------------------------------------


@dataclass(frozen=True)
class Changed:
    before: UnitState
    after: UnitState


async def update_unit(db: Db, tenant_id: int, unit_id: int, name: str | None, code: str | None) -> Changed:
    """A new name and/or division code. Paths are ids, so nothing below moves."""
    unit = (await lock_units(db, tenant_id, [unit_id]))[unit_id]
    new_code = code.strip() if code is not None else None
    taken = False
    if new_code is not None and new_code != unit.code:
        taken = bool(await db.scalar(
            text("SELECT 1 FROM unit WHERE tenant_id = :t AND code = :c AND id <> :id"),
            {"t": tenant_id, "c": new_code, "id": unit_id},
        ))
    problems = check_update(unit, name, code, taken)
    if problems:
        raise Rejected(problems)
    row = (
        await db.execute(
            text(f"""UPDATE unit SET name = coalesce(:name, name), code = coalesce(:code, code)
                      WHERE tenant_id = :t AND id = :id RETURNING {_UNIT}"""),
            {"t": tenant_id, "id": unit_id, "name": name.strip() if name is not None else None, "code": new_code},
        )
    ).one()
    return Changed(unit, _state(row))


# --- merge ------------------------------------------------------------------------------


@dataclass
class MergeReport:
    source: UnitState
    target: UnitState
    persons: int = 0
    payments: int = 0
    remittances: int = 0
    users: list[int] = field(default_factory=list)
    children: list[str] = field(default_factory=list)  # codes of the units moved under the target
    quotas: list[QuotaMove] = field(default_factory=list)

    def audit_after(self) -> dict:
        return {
            "into": self.target.code, "retired": self.source.code, "persons": self.persons, "payments": self.payments,
            "remittances": self.remittances, "users": self.users, "children": self.children,
            "quotas": {
                str(q.year): {"from": q.source_before, "into": {"before": q.target_before, "after": q.after}}
                for q in self.quotas
            },
        }


async def merge_units(db: Db, tenant_id: int, source_id: int, target_id: int, today: date) -> MergeReport:
    """Merge `source` into `target` (see the module docstring). Raises Rejected."""
    await hold_tree(db, tenant_id)
    seen = await db.execute(
        text(f"SELECT {_UNIT} FROM unit WHERE tenant_id = :t AND id = ANY(CAST(:ids AS bigint[]))"),
        {"t": tenant_id, "ids": [source_id, target_id]},
    )
    first = {r.id: _state(r) for r in seen}
    problems = check_merge(first[source_id], first[target_id])
    if problems:
        raise Rejected(problems)
    # One locking statement for the subtree and the target, in id order; checked again
    # under the locks (another merge may have moved or retired one meanwhile).
    locked = await _lock_subtree(db, tenant_id, first[source_id], target_id)
    if source_id not in locked or locked[source_id].path != first[source_id].path:
        raise Rejected([Problem(ErrorCode.UNIT_BUSY, ["from"])])
    source, target = locked[source_id], locked[target_id]
    problems = check_merge(source, target)
    if problems:
        raise Rejected(problems)
    report = MergeReport(source, target)
    report.children = sorted(u.code for u in locked.values() if u.parent_id == source_id)
    moved = {"t": tenant_id, "from": source_id, "into": target_id, "from_path": source.path, "into_path": target.path}
    report.persons = await _move_persons(db, moved)
    # Payments and remittances before the table lock: a refund or a declaration holding
    # one of their rows finishes first (it takes `enrollment` after its row lock).
    report.payments = await _count(db, """UPDATE payment
           SET unit_id = CASE WHEN unit_id = :from THEN :into ELSE unit_id END,
               unit_path = :into_path || substr(unit_path, length(:from_path) + 1)
         WHERE tenant_id = :t AND unit_path ^@ :from_path RETURNING 1""", moved)
    report.remittances = await _count(db, """UPDATE remittance
           SET unit_path = :into_path || substr(unit_path, length(:from_path) + 1)
         WHERE tenant_id = :t AND unit_path ^@ :from_path RETURNING 1""", moved)
    await db.execute(text("LOCK TABLE enrollment IN SHARE MODE"))
    await _move_tallies(db, moved)
    report.users = list((await db.execute(
        text("""UPDATE app_user SET scope_unit_id = :into WHERE tenant_id = :t AND scope_unit_id = :from
                RETURNING id"""), moved,
    )).scalars())
    report.quotas = await _move_quotas(db, tenant_id, source, target, today)
    await _move_units(db, moved, target.depth - source.depth, source.persons)
    return report


async def _count(db: Db, sql: str, params: dict) -> int:
    return len((await db.execute(text(sql), params)).all())


async def _move_persons(db: Db, moved: dict) -> int:
    return await _count(db, """UPDATE person
           SET unit_id = CASE WHEN unit_id = :from THEN :into ELSE unit_id END,
               unit_path = :into_path || substr(unit_path, length(:from_path) + 1)
         WHERE tenant_id = :t AND unit_path ^@ :from_path RETURNING 1""", moved)


_STATUSES = ("unpaid", "paid", "subsidized", "refunded", "exempt")


async def _move_tallies(db: Db, moved: dict) -> None:
    """The source's own tallies are added to the target's (every year: they count the
    persons, who all moved) and left at zero (the serving role deletes no tally); the
    tallies below a township only change path."""
    columns = ", ".join(_STATUSES)
    own = (await db.execute(
        text(f"""SELECT year, {columns} FROM enrollment_tally WHERE tenant_id = :t AND unit_id = :from
                 ORDER BY year FOR UPDATE"""), moved,
    )).all()
    for row in own:
        counts = {s: getattr(row, s) for s in _STATUSES}
        if not any(counts.values()):
            continue
        await db.execute(
            text(f"""INSERT INTO enrollment_tally AS t (tenant_id, year, unit_id, unit_path, {columns})
                     VALUES (:t, :year, :into, :into_path, {", ".join(":" + s for s in _STATUSES)})
                     ON CONFLICT (tenant_id, year, unit_id) DO UPDATE SET
                     {", ".join(f"{s} = t.{s} + EXCLUDED.{s}" for s in _STATUSES)}"""),
            {**moved, "year": row.year, **counts},
        )
    await db.execute(
        text(f"""UPDATE enrollment_tally SET {", ".join(f"{s} = 0" for s in _STATUSES)}
                  WHERE tenant_id = :t AND unit_id = :from"""), moved,
    )
    await db.execute(
        text("""UPDATE enrollment_tally SET unit_path = :into_path || substr(unit_path, length(:from_path) + 1)
                 WHERE tenant_id = :t AND unit_path ^@ :from_path AND unit_id <> :from"""), moved,
    )


async def _move_units(db: Db, moved: dict, depth_change: int, persons: int) -> None:
    """Children under the target (their subtrees' paths and depths follow); the
    persons counters; the source retired, naming where it went."""
    await db.execute(
        text("""UPDATE unit SET parent_id = CASE WHEN parent_id = :from THEN :into ELSE parent_id END,
                       path = :into_path || substr(path, length(:from_path) + 1), depth = depth + :dd
                 WHERE tenant_id = :t AND path ^@ :from_path AND id <> :from"""),
        {**moved, "dd": depth_change},
    )
    await db.execute(
        text("UPDATE unit SET persons = persons + :n WHERE tenant_id = :t AND id = :into"), {**moved, "n": persons}
    )
    await db.execute(
        text("""UPDATE unit SET persons = 0, retired = true, retired_at = now(), merged_into_id = :into
                 WHERE tenant_id = :t AND id = :from"""), moved,
    )


_OPEN_YEARS = text(
    """
    SELECT DISTINCT q.year FROM quota q
      LEFT JOIN year_policy y ON y.tenant_id = q.tenant_id AND y.year = q.year
     WHERE q.tenant_id = :t AND q.unit_id = ANY(CAST(:units AS bigint[]))
       AND CASE WHEN y.year IS NULL THEN q.year >= :this_year
                ELSE coalesce(y.extension_end, y.window_end) >= :today END
     ORDER BY 1
    """
)


async def open_quota_years(db: Db, tenant_id: int, unit_ids: list[int], today: date) -> list[int]:
    """Years with a quota on one of the units whose collection is not over: the policy's
    last payment day (extension, else window end) is today or later; a year without a
    policy yet is open from its benefit year on (this year or later)."""
    rows = await db.execute(
        _OPEN_YEARS, {"t": tenant_id, "units": unit_ids, "this_year": today.year, "today": today}
    )
    return [r[0] for r in rows]


async def _move_quotas(db: Db, tenant_id: int, source: UnitState, target: UnitState, today: date) -> list[QuotaMove]:
    """Open years: the source's target is summed into the target's (merged_quota).
    Closed years keep their quotas: that year was assessed as it stood."""
    below = await db.execute(
        text("SELECT id FROM unit WHERE tenant_id = :t AND (path ^@ :path OR id = :into)"),
        {"t": tenant_id, "path": source.path, "into": target.id},
    )
    moves = []
    for year in await open_quota_years(db, tenant_id, list(below.scalars()), today):
        rows = await db.execute(
            text("""SELECT u.path, q.target FROM quota q JOIN unit u ON u.tenant_id = q.tenant_id AND u.id = q.unit_id
                     WHERE q.tenant_id = :t AND q.year = :y ORDER BY q.unit_id FOR UPDATE OF q"""),
            {"t": tenant_id, "y": year},
        )
        quotas = {r.path: r.target for r in rows}
        rolled = rolled_targets(quotas, [source.path, target.path])
        move = merged_quota(year, quotas, rolled[source.path], rolled[target.path], source.path, target.path)
        if move.after is None:
            continue
        params = {"t": tenant_id, "y": year, "from": source.id, "into": target.id, "target": move.after}
        await db.execute(text("DELETE FROM quota WHERE tenant_id = :t AND year = :y AND unit_id = :from"), params)
        await db.execute(
            text("""INSERT INTO quota (tenant_id, year, unit_id, target, updated_by)
                    VALUES (:t, :y, :into, :target, 'mergeUnits')
                    ON CONFLICT (tenant_id, year, unit_id) DO UPDATE SET target = EXCLUDED.target,
                        updated_by = EXCLUDED.updated_by, updated_at = now()"""),
            params,
        )
        moves.append(move)
    return moves


# --- retire -----------------------------------------------------------------------------


async def retire_unit(db: Db, tenant_id: int, unit_id: int, today: date) -> Changed:
    """An empty unit out of service (no persons, no children in service, no quota of
    an open year). Users still scoped to it keep their account and see nothing new."""
    await hold_tree(db, tenant_id)
    unit = (await lock_units(db, tenant_id, [unit_id]))[unit_id]
    persons = await db.scalar(
        text("SELECT count(*) FROM person WHERE tenant_id = :t AND unit_path ^@ :path"),
        {"t": tenant_id, "path": unit.path},
    )
    children = await db.scalar(
        text("SELECT count(*) FROM unit WHERE tenant_id = :t AND parent_id = :id AND NOT retired"),
        {"t": tenant_id, "id": unit_id},
    )
    problems = check_retire(unit, persons, children, await open_quota_years(db, tenant_id, [unit_id], today))
    if problems:
        raise Rejected(problems)
    row = (
        await db.execute(
            text(f"""UPDATE unit SET retired = true, retired_at = now() WHERE tenant_id = :t AND id = :id
                      RETURNING {_UNIT}"""),
            {"t": tenant_id, "id": unit_id},
        )
    ).one()
    return Changed(unit, _state(row))
