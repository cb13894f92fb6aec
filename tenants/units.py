"""Reading the unit tree inside a caller's jurisdiction.

A scoped caller sees its own subtree and the chain of ancestors above it (so a
collector can see which township its village belongs to), nothing beside it.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, literal, or_, select, text, tuple_

from tenants.kinds import UnitKind
from tenants.models import Unit
from tenants.pages import Page
from tenants.session import Db
from tenants.tree import starts_with


@dataclass(frozen=True)
class UnitRow:
    id: int
    parent_id: int | None
    code: str
    name: str
    kind: UnitKind
    path: str
    depth: int
    retired: bool = False  # merged or emptied (day two): kept for history, takes nothing new
    merged_into_id: int | None = None  # a merged unit: the unit it went into


_COLUMNS = (
    Unit.id, Unit.parent_id, Unit.code, Unit.name, Unit.kind, Unit.path, Unit.depth, Unit.retired, Unit.merged_into_id,
)


def _row(r) -> UnitRow:  # noqa: ANN001
    return UnitRow(r.id, r.parent_id, r.code, r.name, UnitKind(r.kind), r.path, r.depth, r.retired, r.merged_into_id)


def visible_to(scope_path: str):  # noqa: ANN201 (a SQL expression)
    """Inside the scope, or an ancestor of it."""
    if scope_path == "/":
        return literal(True)
    return or_(starts_with(Unit.path, scope_path), starts_with(literal(scope_path), Unit.path))


def is_visible(unit_path: str, scope_path: str) -> bool:
    return unit_path.startswith(scope_path) or scope_path.startswith(unit_path)


# Every nested `unit` field of a response comes through here (the units loader): a
# plain statement, so it runs straight on psycopg (tenants/session.py). `visible_to`'s
# condition, spelt out.
_BY_IDS = text(
    f"""SELECT {", ".join(c.name for c in _COLUMNS)} FROM unit
         WHERE tenant_id = :tenant AND id = ANY(:ids)
           AND (:scope = '/' OR path ^@ :scope OR :scope ^@ path)"""
)


async def units_by_ids(db: Db, tenant_id: int, scope_path: str, ids: list[int]) -> dict[int, UnitRow]:
    rows = await db.execute(_BY_IDS, {"tenant": tenant_id, "ids": list(ids), "scope": scope_path})
    return {r.id: _row(r) for r in rows}


async def unit_by_code(db: Db, tenant_id: int, code: str) -> UnitRow | None:
    row = (await db.execute(select(*_COLUMNS).where(Unit.tenant_id == tenant_id, Unit.code == code))).first()
    return _row(row) if row else None


async def list_children(
    db: Db, tenant_id: int, scope_path: str, parent_id: int | None, first: int, after: tuple[str, int] | None
) -> Page:
    """Children of a unit (or the top level), ordered by (code, id)."""
    conditions = [
        Unit.tenant_id == tenant_id,
        Unit.parent_id.is_(None) if parent_id is None else Unit.parent_id == parent_id,
        visible_to(scope_path),
    ]
    page = list(conditions)
    if after is not None:
        page.append(tuple_(Unit.code, Unit.id) > tuple_(after[0], after[1]))
    rows = (await db.execute(select(*_COLUMNS).where(and_(*page)).order_by(Unit.code, Unit.id).limit(first + 1))).all()
    total = await db.scalar(select(func.count()).select_from(Unit).where(and_(*conditions)))
    return Page([_row(r) for r in rows[:first]], len(rows) > first, total)


async def children_pages(
    db: Db, tenant_id: int, scope_path: str, parent_ids: list[int], first: int, after: tuple[str, int] | None
) -> dict[int, Page]:
    """`list_children` for many parents in one statement (a page of units each asking
    for its children): each parent's first rows after the cursor, and its count."""
    past = tuple_(Unit.code, Unit.id) > tuple_(after[0], after[1]) if after is not None else literal(True)
    ranked = (
        select(
            *_COLUMNS,
            past.label("past"),
            func.count().over(partition_by=Unit.parent_id).label("total"),
            func.count().filter(past).over(partition_by=Unit.parent_id, order_by=(Unit.code, Unit.id)).label("place"),
            func.row_number().over(partition_by=Unit.parent_id, order_by=(Unit.code, Unit.id)).label("nth"),
        )
        .where(Unit.tenant_id == tenant_id, Unit.parent_id.in_(parent_ids), visible_to(scope_path))
        .subquery()
    )
    rows = (
        await db.execute(
            select(ranked)
            # (each parent's first child too, which carries its count when the cursor is past them all)
            .where(or_(and_(ranked.c.past, ranked.c.place <= first + 1), ranked.c.nth == 1))
            .order_by(ranked.c.parent_id, ranked.c.code, ranked.c.id)
        )
    ).all()
    grouped: dict[int, list] = {pk: [] for pk in parent_ids}
    totals: dict[int, int] = {}
    for r in rows:
        totals[r.parent_id] = r.total
        if r.past and r.place <= first + 1:
            grouped[r.parent_id].append(r)
    return {
        pk: Page([_row(r) for r in found[:first]], len(found) > first, totals.get(pk, 0)) for pk, found in grouped.items()
    }
